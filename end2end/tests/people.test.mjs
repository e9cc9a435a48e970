// CSV import and bulk actions in the browser, as an administrator does them.
import {
  assert, BASE_URL, e2eTest, eventually, expectText, signIn, textOf, USERS, waitForHydration,
} from './helpers.mjs';

const RUN = [...Date.now().toString(36)].reverse().join('');
let counter = 0;
const uniqueTag = () => `${(counter += 1)}${RUN}`;

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

/** Uploads `csv` on the import page; ends on the job page once the job has finished. */
async function uploadCsv(page, csv) {
  await openPage(page, '/users/import');
  await page.setInputFiles('#import-file', { name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await Promise.all([page.waitForURL(/\/users\/jobs\/j_[0-9a-f]+$/), page.click('#import-submit')]);
  await page.locator('#job[data-state="done"], #job[data-state="rejected"], #job[data-state="failed"]').waitFor({ timeout: 30_000 });
  return page.locator('#job').getAttribute('data-state');
}

e2eTest('admin imports a CSV: problems listed by line first, then the fixed file imports with a report', async ({ page }) => {
  await signInAs(page, 'admin', '/users');
  await page.click('#import-users');
  await page.waitForURL(`${BASE_URL}/users/import`);
  await expectText(page, 'main h1', 'Import users from CSV');

  const tag = uniqueTag();
  const good = `imp.${tag}@example.com`;
  const bad = `email,display_name,source,phone\n${good},Imported ${tag},hr-emea,+41791234567\nnot-an-email,Broken,hr-emea,\nx.${tag}@example.com,Bad Phone,hr-emea,0791234567\n`;
  assert.equal(await uploadCsv(page, bad), 'rejected');
  await expectText(page, '#job-state', 'Nothing was changed');
  const lines = await page.locator('#job-problems tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.line));
  assert.deepEqual(lines, ['3', '4'], 'each bad line by its number');
  const problems = await textOf(page, '#job-problems');
  assert.ok(problems.includes('Email must contain @') && problems.includes('Phone must be in international form'), problems);

  // Nothing from that file exists.
  await openPage(page, `/users?q=${encodeURIComponent(good)}`);
  await page.locator('#users-empty').waitFor();

  const fixed = `email,display_name,source,phone\n${good},Imported ${tag},hr-emea,+41791234567\nsecond.${tag}@example.com,Second ${tag},hr-emea,\n`;
  assert.equal(await uploadCsv(page, fixed), 'done');
  await expectText(page, '#job-summary', 'Imported 2 lines: 2 created, 0 updated, 0 unchanged.');
  await expectText(page, '#job-count', '2 / 2');
  assert.equal(await page.locator('#job progress').getAttribute('value'), '100');

  await openPage(page, `/users?q=${encodeURIComponent(good)}`);
  await page.locator('table#users-table tbody tr[data-user]').first().waitFor();
  assert.ok((await textOf(page, 'table#users-table')).includes(`Imported ${tag}`));
}, { timeout: 90_000 });

e2eTest('admin selects two users and suspends them in bulk; the list shows it without a reload', async ({ page }) => {
  await signInAs(page, 'admin', '/users');
  const tag = uniqueTag();
  const csv = `email,display_name,source\nbulk.a.${tag}@example.com,Bulkfolk ${tag} A,hr-emea\nbulk.b.${tag}@example.com,Bulkfolk ${tag} B,hr-emea\nbulk.c.${tag}@example.com,Bulkfolk ${tag} C,hr-emea\n`;
  assert.equal(await uploadCsv(page, csv), 'done');

  await openPage(page, `/users?q=bulk.a.${tag}`);
  await page.locator('table#users-table tbody tr[data-user]').first().waitFor();
  await openPage(page, `/users?q=Bulkfolk%20${tag}`);
  const rows = page.locator('table#users-table tbody tr[data-user]');
  await eventually(async () => assert.equal(await rows.count(), 3));
  await rows.nth(0).locator('input.select-user').check();
  await rows.nth(1).locator('input.select-user').check();
  await expectText(page, '#selected-count', '2 selected');
  await page.selectOption('#bulk-action', 'suspend');
  await page.click('#bulk-apply');
  await page.locator('#bulk-job #job[data-state="done"]').waitFor({ timeout: 20_000 });
  await expectText(page, '#bulk-job #job-summary', 'Suspended 2 users; 0 skipped.');
  await eventually(async () => {
    const statuses = await rows.locator('[data-status]').evaluateAll((b) => b.map((x) => x.dataset.status));
    assert.deepEqual(statuses, ['suspended', 'suspended', 'active']);
  });
  await expectText(page, '#selected-count', '0 selected');
}, { timeout: 90_000 });

e2eTest('a bulk action on every user matching a search shows the count first and acts only after the confirmation', async ({ page }) => {
  await signInAs(page, 'admin', '/users');
  const tag = uniqueTag();
  const csv = `email,display_name,source\nscope.a.${tag}@example.com,Scopefolk ${tag} A,hr-emea\nscope.b.${tag}@example.com,Scopefolk ${tag} B,hr-emea\nscope.c.${tag}@example.com,Scopefolk ${tag} C,hr-emea\n`;
  assert.equal(await uploadCsv(page, csv), 'done');

  await openPage(page, `/users?q=Scopefolk%20${tag}`);
  const rows = page.locator('table#users-table tbody tr[data-user]');
  await eventually(async () => assert.equal(await rows.count(), 3));
  await page.selectOption('#bulk-scope', 'filter');
  await page.selectOption('#bulk-action', 'suspend');
  await page.click('#bulk-apply');
  // The first click only counts: the number is shown, nothing has changed yet.
  await page.locator('#bulk-confirm[data-count="3"]').waitFor();
  assert.ok((await textOf(page, '#bulk-confirm')).includes('This changes the 3 users matching'));
  await expectText(page, '#bulk-apply', 'Confirm: apply to 3 users');
  assert.equal(await page.locator('#bulk-job').count(), 0, 'no job before the confirmation');
  const before = await rows.locator('[data-status]').evaluateAll((b) => b.map((x) => x.dataset.status));
  assert.deepEqual(before, ['active', 'active', 'active']);

  await page.click('#bulk-apply');
  await page.locator('#bulk-job #job[data-state="done"]').waitFor({ timeout: 20_000 });
  await expectText(page, '#bulk-job #job-summary', 'Suspended 3 users; 0 skipped.');
  await eventually(async () => {
    const statuses = await rows.locator('[data-status]').evaluateAll((b) => b.map((x) => x.dataset.status));
    assert.deepEqual(statuses, ['suspended', 'suspended', 'suspended']);
  });
}, { timeout: 90_000 });
