// Groups in the browser: an administrator creates a group, adds a person's account, sees the
// membership on the user's page, removes and adds it again; support then reads the group without
// a way to change it.
//
// Other test files run on the same database, so names and emails are unique per run.
import {
  assert, BASE_URL, e2eTest, expectText, expectTextContains, realProblems, signIn, USERS, waitForHydration,
} from './helpers.mjs';

const RUN = [...Date.now().toString(36)].reverse().join('');
let counter = 0;
const uniqueTag = () => `${(counter += 1)}${RUN}`;
const GROUP_PAGE = /^\/groups\/grp_[0-9a-f]{32}$/;

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

e2eTest('admin creates a group and manages its members; support reads it without a way to change it', async ({ page, context, problems }) => {
  const tag = uniqueTag();
  await signInAs(page, 'admin', '/users/new');
  const email = `group.member.${tag}@example.com`;
  await page.fill('#field-email', email);
  await page.fill('#field-display_name', `Gina Member ${tag}`);
  await page.fill('#field-source', 'hr-emea');
  await page.click('#create-user');
  await page.waitForURL((u) => /^\/users\/u_[0-9a-f]+$/.test(u.pathname));
  const userPath = new URL(page.url()).pathname;

  await openPage(page, '/groups');
  await page.fill('#group-name', `Night shift ${tag}`);
  await page.fill('#group-description', 'Keeps the lights on');
  await page.click('#create-group');
  await page.waitForURL((u) => GROUP_PAGE.test(u.pathname));
  await expectText(page, '#group-name', `Night shift ${tag}`);
  await expectText(page, '#members-empty', 'No members yet.');

  await page.fill('#add-member', email.toUpperCase());
  await page.click('#add-member-submit');
  await expectTextContains(page, '#members', `Gina Member ${tag}`);
  await expectTextContains(page, '#group-profile', 'Members1');

  await openPage(page, userPath);
  await expectTextContains(page, '#memberships', `Night shift ${tag}`);
  await page.click(`#memberships a:has-text("Night shift ${tag}")`);
  await page.waitForURL((u) => GROUP_PAGE.test(u.pathname));
  await waitForHydration(page);
  await page.click(`#members button[aria-label="Remove Gina Member ${tag} from the group"]`);
  await expectText(page, '#members-empty', 'No members yet.');

  await openPage(page, `/groups?q=${encodeURIComponent(`night shift ${tag}`)}`);
  await expectTextContains(page, '#groups-table', `Night shift ${tag}`);
  await page.click(`#groups-table a:has-text("Night shift ${tag}")`);
  await page.waitForURL((u) => GROUP_PAGE.test(u.pathname));
  await waitForHydration(page);
  await page.fill('#add-member', email);
  await page.click('#add-member-submit');
  await expectTextContains(page, '#members', `Gina Member ${tag}`);
  const groupPath = new URL(page.url()).pathname;
  assert.deepEqual(realProblems(problems), []);

  // Support reads the group and its members, with no way offered to change them.
  await context.clearCookies();
  await signInAs(page, 'support', groupPath);
  await expectTextContains(page, '#members', `Gina Member ${tag}`);
  for (const control of ['#add-member-form', '#delete-group', '#edit-group', '#members button']) {
    assert.equal(await page.locator(control).count(), 0, `support has no ${control}`);
  }
});
