// The console hydrates: client-side behaviour (theme toggle) and client-side navigation work
// without reloading the page, and nothing is logged as an error.
import {
  assert, auditRows, BASE_URL, e2eTest, eventually, expectText, pathOf, realProblems, signIn, USERS, waitForHydration,
} from './helpers.mjs';

const themeState = (page) => page.evaluate(() => {
  const button = document.querySelector('#theme-toggle');
  return {
    dark: document.documentElement.classList.contains('dark'),
    pressed: button?.getAttribute('aria-pressed'),
    label: button?.textContent.trim(),
    stored: localStorage.getItem('theme'),
    marker: window.__marker,
  };
});

e2eTest('after hydration the theme toggle and the navigation work without reloading', async ({ page, problems }) => {
  const response = await signIn(page, USERS.admin.email);
  assert.equal(response.status(), 200);
  await expectText(page, 'main h1', 'Dashboard');
  await waitForHydration(page);
  await page.evaluate(() => { window.__marker = 42; });

  const before = await themeState(page);
  assert.deepEqual({ dark: before.dark, pressed: before.pressed, label: before.label },
    { dark: false, pressed: 'false', label: 'Dark mode' }, 'starts in light mode');

  await page.click('#theme-toggle');
  await eventually(async () => assert.deepEqual(await themeState(page),
    { dark: true, pressed: 'true', label: 'Light mode', stored: 'dark', marker: 42 }));

  await page.click('#theme-toggle');
  await eventually(async () => assert.deepEqual(await themeState(page),
    { dark: false, pressed: 'false', label: 'Dark mode', stored: 'light', marker: 42 }));

  await page.locator('nav[aria-label="Main"] a', { hasText: 'Audit log' }).click();
  await page.waitForURL(`${BASE_URL}/audit`);
  assert.equal(pathOf(page), '/audit');
  await expectText(page, 'main h1', 'Audit log');
  await page.locator('table#audit-table tbody tr[data-seq]').first().waitFor();
  assert.ok((await auditRows(page)).some((r) => r.action === 'auth.sign_in'), 'audit rows loaded on the client');
  assert.equal(await page.evaluate(() => window.__marker), 42, 'no full page load when following the nav link');

  // Back to the dashboard, still on the client.
  await page.locator('nav[aria-label="Main"] a', { hasText: 'Dashboard' }).click();
  await page.waitForURL(`${BASE_URL}/`);
  await expectText(page, 'main h1', 'Dashboard');
  assert.equal(await page.evaluate(() => window.__marker), 42, 'no full page load going back to the dashboard');

  assert.deepEqual(realProblems(problems), [], 'no console errors or uncaught exceptions');
});
