// Instances and background work (issue 17): an administrator sees which instance answered and
// which one holds each background task; the page hydrates and refreshes without errors.
import {
  assert, e2eTest, expectText, realProblems, signIn, textOf, USERS, waitForHydration,
} from './helpers.mjs';

e2eTest('an admin sees the instance and who holds each background task', async ({ page, problems }) => {
  const response = await signIn(page, USERS.admin.email, '/system');
  assert.equal(response.status(), 200);
  await waitForHydration(page);
  await expectText(page, 'main h1', 'Instances and background work');
  assert.ok((await textOf(page, '#answered-by')).length > 0, 'the answering instance is named');
  // The user purge runs at start on the only instance, which holds it.
  const purge = page.locator('#tasks-table tr[data-task="user_purge"]');
  await purge.waitFor();
  assert.equal(await purge.getAttribute('data-held'), 'true');
  assert.ok((await purge.textContent()).includes(await textOf(page, '#answered-by')), 'held by the instance that answered');
  await page.click('#refresh-system');
  await purge.waitFor();
  assert.deepEqual(realProblems(problems), []);
});
