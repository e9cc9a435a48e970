// Console sessions: an administrator sees who is signed in and ends someone's session, which
// signs that person out at their next click.
import {
  assert, BASE_URL, e2eTest, IDP_URL, signIn, USERS, waitForHydration,
} from './helpers.mjs';

/** A support agent of this test only (the dev provider's test hook), so ending their session
 * never disturbs another test. */
async function newSupportAgent() {
  const email = `agent-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
  const res = await fetch(`${IDP_URL}/__test/account`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, groups: ['helpdesk'], name: 'Temporary Agent' }),
  });
  assert.ok(res.ok, `the dev provider must run with IDP_TEST_HOOKS=1 (answered ${res.status})`);
  return email;
}

e2eTest('an admin ends a console session and that person is signed out at the next click', async ({ page, context }) => {
  const agent = await newSupportAgent();
  const other = await context.browser().newContext();
  try {
    const agentPage = await other.newPage();
    const landed = await signIn(agentPage, agent);
    assert.equal(landed.status(), 200);

    await signIn(page, USERS.admin.email, '/sessions');
    await waitForHydration(page);
    const row = page.locator(`table#sessions-table tr[data-email="${agent}"]`);
    await row.waitFor();
    assert.equal(await row.count(), 1, 'one session of the agent is listed');
    assert.match(await row.textContent(), /support/);
    const own = page.locator(`table#sessions-table tr[data-email="${USERS.admin.email}"]`, { hasText: 'you' });
    assert.ok(await own.count() >= 1, 'the admin sees their own session marked "you"');

    const end = row.locator('button[type="submit"]');
    await end.click();
    assert.equal(await end.textContent(), 'Confirm: end this session', 'a first click only arms the button');
    await end.click();
    await row.waitFor({ state: 'detached' });

    // The agent's browser still holds its cookie, which now leads to the sign-in. (Following the
    // redirect would sign the agent in again silently, through the provider's own session.)
    const next = await other.request.get(`${BASE_URL}/users`, { maxRedirects: 0 });
    assert.equal(next.status(), 303);
    assert.match(next.headers().location, /^\/login/);
  } finally {
    await other.close();
  }
});
