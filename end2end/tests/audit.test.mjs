// The auditor's work in the browser: filter the log, export the view, verify the chain.
import fs from 'node:fs';
import {
  assert, auditRows, BASE_URL, e2eTest, eventually, expectText, realProblems, signIn, textOf, USERS, waitForHydration,
} from './helpers.mjs';

e2eTest('auditor filters the log to sign-ins, exports that view as NDJSON with hashes, and verifies the chain', async ({ page }) => {
  const response = await signIn(page, USERS.auditor.email, '/audit');
  assert.equal(response.status(), 200);
  await waitForHydration(page);
  await expectText(page, 'main h1', 'Audit log');

  await page.selectOption('#filter-action', 'auth.sign_in');
  await page.selectOption('#filter-outcome', 'success');
  await Promise.all([page.waitForURL(/\/audit\?.*action=auth\.sign_in/), page.click('#apply-filters')]);
  await waitForHydration(page);
  await page.locator('table#audit-table tbody tr[data-seq]').first().waitFor();
  const rows = await auditRows(page);
  assert.ok(rows.length > 0, 'at least this sign-in');
  assert.ok(rows.every((r) => r.action === 'auth.sign_in' && r.outcome === 'success'), JSON.stringify(rows));
  assert.equal(await page.locator('#filter-action').inputValue(), 'auth.sign_in', 'the filter stays selected');

  // The export is the same view, in chain order, each line with its hashes.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-ndjson')]);
  const lines = fs.readFileSync(await download.path(), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length >= rows.length, true, `${lines.length} lines for ${rows.length} rows`);
  assert.ok(lines.every((l) => l.action === 'auth.sign_in' && /^[0-9a-f]{64}$/.test(l.hash) && /^[0-9a-f]{64}$/.test(l.prev_hash)));
  const seqs = lines.map((l) => l.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'chain order');
  // The page followed the download: a progress job that ends with the number of events written.
  await page.locator('#export-job #job[data-state="done"]').waitFor({ timeout: 20_000 });
  assert.equal(await textOf(page, '#export-job #job-summary'), `${lines.length} events exported`);

  await page.click('#verify-audit');
  await page.locator('#verify-job #job[data-state="done"]').waitFor({ timeout: 20_000 });
  const summary = await textOf(page, '#verify-job #job-summary');
  // The browser suites' server has no signing key, and the summary says what that means.
  assert.match(
    summary,
    /^Verified \d+ events \(no signing or verify key is configured: checkpoints compared by hash only\): the chain is intact\.$/,
  );

  // The export and the verification are themselves in the log.
  await page.goto(`${BASE_URL}/audit?action=audit.*`);
  await waitForHydration(page);
  await eventually(async () => {
    const actions = (await auditRows(page)).map((r) => r.action);
    assert.ok(actions.includes('audit.export') && actions.includes('audit.verify'), actions.join(','));
  });
}, { timeout: 60_000 });

e2eTest('an auditor opens an event from the log: its summary, its chain links, a permalink, and copies its hash', async ({ page, context, problems }) => {
  const response = await signIn(page, USERS.auditor.email, '/audit?action=auth.sign_in');
  assert.equal(response.status(), 200);
  await waitForHydration(page);
  const first = page.locator('table#audit-table tbody tr[data-seq]').first();
  await first.waitFor();
  const seq = await first.getAttribute('data-seq');
  await Promise.all([page.waitForURL(`${BASE_URL}/audit/events/${seq}`), first.locator('td').first().locator('a').click()]);
  await expectText(page, 'main h1', `Event ${seq}: auth.sign_in`);
  assert.match(await textOf(page, '#event-summary'), /performed auth\.sign_in.*; it succeeded\.$/);
  // The section stays highlighted in the navigation on its detail pages.
  const section = page.locator('nav[aria-label="Main"] a', { hasText: 'Audit log' });
  assert.equal(await section.getAttribute('aria-current'), 'page');
  assert.equal(await page.locator('nav[aria-label="Main"] a[aria-current="page"]').count(), 1, 'one section only');
  assert.equal(await textOf(page, '#event-hash-check'), 'recomputes from its fields and the hash it links to.');
  assert.match(await textOf(page, '#event-hash'), /^[0-9a-f]{64}$/);
  assert.match(await textOf(page, '#event-previous'), new RegExp(`Previous event ${Number(seq) - 1}: .*The link holds\\.`));
  // The hash goes to the clipboard with one click (the button comes with hydration).
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE_URL });
  await waitForHydration(page);
  await page.click('#copy-event-hash');
  await expectText(page, '#copy-event-hash + [role="status"]', 'Copied');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), await textOf(page, '#event-hash'));
  assert.equal(await page.getAttribute('#copy-event-hash', 'aria-label'), 'Copy hash');
  // The permalink works on its own, without the list.
  await page.goto(`${BASE_URL}/audit/events/${seq}`);
  await expectText(page, 'main h1', `Event ${seq}: auth.sign_in`);
  assert.deepEqual(realProblems(problems), []);
});
