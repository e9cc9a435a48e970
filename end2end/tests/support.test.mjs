// The support desk in the browser: support finds a person and resets their MFA end to end, is
// refused for an administrator's account; an administrator blocks and removes a device.
//
// Browser tests start on an empty database, so each test first gives its person factors and
// devices as the identity provider would report them: through the administrators' server
// functions `mfa/factors/add` and `devices/register` (the same services the provider API of a
// later issue calls). Other test files share the database: every name here is unique to the run.
import {
  assert, auditRows, BASE_URL, e2eTest, eventually, expectText, expectTextContains, realProblems, signIn, textOf,
  USERS, waitForHydration,
} from './helpers.mjs';

const RUN = [...Date.now().toString(36)].reverse().join('');
let counter = 0;
const uniqueTag = () => `${(counter += 1)}${RUN}`;
/** Letters only (name search splits words on anything else). */
const uniqueWord = () => uniqueTag().replace(/[0-9]/g, (d) => 'abcdefghij'[d]);

async function signInAs(page, who, pathAndQuery = '/') {
  const response = await signIn(page, USERS[who].email, pathAndQuery);
  assert.equal(response.status(), 200, `${who} lands on ${pathAndQuery}`);
  await waitForHydration(page);
}

async function openPage(page, pathAndQuery) {
  const response = await page.goto(`${BASE_URL}${pathAndQuery}`);
  assert.equal(response.status(), 200, `GET ${pathAndQuery}`);
  await waitForHydration(page);
}

/** Calls a server function with the page's cookies; returns its JSON answer. */
async function callFn(page, name, form) {
  const res = await page.request.post(`${BASE_URL}/api/${name}`, { form });
  const body = await res.json();
  return { status: res.status(), body };
}

async function callOk(page, name, form) {
  const { status, body } = await callFn(page, name, form);
  assert.equal(status, 200, `${name}: ${JSON.stringify(body)}`);
  return body;
}

/** As the signed-in admin: a person with a passkey, an authenticator app and a trusted phone. */
async function personWithFactors(page, { email, name }) {
  const user = await callOk(page, 'users/create', {
    'input[email]': email, 'input[display_name]': name, 'input[source]': 'hr-emea',
  });
  await seedFactorsAndDevices(page, user.id, name);
  return user;
}

async function seedFactorsAndDevices(page, userId, name) {
  await callOk(page, 'mfa/factors/add', {
    user_id: userId, 'input[kind]': 'webauthn', 'input[label]': 'YubiKey', 'input[credential_id]': `cred-${uniqueTag()}`,
    'input[authenticator_name]': 'YubiKey 5 NFC', 'input[aaguid]': 'cb69481e-8ff7-4039-93ec-0a2729a154a8',
  });
  await callOk(page, 'mfa/factors/add', { user_id: userId, 'input[kind]': 'totp', 'input[label]': 'Authenticator app' });
  const phone = await callOk(page, 'devices/register', {
    user_id: userId, 'input[name]': `${name}'s iPhone`, 'input[kind]': 'phone', 'input[platform]': 'ios',
    'input[os_version]': '18.1', 'input[fingerprint]': `SHA256:${uniqueTag()}`, 'input[last_ip]': '10.0.0.7',
  });
  await callOk(page, 'devices/trust', { id: phone.id });
  return phone;
}

e2eTest('support finds a person and resets their MFA: checks, reason, ticket, typed email, link shown once, factors gone, audited', async ({ page, context, problems }) => {
  // The admin records the person and what the identity provider reports about them.
  await signInAs(page, 'admin', '/');
  const family = `Mfa${uniqueWord()}`;
  const person = { email: `reset.${uniqueTag()}@example.com`, name: `Rosa ${family}` };
  const user = await personWithFactors(page, person);
  await context.clearCookies();

  // Support: one search box, the person's state at a glance.
  await signInAs(page, 'support', '/support');
  await expectText(page, 'main h1', 'Support desk');
  await page.locator('#support-search').pressSequentially(family.toLowerCase(), { delay: 20 });
  const card = page.locator(`#support-results li[data-user="${user.id}"]`);
  await card.waitFor({ state: 'visible' });
  assert.equal(await textOf(page, `#support-results li[data-user="${user.id}"] [data-field="factors"]`), '2');
  assert.equal(await textOf(page, `#support-results li[data-user="${user.id}"] [data-field="devices"]`), '1');
  assert.equal(await textOf(page, `#support-results li[data-user="${user.id}"] [data-field="locked"]`), 'no');
  await card.locator('a').first().click();
  await page.waitForURL(`${BASE_URL}/users/${user.id}`);
  await expectText(page, '#user-name', person.name);
  await eventually(async () => assert.equal(await page.locator('#factors-table tbody tr').count(), 2));
  assert.equal(await page.locator('[data-action="remove-factor"]').count(), 0, 'support cannot remove single factors');
  assert.equal(await page.locator('#devices-table tr[data-device]').getAttribute('data-trust'), 'trusted');

  // The reset form: checklist, reason, ticket, typed email.
  await page.click('#reset-open');
  await page.locator('#reset-form').waitFor();
  const ticket = `INC-${uniqueTag()}`;
  await page.check('#reset-check-0');
  await page.selectOption('#reset-reason', 'Lost or stolen phone');
  await page.fill('#reset-ticket', ticket);
  await page.fill('#reset-note', 'Caller lost the phone on a train');
  await page.fill('#reset-confirm', 'someone.else@example.com');
  await page.click('#reset-submit');
  await expectTextContains(page, '#reset-form', 'does not match');
  assert.equal(await page.locator('#reset-done').count(), 0, 'nothing happened');
  assert.equal(await page.locator('#factors-table tbody tr').count(), 2);

  await page.fill('#reset-confirm', person.email);
  await page.click('#reset-submit');
  await page.locator('#reset-done').waitFor();
  await expectTextContains(page, '#reset-done', '2 factors removed, 1 device no longer trusted');
  const link = await page.inputValue('#enrollment-link');
  assert.match(link, new RegExp(`^${BASE_URL}/enroll/[A-Za-z0-9_-]{43}$`));
  await expectText(page, '#copy-link', 'Copy');
  await page.locator('#factors-empty').waitFor();
  await eventually(async () => assert.equal(await page.locator('#devices-table tr[data-device]').getAttribute('data-trust'), 'untrusted'));
  const trail = await eventually(async () => {
    const rows = await auditRows(page);
    assert.ok(rows.some((r) => r.action === 'mfa.reset' && r.outcome === 'success'), JSON.stringify(rows));
    return rows;
  });
  assert.ok(trail.every((r) => r.actor.includes(USERS.support.email)), 'support sees only its own actions in the trail');

  // Shown once: a reload does not show it again.
  await openPage(page, `/users/${user.id}`);
  await page.locator('#factors-empty').waitFor();
  assert.equal(await page.locator('#enrollment-link').count(), 0);

  // The agent's recent tickets.
  await openPage(page, '/support');
  await page.locator(`#recent-tickets tr[data-ticket="${ticket}"]`).waitFor();

  // The person uses the link once.
  await page.goto(link);
  await page.click('#enroll-continue');
  await expectText(page, '#page-title', 'Link accepted');
  const again = await page.goto(link);
  assert.equal(again.status(), 410);
  await expectTextContains(page, '#page-message', 'already been used');

  // The audit record carries the reason, the ticket and the checks.
  await context.clearCookies();
  await signInAs(page, 'admin', `/audit?action=mfa.reset&target_type=user&target_id=${user.id}`);
  const row = page.locator('table#audit-table tbody tr[data-seq]').first();
  await row.waitFor();
  await row.locator('summary').first().click();
  await expectTextContains(page, 'main', ticket);
  await expectTextContains(page, 'main', 'Called back the phone number on file');
  assert.deepEqual(realProblems(problems).filter((p) => p.kind === 'pageerror'), [], 'no uncaught exceptions');
}, { timeout: 90_000 });

e2eTest("support is refused the MFA reset of an administrator's account, and nothing changes", async ({ page, context }) => {
  await signInAs(page, 'admin', '/');
  // The console admin's own account in the directory (another test may have created it already).
  let { status, body } = await callFn(page, 'users/create', {
    'input[email]': USERS.admin.email, 'input[display_name]': USERS.admin.name, 'input[source]': 'hr-emea',
  });
  if (status !== 200) {
    const found = await callOk(page, 'users/list', { 'query[q]': USERS.admin.email });
    body = found.users.find((u) => u.email === USERS.admin.email);
    assert.ok(body, `admin account exists: ${JSON.stringify(found)}`);
  }
  const adminAccount = body;
  await seedFactorsAndDevices(page, adminAccount.id, 'Ada');
  const factorsBefore = (await callOk(page, 'mfa/factors', { user_id: adminAccount.id })).length;
  await context.clearCookies();

  await signInAs(page, 'support', `/support?q=${encodeURIComponent(USERS.admin.email)}`);
  const card = page.locator(`#support-results li[data-user="${adminAccount.id}"]`);
  await card.waitFor();
  assert.equal(await card.locator('[data-protected="true"]').count(), 1, 'marked as an administrator account');

  await openPage(page, `/users/${adminAccount.id}`);
  await page.click('#reset-open');
  await page.locator('#reset-form').waitFor();
  await page.check('#reset-check-0');
  await page.selectOption('#reset-reason', 'New phone');
  await page.fill('#reset-ticket', `INC-${uniqueTag()}`);
  await page.fill('#reset-confirm', USERS.admin.email);
  await page.click('#reset-submit');
  await expectTextContains(page, '#reset-form [role="alert"]', 'reset the MFA of an administrator account');
  assert.equal(await page.locator('#reset-done').count(), 0);
  assert.equal(await page.locator('#factors-table tbody tr').count(), factorsBefore, 'the factors stay');
  const left = await callOk(page, 'mfa/factors', { user_id: adminAccount.id });
  assert.equal(left.length, factorsBefore);
}, { timeout: 60_000 });

e2eTest('admin blocks a device (it stays listed) and then removes it, from the devices page', async ({ page }) => {
  await signInAs(page, 'admin', '/');
  const person = { email: `devices.${uniqueTag()}@example.com`, name: `Dev ${uniqueWord()}` };
  const user = await personWithFactors(page, person);
  const laptop = await callOk(page, 'devices/register', {
    user_id: user.id, 'input[name]': `${person.name}'s laptop`, 'input[kind]': 'laptop', 'input[platform]': 'macos',
    'input[os_version]': '15.1', 'input[fingerprint]': `SHA256:${uniqueTag()}`,
  });

  await openPage(page, `/devices?owner=${encodeURIComponent(person.email)}`);
  await expectText(page, 'main h1', 'Devices');
  const row = page.locator(`#devices-table tr[data-device="${laptop.id}"]`);
  await row.waitFor();
  assert.equal(await page.locator('#devices-table tr[data-device]').count(), 2, 'only this owner\'s devices');
  assert.equal(await row.getAttribute('data-trust'), 'untrusted');

  await row.locator('[data-action="block"]').click();
  await eventually(async () => assert.equal(await page.locator(`#devices-table tr[data-device="${laptop.id}"]`).getAttribute('data-trust'), 'blocked'));

  // Blocked devices stay listed, and the trust filter finds them.
  await page.selectOption('#device-state', 'blocked');
  await page.waitForURL(/state=blocked/);
  await eventually(async () => {
    const ids = await page.locator('#devices-table tr[data-device]').evaluateAll((trs) => trs.map((t) => t.dataset.device));
    assert.deepEqual(ids, [laptop.id]);
  });

  await page.locator(`#devices-table tr[data-device="${laptop.id}"] [data-action="remove"]`).click();
  await page.locator('#devices-empty').waitFor();

  await openPage(page, `/audit?action=device.*&target_type=device&target_id=${laptop.id}`);
  await eventually(async () => {
    const actions = (await auditRows(page)).map((r) => r.action);
    assert.deepEqual(actions, ['device.remove', 'device.block', 'device.register']);
  });
}, { timeout: 60_000 });
