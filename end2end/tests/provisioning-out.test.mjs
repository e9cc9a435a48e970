// Provisioning out over SCIM, end to end: an administrator gives an application a SCIM target
// (the real scim2-server the test script starts), assigns a person and sees the account appear
// in the target (read here from the SCIM server itself); suspending the person deactivates it
// there, and the application page shows the state. Then the account is switched on behind
// Gatehouse's back, and reconciliation on the application page finds and fixes it.
import {
  assert, BASE_URL, e2eTest, eventually, expectText, expectTextContains, realProblems, signIn, USERS, waitForHydration,
} from './helpers.mjs';

const SCIM_URL = (process.env.E2E_SCIM_URL || 'http://127.0.0.1:4180').replace(/\/+$/, '');
const SCIM_TOKEN = 'gatehouse-test-scim';
const RUN = [...Date.now().toString(36)].reverse().join('');

async function remoteAccount(base, guid) {
  const filter = encodeURIComponent(`externalId eq "${guid}"`);
  const res = await fetch(`${base}/Users?filter=${filter}`, { headers: { Authorization: `Bearer ${SCIM_TOKEN}` } });
  assert.equal(res.status, 200);
  const body = await res.json();
  return (body.Resources || [])[0] || null;
}

async function open(page, path) {
  const response = await page.goto(`${BASE_URL}${path}`);
  assert.equal(response.status(), 200, `GET ${path}`);
  await waitForHydration(page);
}

e2eTest('an admin sets up SCIM provisioning; an assigned person gets an account that is deactivated on suspension', async ({ page, problems }) => {
  const email = `ada.${RUN}@example.com`;
  await signIn(page, USERS.admin.email, '/users/new');
  await waitForHydration(page);
  await page.fill('#field-email', email);
  await page.fill('#field-display_name', `Ada ${RUN}`);
  await page.fill('#field-source', 'hr-emea');
  await page.click('#create-user');
  await page.waitForURL((u) => /^\/users\/u_[0-9a-f]+$/.test(u.pathname));
  const userPath = new URL(page.url()).pathname;
  const guid = (await page.locator('#guid-link').textContent()).trim();

  await open(page, '/apps/new');
  await page.fill('#field-name', `Wiki ${RUN}`);
  await page.fill('#field-owner', email);
  await page.selectOption('#field-kind', 'web');
  await page.fill('#field-redirect_uris', 'https://wiki.example.com/callback');
  await page.fill('#field-scopes', 'wiki:read');
  await page.click('#create-app');
  await page.click('#app-link');
  await page.waitForURL((u) => /^\/apps\/app_[0-9a-f]+$/.test(u.pathname));
  const appPath = new URL(page.url()).pathname;
  await waitForHydration(page);

  await expectTextContains(page, '#provisioning-empty', 'does not provision');
  const base = `${SCIM_URL}/wiki${RUN}`;
  await page.fill('#target-url', base);
  await page.fill('#target-token', SCIM_TOKEN);
  await page.click('#provisioning-save');
  await expectText(page, '#provisioning-url', base);
  assert.ok(!(await page.content()).includes(SCIM_TOKEN), 'the token is never shown again');

  await page.fill('#assign-person', email);
  await page.click('#assign');
  const made = await eventually(async () => {
    const account = await remoteAccount(base, guid);
    assert.equal(account?.active, true, 'the account is made, active');
    return account;
  });
  assert.equal(made.userName, email);
  assert.equal(made.displayName, `Ada ${RUN}`);
  await open(page, appPath);
  await expectText(page, '#provisioning-accounts', '1 (1 active)');
  assert.notEqual((await page.locator('#provisioning-last-success').textContent()).trim(), 'Never');

  await open(page, userPath);
  await page.click('#status-suspended');
  await expectTextContains(page, '#user-name + [data-status]', 'Suspended');
  await eventually(async () => assert.equal((await remoteAccount(base, guid))?.active, false, 'deactivated there'));
  await open(page, appPath);
  await eventually(async () => {
    await page.reload();
    await waitForHydration(page);
    assert.equal((await page.locator('#provisioning-accounts').textContent()).trim(), '1 (0 active)');
  });
  await expectText(page, '#provisioning-pending', '0');
  await expectText(page, '#provisioning-dead', '0');

  await open(page, `/guids/${guid}`);
  await expectTextContains(page, '#person-accounts', `Wiki ${RUN}`);
  await expectTextContains(page, '#person-accounts', 'Deactivated there');

  // Reconciliation: the account is switched back on in the application behind Gatehouse's
  // back; "Check now" on the application page shows it, "Fix" switches it off again.
  const there = await remoteAccount(base, guid);
  const patched = await fetch(`${base}/Users/${there.id}`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${SCIM_TOKEN}`, 'Content-Type': 'application/scim+json' },
    body: JSON.stringify({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'active', value: true }],
    }),
  });
  assert.ok(patched.ok, `PATCH behind Gatehouse's back: ${patched.status}`);
  await open(page, appPath);
  await page.click('#reconcile-check');
  await expectText(page, '#reconcile-inactive', '1');
  const row = page.locator(`#reconcile-rows tr[data-guid="${guid}"]`);
  assert.equal(await row.getAttribute('data-kind'), 'inactive_here_active_there');
  await row.locator('button[data-fix]').click();
  await eventually(async () => assert.equal((await remoteAccount(base, guid))?.active, false, 'deactivated again'));
  await eventually(async () => assert.equal(await row.getAttribute('data-state'), 'fixed'));
  await page.click('#reconcile-check');
  await expectText(page, '#reconcile-empty', 'No drift found');
  assert.deepEqual(realProblems(problems), []);
}, { timeout: 90_000 });
