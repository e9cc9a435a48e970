// Users and GUIDs: creating, finding, editing, suspending and merging people, per role.
//
// Other test files run before this one on the same database, so every user made here has a
// unique email (and family name), and nothing assumes an empty directory.
import {
  assert, auditRows, BASE_URL, e2eTest, eventually, expectText, expectTextContains, navLinks, pathOf, realProblems,
  signIn, textOf, USERS, waitForHydration,
} from './helpers.mjs';

// Fastest-changing digits first, so that even a short prefix tells runs and calls apart.
const RUN = [...Date.now().toString(36)].reverse().join('');
let counter = 0;
/** A tag unique to this run and call, e.g. `1b2a9k3xl`. */
const uniqueTag = () => `${(counter += 1)}${RUN}`;
/** Letters only (name search splits words on anything else), unique per run and call. */
const uniqueWord = () => uniqueTag().replace(/[0-9]/g, (d) => 'abcdefghij'[d]);

const USER_DETAIL = /^\/users\/u_[0-9a-f]+$/;
const statusBadge = '#user-name + span[data-status]';

/** Valid form data for a new user; `overrides` replace single fields. */
function newPerson(overrides = {}) {
  const tag = uniqueTag();
  const family = `Qu${uniqueWord()}`;
  return {
    email: `E2E.Person.${tag}@Example.COM`,
    display_name: `Tamsin ${family}`,
    given_name: 'Tamsin',
    family_name: family,
    phone: '+41 79 123 45 67',
    source: 'hr-emea',
    external_id: `EMP-${tag}`,
    ...overrides,
  };
}

/** Signs in through the provider and waits until the page it lands on is hydrated. */
async function signInAs(page, who, pathAndQuery = '/') {
  const response = await signIn(page, USERS[who].email, pathAndQuery);
  assert.equal(response.status(), 200, `${who} lands on ${pathAndQuery}`);
  await waitForHydration(page);
}

/** Opens a console page with a full load and waits for hydration. */
async function openPage(page, pathAndQuery) {
  const response = await page.goto(`${BASE_URL}${pathAndQuery}`);
  assert.equal(response.status(), 200, `GET ${pathAndQuery}`);
  await waitForHydration(page);
  return response;
}

/** Fills the user form's fields that are given (`{ email: ..., display_name: ... }`). */
async function fillUserFields(page, fields) {
  for (const [name, value] of Object.entries(fields)) await page.fill(`#field-${name}`, value);
}

/** Creates a user through /users/new; ends on the new user's page. Returns { id, guid }. */
async function createUser(page, person) {
  await openPage(page, '/users/new');
  await expectText(page, 'main h1', 'New user');
  await fillUserFields(page, person);
  await page.click('#create-user');
  await page.waitForURL((u) => USER_DETAIL.test(u.pathname));
  await expectText(page, '#user-name', person.display_name);
  const id = new URL(page.url()).pathname.split('/').pop();
  const guid = await textOf(page, '#guid-link');
  assert.match(guid, /^g_[0-9a-f]{32}$/, 'the new user has a GUID');
  return { id, guid };
}

/** The profile list as { label: value }, without the copy buttons beside identifiers. */
function profile(page) {
  return page.locator('#profile > div').evaluateAll((rows) => Object.fromEntries(rows.map((row) => {
    const value = row.querySelector('dd').cloneNode(true);
    value.querySelectorAll('.copy-button').forEach((button) => button.parentElement.remove());
    return [row.querySelector('dt').textContent.replace(/\s+/g, ' ').trim(), value.textContent.replace(/\s+/g, ' ').trim()];
  })));
}

/** Waits until the user's audit trail lists `count` events of `action`; returns the trail. */
async function expectTrail(page, action, count = 1) {
  return eventually(async () => {
    const rows = await auditRows(page);
    const found = rows.filter((r) => r.action === action);
    assert.equal(found.length, count, `${count} × ${action} in the trail: ${JSON.stringify(rows.map((r) => r.action))}`);
    return rows;
  });
}

/** Ids of the rows of the (first) users table. */
const tableUserIds = (page) => page.locator('table#users-table tbody tr[data-user]')
  .evaluateAll((trs) => trs.map((tr) => tr.dataset.user));

e2eTest('admin creates a user; the form normalises email and phone, and refuses bad input with a message per field', async ({ page, problems }) => {
  await signInAs(page, 'admin', '/users');
  await expectText(page, 'main h1', 'Users');
  assert.ok((await navLinks(page)).some((l) => l.text === 'Users' && l.href === '/users'), 'admin has a "Users" nav link');

  await page.click('#new-user');
  await page.waitForURL(`${BASE_URL}/users/new`);
  await expectText(page, 'main h1', 'New user');
  await expectText(page, '#create-user', 'Create user');

  const person = newPerson({ attributes: '{"team": "blue"}' });
  await fillUserFields(page, person);
  await page.click('#create-user');
  await page.waitForURL((u) => USER_DETAIL.test(u.pathname));
  const id = new URL(page.url()).pathname.split('/').pop();
  await expectText(page, '#user-name', person.display_name);
  await expectText(page, statusBadge, 'Active');
  assert.equal(await page.locator(statusBadge).getAttribute('data-status'), 'active');

  const shown = await profile(page);
  assert.equal(shown.Email, person.email.toLowerCase(), 'email stored in lowercase');
  assert.equal(shown.Phone, '+41791234567', 'phone stored in E.164 form');
  assert.equal(shown['Given name'], person.given_name);
  assert.equal(shown['Family name'], person.family_name);
  assert.equal(shown.Source, `hr-emea ${person.external_id}`);
  assert.equal(shown['User id'], id);
  assert.equal(shown.Attributes, '{"team":"blue"}');
  assert.match(shown.GUID, /^g_[0-9a-f]{32}$/);
  assert.equal(await page.locator('#guid-link').getAttribute('href'), `/guids/${shown.GUID}`);

  const trail = await expectTrail(page, 'user.create');
  const created = trail.find((r) => r.action === 'user.create');
  assert.equal(created.target, `user ${id}`);
  assert.ok(created.actor.includes(USERS.admin.email), `created by the admin: ${created.actor}`);
  assert.equal(created.outcome, 'success');

  // The account is listed among the accounts of this person.
  await eventually(async () => assert.deepEqual(await tableUserIds(page), [id]));

  // Bad input: the server answers with a message under each wrong field, and the form stays.
  // ("bad@example" passes the browser's own type=email check but has no valid domain.)
  await openPage(page, '/users/new');
  await fillUserFields(page, newPerson({ email: 'bad@example', source: '' }));
  await page.click('#create-user');
  await expectTextContains(page, '#field-email-error', 'Email ');
  await expectTextContains(page, '#field-source-error', 'Source is required');
  assert.equal(await page.getAttribute('#field-email', 'aria-invalid'), 'true');
  assert.equal(await page.getAttribute('#field-source', 'aria-invalid'), 'true');
  assert.equal(await textOf(page, '#field-display_name-error'), '', 'no message under a good field');
  assert.equal(await page.getAttribute('#field-display_name', 'aria-invalid'), 'false');
  assert.equal(pathOf(page), '/users/new', 'still on the form');
  await expectText(page, '#create-user', 'Create user');

  assert.deepEqual(realProblems(problems).filter((p) => p.kind === 'pageerror'), [], 'no uncaught exceptions');
});

e2eTest('admin finds a user by typing part of the family name, live and without reloading the page', async ({ page, problems }) => {
  await signInAs(page, 'admin', '/users');
  const person = newPerson();
  const { id } = await createUser(page, person);

  await openPage(page, '/users');
  await expectText(page, 'main h1', 'Users');
  await page.evaluate(() => { window.__marker = 42; });

  const prefix = person.family_name.slice(0, -2).toLowerCase();
  assert.ok(prefix.length >= 4);
  await page.locator('#user-search').pressSequentially(prefix, { delay: 25 });
  await eventually(async () => assert.equal(new URL(page.url()).searchParams.get('q'), prefix, 'the URL carries the search'));
  assert.equal(pathOf(page), `/users?q=${prefix}`);
  const row = page.locator(`table#users-table tr[data-user="${id}"]`);
  await row.waitFor({ state: 'visible' });
  const link = row.locator('td a').first();
  assert.equal((await link.textContent()).trim(), person.display_name);
  assert.equal(await link.getAttribute('href'), `/users/${id}`);
  assert.equal(await row.locator('span[data-status]').getAttribute('data-status'), 'active');
  assert.ok((await row.textContent()).includes(person.email.toLowerCase()), 'the row shows the email');
  assert.deepEqual(await tableUserIds(page), [id], 'only the user with that unique family name');
  assert.equal(await page.evaluate(() => window.__marker), 42, 'no page reload while searching');

  const nonsense = `xqzvw${uniqueWord()}`;
  await page.fill('#user-search', nonsense);
  await page.locator('#users-empty').waitFor({ state: 'visible' });
  await expectTextContains(page, '#users-empty', 'No user matches this search');
  assert.equal(await page.locator('table#users-table').count(), 0);
  assert.equal(new URL(page.url()).searchParams.get('q'), nonsense);
  assert.equal(await page.evaluate(() => window.__marker), 42, 'still no page reload');

  // Following the result is client-side as well.
  await page.fill('#user-search', prefix);
  await row.waitFor({ state: 'visible' });
  await row.locator('td a').first().click();
  await page.waitForURL(`${BASE_URL}/users/${id}`);
  await expectText(page, '#user-name', person.display_name);
  assert.equal(await page.evaluate(() => window.__marker), 42, 'the user page opened without a reload');

  assert.deepEqual(realProblems(problems).filter((p) => p.kind === 'pageerror'), [], 'no uncaught exceptions');
});

e2eTest('two tabs edit the same user: the second save is refused as changed by someone else', async ({ page, context }) => {
  await signInAs(page, 'admin', '/users');
  const person = newPerson();
  const { id } = await createUser(page, person);
  const tabA = page;
  await openPage(tabA, `/users/${id}`);
  const tabB = await context.newPage();
  await openPage(tabB, `/users/${id}`);
  await expectText(tabB, '#user-name', person.display_name);

  // Tab A saves first.
  const nameA = `${person.display_name} Alpha`;
  await tabA.click('#edit-user > summary');
  await expectText(tabA, '#save-user', 'Save changes');
  assert.equal(await tabA.inputValue('#field-display_name'), person.display_name, 'the form starts with the current name');
  await tabA.fill('#field-display_name', nameA);
  await tabA.click('#save-user');
  await expectText(tabA, '#user-name', nameA);
  await expectTrail(tabA, 'user.update');
  assert.equal(await tabA.locator('[role="alert"]', { hasText: 'changed by someone else' }).count(), 0);

  // Tab B still shows the old version; its save must not overwrite tab A's.
  const nameB = `${person.display_name} Bravo`;
  await expectText(tabB, '#user-name', person.display_name);
  await tabB.click('#edit-user > summary');
  await tabB.fill('#field-display_name', nameB);
  await tabB.click('#save-user');
  const conflict = tabB.locator('[role="alert"]', { hasText: 'changed by someone else' });
  await conflict.waitFor({ state: 'visible' });

  await tabB.reload();
  await waitForHydration(tabB);
  await expectText(tabB, '#user-name', nameA);
  await expectTrail(tabB, 'user.update', 1);
  await tabB.close();
});

e2eTest('admin suspends a user and activates it again; both changes are in the audit trail', async ({ page }) => {
  await signInAs(page, 'admin', '/users');
  const { id } = await createUser(page, newPerson());
  await openPage(page, `/users/${id}`);
  assert.equal(await page.locator(statusBadge).getAttribute('data-status'), 'active');
  await expectText(page, '#status-suspended', 'Suspend');
  await expectText(page, '#status-locked', 'Lock');
  await expectText(page, '#status-deprovisioned', 'Deprovision');
  assert.equal(await page.locator('#status-active').count(), 0, 'no "Activate" for an active user');

  await page.click('#status-suspended');
  await eventually(async () => assert.equal(await page.locator(statusBadge).getAttribute('data-status'), 'suspended'));
  await expectText(page, statusBadge, 'Suspended');
  await expectTrail(page, 'user.status', 1);
  await expectText(page, '#status-active', 'Activate');
  assert.equal(await page.locator('#status-suspended').count(), 0, 'cannot suspend twice');
  assert.equal(await page.locator('#status-locked').count(), 0, 'a suspended user cannot be locked');

  await page.click('#status-active');
  await eventually(async () => assert.equal(await page.locator(statusBadge).getAttribute('data-status'), 'active'));
  await expectText(page, statusBadge, 'Active');
  await expectTrail(page, 'user.status', 2);
  await page.locator('#status-suspended').waitFor({ state: 'visible' });
  assert.equal(await page.locator('[role="alert"]', { hasText: /\S/ }).count(), 0, 'no error shown');

  // A full load agrees.
  await openPage(page, `/users/${id}`);
  assert.equal(await page.locator(statusBadge).getAttribute('data-status'), 'active');
});

e2eTest('admin merges the GUID of a second user into the first: one person with both accounts', async ({ page }) => {
  await signInAs(page, 'admin', '/users');
  const first = newPerson();
  const second = newPerson();
  const a = await createUser(page, first);
  const b = await createUser(page, second);
  assert.notEqual(a.guid, b.guid, 'each new user gets its own GUID');

  // The second GUID as the admin would copy it from the second user's page.
  await openPage(page, `/users/${b.id}`);
  const absorbed = await textOf(page, '#guid-link');
  assert.equal(absorbed, b.guid);

  await openPage(page, `/users/${a.id}`);
  await page.click('#guid-link');
  await page.waitForURL(`${BASE_URL}/guids/${a.guid}`);
  await expectText(page, '#guid-id', a.guid);
  await eventually(async () => assert.deepEqual(await tableUserIds(page), [a.id]));
  assert.equal(await page.locator('#resolved-note').count(), 0);

  // Compare both sides; the names differ, so the admin picks which one the person keeps.
  await page.fill('#merge-absorbed', absorbed);
  await page.click('#compare');
  await page.locator('#merge-compare tr[data-field="display_name"][data-conflict="true"]').waitFor();
  await page.check('#keep-display_name-absorbed');
  await page.click('#merge');
  await eventually(async () => assert.deepEqual((await tableUserIds(page)).sort(), [a.id, b.id].sort()));
  await expectText(page, '#person-name', second.display_name);
  const tableText = await textOf(page, 'table#users-table');
  assert.ok(tableText.includes(first.email.toLowerCase()), `lists ${first.email}: ${tableText}`);
  assert.ok(tableText.includes(second.email.toLowerCase()), `lists ${second.email}: ${tableText}`);
  await expectText(page, '#guid-id', a.guid);
  assert.equal(await page.locator('[role="alert"]', { hasText: /\S/ }).count(), 0, 'no error shown');

  // The absorbed GUID now resolves to the survivor.
  await openPage(page, `/guids/${b.guid}`);
  await expectText(page, '#guid-id', a.guid);
  await expectTextContains(page, '#resolved-note', `${b.guid} was merged into this GUID.`);
  assert.deepEqual((await tableUserIds(page)).sort(), [a.id, b.id].sort());

  // And the second user's page links to the survivor.
  await openPage(page, `/users/${b.id}`);
  await expectText(page, '#guid-link', a.guid);
}, { timeout: 60_000 });

e2eTest('support reads users but cannot change them, and gets "Access denied" on /users/new', async ({ page, context }) => {
  // An admin makes the user first; then the same browser starts over signed out, as support.
  await signInAs(page, 'admin', '/users');
  const person = newPerson();
  const { id } = await createUser(page, person);
  await context.clearCookies();

  await signInAs(page, 'support', '/users');
  await expectText(page, '#role', USERS.support.role);
  await expectText(page, 'main h1', 'Users');
  assert.ok((await navLinks(page)).some((l) => l.text === 'Users' && l.href === '/users'), 'support has a "Users" nav link');

  await page.fill('#user-search', person.email.toLowerCase());
  const row = page.locator(`table#users-table tr[data-user="${id}"]`);
  await row.waitFor({ state: 'visible' });
  await row.locator('td a').first().click();
  await page.waitForURL(`${BASE_URL}/users/${id}`);
  await expectText(page, '#user-name', person.display_name);
  assert.equal((await profile(page)).Email, person.email.toLowerCase());

  // Same page after a full load: everything to read, nothing to change for an active user.
  await openPage(page, `/users/${id}`);
  await expectText(page, '#user-name', person.display_name);
  assert.equal(await page.locator(statusBadge).getAttribute('data-status'), 'active');
  await page.locator('#profile').waitFor({ state: 'visible' });
  await eventually(async () => assert.deepEqual(await tableUserIds(page), [id]));
  // Support sees only its own actions in the trail: not the admin's user.create.
  await expectText(page, '#trail-scope', '(your own actions on this user)');
  await page.getByText('No changes recorded yet.').waitFor();
  assert.equal((await auditRows(page)).length, 0);
  assert.equal(await page.locator('[id^="status-"]').count(), 0, 'no status buttons');
  assert.equal(await page.locator('#unlock').count(), 0, 'no "Unlock" for an active user');
  assert.equal(await page.locator('#edit-user, #save-user').count(), 0, 'no edit form');
  assert.equal(await page.locator('#relink-guid, #relink, #unlink').count(), 0, 'no link/unlink form');

  await page.click('#guid-link');
  await page.waitForURL(`${BASE_URL}/guids/*`);
  await page.locator('#guid-id').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#merge-absorbed, #merge').count(), 0, 'no merge form for support');

  const denied = await page.goto(`${BASE_URL}/users/new`);
  assert.equal(denied.status(), 403);
  assert.equal(pathOf(page), '/users/new');
  await expectText(page, '#page-title', 'Access denied');
  assert.equal(await page.locator('#new-user-form').count(), 0);
}, { timeout: 60_000 });
