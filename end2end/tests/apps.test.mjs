// Applications and API keys in the browser: an administrator registers an application, rotates
// its secret, issues keys, a gateway verifies one, the administrator revokes it; support reads only.
//
// Other test files run on the same database, so names and emails are unique per run.
import {
  assert, BASE_URL, e2eTest, eventually, expectText, expectTextContains, navLinks, pathOf, realProblems, signIn, textOf,
  USERS, waitForHydration,
} from './helpers.mjs';

const RUN = [...Date.now().toString(36)].reverse().join('');
let counter = 0;
const uniqueTag = () => `${(counter += 1)}${RUN}`;

const APP_DETAIL = /^\/apps\/app_[0-9a-f]{32}$/;

async function signInAs(page, who, pathAndQuery = '/') {
  const response = await signIn(page, USERS[who].email, pathAndQuery);
  assert.equal(response.status(), 200, `${who} lands on ${pathAndQuery}`);
  await waitForHydration(page);
}

async function openPage(page, pathAndQuery) {
  const response = await page.goto(`${BASE_URL}${pathAndQuery}`);
  assert.equal(response.status(), 200, `GET ${pathAndQuery}`);
  await waitForHydration(page);
  return response;
}

/** Creates a directory user (an application needs an owner); returns the email. */
async function createOwner(page) {
  const tag = uniqueTag();
  const email = `app.owner.${tag}@example.com`;
  await openPage(page, '/users/new');
  await page.fill('#field-email', email);
  await page.fill('#field-display_name', `Owen Owner ${tag}`);
  await page.fill('#field-source', 'hr-emea');
  await page.click('#create-user');
  await page.waitForURL((u) => /^\/users\/u_[0-9a-f]+$/.test(u.pathname));
  return email;
}

/** Asks the verification endpoint, as a gateway holding `callerKey`, about `key`. */
async function verify(callerKey, key) {
  const res = await fetch(`${BASE_URL}/api/v1/keys/verify`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${callerKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ key }),
  });
  assert.equal(res.status, 200, `verify answers 200 (got ${res.status})`);
  return res.json();
}

/** Issues a key from the application page with the given scopes; returns the key shown once. */
async function issueKey(page, name, scopes, previous) {
  await page.fill('#key-name', name);
  for (const box of await page.locator('#issue-key-form input[name="input[scopes][]"]').all()) {
    const wanted = scopes.includes(await box.getAttribute('value'));
    if (wanted) await box.check(); else await box.uncheck();
  }
  await page.click('#issue-key');
  const shown = page.locator('[data-testid="new-key"]');
  await eventually(async () => {
    const text = await textOf(page, '[data-testid="new-key"]');
    assert.ok(text.startsWith('ghk_') && text !== previous, `a new key is shown, got ${JSON.stringify(text)}`);
  });
  assert.equal(await shown.count(), 1, 'one key on show');
  return textOf(page, '[data-testid="new-key"]');
}

let registered; // { id, name } of the application made by the admin test, for the support test

e2eTest('admin registers an application, rotates its secret, issues keys that a gateway verifies, then revokes one', async ({ page, problems }) => {
  await signInAs(page, 'admin', '/apps');
  await expectText(page, 'main h1', 'Applications');
  assert.ok((await navLinks(page)).some((l) => l.text === 'Applications' && l.href === '/apps'));
  const owner = await createOwner(page);

  await openPage(page, '/apps');
  await page.click('#new-app');
  await page.waitForURL(`${BASE_URL}/apps/new`);
  await expectText(page, 'main h1', 'Register an application');
  const name = `Orders ${uniqueTag()}`;
  await page.fill('#field-name', name);
  await page.fill('#field-owner', owner);
  await page.selectOption('#field-kind', 'web');
  await page.fill('#field-redirect_uris', 'http://app.example.com/cb');
  await page.fill('#field-scopes', 'orders:read orders:write gatehouse:keys.verify');
  assert.ok(await page.isChecked('#field-pkce_required'), 'PKCE is required by default');
  assert.ok(await page.isChecked('#grant-authorization-code'), 'a web application starts with the code grant');

  // An http redirect URI on a public host is refused, next to the field.
  await page.click('#create-app');
  await expectTextContains(page, '#field-redirect_uris-error', 'https');
  assert.equal(await page.getAttribute('#field-redirect_uris', 'aria-invalid'), 'true');
  assert.equal(await page.locator('[data-testid="secret"]').count(), 0, 'nothing registered');
  assert.equal(await page.inputValue('#field-name'), name, 'the form keeps what was typed');

  await page.fill('#field-redirect_uris', 'https://app.example.com/callback');
  await page.click('#create-app');
  const secretBox = page.locator('[data-testid="secret"]');
  await secretBox.waitFor({ state: 'visible' });
  const secret = await textOf(page, '[data-testid="secret"]');
  assert.ok(secret.length >= 32, `a long secret, got ${JSON.stringify(secret)}`);
  await expectTextContains(page, '#app-created', 'you will not see it again');
  assert.equal(await page.getByRole('button', { name: 'Copy', exact: true }).count(), 1, 'a Copy button');
  const clientId = await textOf(page, '#client-id');
  assert.match(clientId, /^app_[0-9a-f]{32}$/);

  await page.click('#app-link');
  await page.waitForURL((u) => APP_DETAIL.test(u.pathname));
  assert.equal(pathOf(page), `/apps/${clientId}`);
  await expectText(page, '#app-name', name);
  registered = { id: clientId, name };

  // Shown once: a fresh load of the application page has only the hint.
  await openPage(page, `/apps/${clientId}`);
  await expectText(page, '#app-name', name);
  const secretRows = page.locator('#secrets-table tbody tr');
  await eventually(async () => assert.equal(await secretRows.count(), 1));
  assert.ok((await textOf(page, '#secrets-table tbody tr')).includes(`…${secret.slice(-4)}`), 'the hint is the last characters');
  assert.ok(!(await page.content()).includes(secret), 'the secret is not on the page any more');

  // Rotate with one hour of grace: a new secret, shown once; the old one is valid until then.
  await page.selectOption('#rotate-grace', '3600');
  await page.click('#rotate-secret');
  await eventually(async () => {
    const text = await textOf(page, '#rotated-secret [data-testid="secret"]');
    assert.ok(text.length >= 32 && text !== secret, 'a new secret is shown');
  });
  await eventually(async () => {
    const rows = await secretRows.evaluateAll((trs) => trs.map((tr) => tr.textContent.replace(/\s+/g, ' ')));
    assert.equal(rows.length, 2, 'two secrets');
    const old = rows.find((r) => r.includes(`…${secret.slice(-4)}`));
    assert.ok(old && /valid until/i.test(old), `the old secret is valid until a time: ${JSON.stringify(rows)}`);
  });

  // Two keys: one for the orders client, one for the gateway that verifies keys.
  const ordersKey = await issueKey(page, `Orders client ${RUN}`, ['orders:read', 'orders:write']);
  const gatewayKey = await issueKey(page, `Gateway ${RUN}`, ['gatehouse:keys.verify'], ordersKey);
  assert.notEqual(ordersKey, gatewayKey);
  await eventually(async () => assert.equal(await page.locator('#app-keys tbody tr').count(), 2));

  const valid = await verify(gatewayKey, ordersKey);
  assert.equal(valid.valid, true, JSON.stringify(valid));
  assert.deepEqual([...valid.scopes].sort(), ['orders:read', 'orders:write']);
  assert.equal(valid.application.id, clientId);

  // The admin revokes the orders key on its page (a confirm step), and the gateway learns of it.
  const row = page.locator(`#app-keys tbody tr[data-name="Orders client ${RUN}"]`);
  await row.locator('td a').first().click();
  await page.waitForURL((u) => /^\/keys\/.+/.test(u.pathname));
  await expectText(page, '#key-name', `Orders client ${RUN}`);
  await expectText(page, '#key-scopes', 'orders:read orders:write');
  await page.click('#revoke-key');
  await expectText(page, '#revoke-key', 'Confirm: revoke this key');
  await page.click('#revoke-key');
  await page.locator('#key-name + span[data-status="revoked"]').waitFor();
  assert.equal(await page.locator('#revoke-key').count(), 0, 'nothing left to revoke');

  let last;
  await eventually(async () => {
    last = await verify(gatewayKey, ordersKey);
    assert.deepEqual(last, { valid: false, reason: 'revoked' });
  }, { timeout: 3_000, interval: 150 });

  // The keys list shows it as revoked.
  await openPage(page, '/keys?status=revoked');
  await page.locator(`#keys-table tbody tr[data-name="Orders client ${RUN}"] [data-status="revoked"]`).waitFor();

  // The refused registration answered 400; nothing else went wrong in the page (hydration included).
  const unexpected = realProblems(problems).filter((p) => !(p.kind === 'console' && /status of 400/.test(p.text)));
  assert.deepEqual(unexpected, []);
}, { timeout: 90_000 });

e2eTest('support sees applications and keys read-only', async ({ page }) => {
  await signInAs(page, 'support', '/apps');
  await expectText(page, '#role', USERS.support.role);
  await expectText(page, 'main h1', 'Applications');
  const links = await navLinks(page);
  assert.ok(links.some((l) => l.text === 'Applications' && l.href === '/apps'), 'an Applications link');
  assert.ok(links.some((l) => l.text === 'API keys' && l.href === '/keys'), 'an API keys link');
  await page.locator('#apps-table, #apps-empty').first().waitFor();
  assert.equal(await page.locator('#new-app').count(), 0, 'no "Register" button');
  assert.equal(await page.getByText('Register an application').count(), 0);

  if (registered) {
    await openPage(page, `/apps?q=${encodeURIComponent(registered.name)}`);
    await page.locator(`#apps-table tr[data-app="${registered.id}"]`).waitFor();
    await openPage(page, `/apps/${registered.id}`);
    await expectText(page, '#app-name', registered.name);
    await page.locator('#secrets-table').waitFor();
    await page.locator('#app-keys').waitFor();
    assert.equal(await page.locator('#rotate-secret, #issue-key, #assign-form, #edit-app, [id^="status-"], [id^="revoke-"]').count(), 0,
      'no write controls');
  }
  const denied = await page.goto(`${BASE_URL}/apps/new`);
  assert.equal(denied.status(), 403);
});
