// Instances and background work (issue 17): an administrator sees which instance answered and
// which one holds each background task; the page hydrates and refreshes without errors.
import {
  assert, e2eTest, expectText, realProblems, signIn, textOf, USERS, waitForHydration,
} from './helpers.mjs';

e2eTest('an admin sees the instance and who holds each background task', async ({ page, problems }) => {
  const response = await signIn(page, USERS.admin.email, '/system');
  assert.equal(response.status(), 200);
  await waitForHydration(page);
  await expectText(page, 'main h1', 'System');
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

e2eTest('an auditor reads the version and the effective configuration, secrets redacted', async ({ page, problems }) => {
  const response = await signIn(page, USERS.auditor.email, '/system');
  assert.equal(response.status(), 200);
  await waitForHydration(page);
  await expectText(page, 'main h1', 'System');
  assert.match(await textOf(page, '#system-version'), /^\d+\.\d+\.\d+/);
  assert.ok((await textOf(page, '#system-commit')).length > 0, 'the commit is named');
  const secret = page.locator('#settings-table tr[data-setting="GATEHOUSE_OIDC_CLIENT_SECRET"] td');
  assert.equal((await secret.textContent()).trim(), '(set, redacted)');
  const issuer = page.locator('#settings-table tr[data-setting="GATEHOUSE_OIDC_ISSUER"] td');
  assert.match((await issuer.textContent()).trim(), /^http/);
  assert.match(await textOf(page, '#system-checks li[data-check="database"]'), /^OK/);
  assert.deepEqual(realProblems(problems), []);
});
