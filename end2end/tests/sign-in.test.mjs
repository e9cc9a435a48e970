// Signing in through the dev identity provider's real form, per role, and what each role sees.
import {
  assert, auditRows, BASE_URL, e2eTest, expectProviderLogin, expectText, expectTextContains, IDP_LOGIN_TITLE, IDP_URL,
  isProvider, navLinks, parseUtc, pathOf, signIn, submitProviderLogin, textOf, USERS,
} from './helpers.mjs';

/** Asserts the console header shows this person and role. */
async function expectSignedInAs(page, user) {
  await expectTextContains(page, '#whoami', user.name);
  await expectText(page, '#role', user.role);
}

e2eTest('admin signs in with the provider form, sees the dashboard and finds its own sign-in in the audit log', async ({ page }) => {
  const response = await signIn(page, USERS.admin.email);
  assert.equal(response.status(), 200);
  assert.equal(pathOf(page), '/');
  await expectText(page, 'main h1', 'Dashboard');
  await expectSignedInAs(page, USERS.admin);
  assert.deepEqual(await navLinks(page), [
    { text: 'Dashboard', href: '/' },
    { text: 'Users', href: '/users' },
    { text: 'People', href: '/guids' },
    { text: 'Groups', href: '/groups' },
    { text: 'Provisioning', href: '/sources' },
    { text: 'Applications', href: '/apps' },
    { text: 'API keys', href: '/keys' },
    { text: 'Support desk', href: '/support' },
    { text: 'Devices', href: '/devices' },
    { text: 'Audit log', href: '/audit' },
    { text: 'Webhooks', href: '/webhooks' },
    { text: 'Shared Signals', href: '/signals' },
    { text: 'Console sessions', href: '/sessions' },
    { text: 'Service accounts', href: '/service-accounts' },
    { text: 'My tokens', href: '/my-tokens' },
    { text: 'System', href: '/system' },
  ]);
  for (const id of ['#stat-audit-events', '#stat-sign-ins', '#stat-denied']) {
    assert.match(await textOf(page, id), /^\d+$/, `${id} is a number`);
  }
  assert.ok(Number(await textOf(page, '#stat-sign-ins')) >= 1, 'at least this sign-in is counted');
  await expectText(page, 'main h2', 'Recent activity');

  await page.locator('nav[aria-label="Main"] a', { hasText: 'Audit log' }).click();
  await page.waitForURL(`${BASE_URL}/audit`);
  await expectText(page, 'main h1', 'Audit log');
  await page.locator('table#audit-table tbody tr[data-seq]').first().waitFor();
  const rows = await auditRows(page);
  const latestSignIn = rows.find((r) => r.action === 'auth.sign_in');
  assert.ok(latestSignIn, `an auth.sign_in event is listed: ${JSON.stringify(rows.slice(0, 5))}`);
  assert.ok(latestSignIn.actor.includes(USERS.admin.email), `newest sign-in is the admin's: ${JSON.stringify(latestSignIn)}`);
  assert.equal(latestSignIn.outcome, 'success');
  const age = Date.now() - parseUtc(latestSignIn.time);
  assert.ok(age > -120_000 && age < 300_000, `the sign-in event is from just now: ${latestSignIn.time}`);
});

e2eTest('support signs in without the audit log link and gets "Access denied" on /audit', async ({ page }) => {
  const response = await signIn(page, USERS.support.email);
  assert.equal(response.status(), 200);
  assert.equal(pathOf(page), '/');
  await expectText(page, 'main h1', 'Dashboard');
  await expectSignedInAs(page, USERS.support);
  assert.deepEqual(await navLinks(page), [
    { text: 'Dashboard', href: '/' },
    { text: 'Users', href: '/users' },
    { text: 'People', href: '/guids' },
    { text: 'Groups', href: '/groups' },
    { text: 'Applications', href: '/apps' },
    { text: 'API keys', href: '/keys' },
    { text: 'Support desk', href: '/support' },
    { text: 'Devices', href: '/devices' },
    { text: 'My tokens', href: '/my-tokens' },
  ]);
  assert.equal(await page.locator('a[href="/audit"]').count(), 0, 'no link to the audit log anywhere');
  assert.equal(await page.locator('#audit-table').count(), 0, 'no recent activity table for support');

  const denied = await page.goto(`${BASE_URL}/audit`);
  assert.equal(denied.status(), 403);
  assert.equal(pathOf(page), '/audit');
  await expectText(page, '#page-title', 'Access denied');
  await expectTextContains(page, '#page-message', 'You do not have permission to read the audit log.');
  assert.equal(await page.locator('#audit-table').count(), 0);
});

e2eTest('auditor signs in and reads the audit log', async ({ page }) => {
  const response = await signIn(page, USERS.auditor.email);
  assert.equal(response.status(), 200);
  await expectText(page, 'main h1', 'Dashboard');
  await expectSignedInAs(page, USERS.auditor);
  assert.deepEqual(await navLinks(page), [
    { text: 'Dashboard', href: '/' },
    { text: 'Users', href: '/users' },
    { text: 'People', href: '/guids' },
    { text: 'Groups', href: '/groups' },
    { text: 'Applications', href: '/apps' },
    { text: 'API keys', href: '/keys' },
    { text: 'Devices', href: '/devices' },
    { text: 'Audit log', href: '/audit' },
    { text: 'My tokens', href: '/my-tokens' },
    { text: 'System', href: '/system' },
  ]);

  await page.locator('nav[aria-label="Main"] a', { hasText: 'Audit log' }).click();
  await page.waitForURL(`${BASE_URL}/audit`);
  await expectText(page, 'main h1', 'Audit log');
  await page.locator('table#audit-table tbody tr[data-seq]').first().waitFor();
  const rows = await auditRows(page);
  assert.ok(rows.length >= 1, 'the audit log has rows');
  const own = rows.find((r) => r.action === 'auth.sign_in');
  assert.ok(own?.actor.includes(USERS.auditor.email), `newest sign-in is the auditor's: ${JSON.stringify(own)}`);
  assert.equal(own.outcome, 'success');
  const seqs = rows.map((r) => r.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a), 'newest first');
});

e2eTest('a person without a Gatehouse role gets "No access to Gatehouse" and no session', async ({ page }) => {
  const response = await signIn(page, USERS.nobody.email);
  assert.equal(response.status(), 403);
  assert.equal(new URL(page.url()).pathname, '/auth/callback');
  await expectText(page, '#page-title', 'No access to Gatehouse');
  await expectTextContains(page, '#page-message', 'no Gatehouse role');
  await expectTextContains(page, '#page-message', USERS.nobody.email);
  assert.equal(await page.locator('#whoami').count(), 0);

  // No Gatehouse session was made: the console answers with a redirect to /login...
  const direct = await page.request.get(`${BASE_URL}/`, { maxRedirects: 0 });
  assert.ok(direct.status() >= 300 && direct.status() < 400, `GET / is a redirect, not the console (status ${direct.status()})`);
  assert.equal(direct.headers().location, '/login?return_to=%2F');

  // ...and in the browser they are sent back to the provider to sign in again.
  const visited = [];
  const onRequest = (r) => { if (r.isNavigationRequest() && r.frame() === page.mainFrame()) visited.push(r.url()); };
  page.on('request', onRequest);
  const again = await page.goto(`${BASE_URL}/`);
  page.off('request', onRequest);
  const chain = visited.join(' -> ');
  assert.ok(visited.includes(`${BASE_URL}/login?return_to=%2F`), `redirected to /login: ${chain}`);
  assert.ok(visited.some((u) => u.startsWith(`${IDP_URL}/auth`)), `sent to the provider's authorization endpoint: ${chain}`);
  assert.equal(await page.locator('#whoami').count(), 0, 'the console is not shown');
  if (isProvider(page.url())) {
    await expectProviderLogin(page);
  } else {
    // The provider still has its own session for this person (single sign-on), so it answers at
    // once and Gatehouse refuses again; it must not have let them in.
    assert.equal(again.status(), 403, `ended on ${page.url()}`);
    await expectText(page, '#page-title', 'No access to Gatehouse');
  }
});

e2eTest('a signed-out visit to /audit returns to /audit after signing in', async ({ page }) => {
  await page.goto(`${BASE_URL}/audit`);
  await expectProviderLogin(page);
  const response = await submitProviderLogin(page, USERS.auditor.email);
  assert.equal(response.status(), 200);
  assert.equal(pathOf(page), '/audit');
  await expectText(page, 'main h1', 'Audit log');
  await expectSignedInAs(page, USERS.auditor);
  await page.locator('table#audit-table tbody tr[data-seq]').first().waitFor();
});

e2eTest('a wrong password shows the provider error and makes no Gatehouse session', async ({ page }) => {
  await page.goto(`${BASE_URL}/`);
  await expectProviderLogin(page);
  await page.fill('#email', USERS.admin.email);
  await page.fill('#password', 'not-the-password');
  await Promise.all([page.waitForNavigation(), page.click('button#sign-in')]);
  assert.ok(isProvider(page.url()), `still on the provider: ${page.url()}`);
  assert.equal(await page.title(), IDP_LOGIN_TITLE);
  await expectText(page, '#login-error', 'Wrong email or password');
  assert.equal(await page.inputValue('#email'), USERS.admin.email);

  // Gatehouse still treats the browser as signed out: the console redirects to sign-in...
  const direct = await page.request.get(`${BASE_URL}/`, { maxRedirects: 0 });
  assert.ok(direct.status() >= 300 && direct.status() < 400, `GET / is a redirect, not the console (status ${direct.status()})`);
  assert.match(direct.headers().location || '', /^\/login\?return_to=/);
  // ...and in the browser that ends on the provider's sign-in form again.
  await page.goto(`${BASE_URL}/`);
  await expectProviderLogin(page);
  assert.equal(await page.locator('#login-error').count(), 0);
});
