// Management API credentials in the console: an administrator creates a service account and
// issues a token (shown once) that works with curl-like calls until it is revoked; a support agent
// creates a personal token limited to their role.
import {
  assert, BASE_URL, e2eTest, eventually, signIn, USERS, waitForHydration,
} from './helpers.mjs';

const api = (token, path, init = {}) => fetch(`${BASE_URL}${path}`, {
  ...init,
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers || {}) },
});

e2eTest('an admin creates a service account, issues a token shown once, uses it and revokes it', async ({ page }) => {
  const name = `HR sync ${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  await signIn(page, USERS.admin.email, '/service-accounts');
  await waitForHydration(page);
  await page.fill('#account-name', name);
  await page.fill('#account-owner', 'owner@example.com');
  await page.check('#account-scope-users-read');
  await page.check('#account-scope-audit-read');
  await page.click('#create-account');
  await page.waitForURL(/\/service-accounts\/sa_/);
  await page.locator('#tokens-empty').waitFor();

  await waitForHydration(page);
  await page.fill('#token-name', 'nightly job');
  await page.check('#token-scope-users-read');
  await page.click('#issue-token');
  const shown = page.locator('[data-testid="new-token"]');
  await shown.waitFor();
  const token = (await shown.textContent()).trim();
  assert.match(token, /^ght_/);

  const ok = await api(token, '/api/v1/users?limit=1');
  assert.equal(ok.status, 200);
  assert.ok(ok.headers.get('ratelimit'), 'rate-limit headers on every answer');
  const denied = await api(token, '/api/v1/audit/events');
  assert.equal(denied.status, 403, 'the token holds only the scope it was given');

  // The list shows the token's facts, never the secret.
  const row = page.locator('table#account-tokens tr[data-token]');
  await row.waitFor();
  assert.ok(!(await page.locator('table#account-tokens').textContent()).includes(token));
  const revoke = row.locator('button', { hasText: 'Revoke' });
  await revoke.click();
  await revoke.click();
  await row.locator('[data-status="Revoked"]').waitFor();
  await eventually(async () => {
    const res = await api(token, '/api/v1/users?limit=1');
    assert.equal(res.status, 401, 'a revoked token stops within a second');
  }, { timeout: 5_000 });
});

e2eTest('a support agent creates a personal token within their role from "My tokens"', async ({ page }) => {
  await signIn(page, USERS.support.email, '/my-tokens');
  await waitForHydration(page);
  assert.equal(await page.locator('#pat-scope-users-write').count(), 0, 'support cannot offer users:write');
  await page.fill('#pat-name', `laptop ${Date.now()}`);
  await page.fill('#pat-days', '7');
  await page.check('#pat-scope-users-read');
  await page.click('#create-token');
  const shown = page.locator('[data-testid="new-token"]');
  await shown.waitFor();
  const token = (await shown.textContent()).trim();
  const res = await api(token, '/api/v1/users?limit=1');
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.ok(Array.isArray(body.items));
  const create = await api(token, '/api/v1/users', { method: 'POST', body: JSON.stringify({ email: 'x@example.com' }) });
  assert.equal(create.status, 403);
  assert.equal(create.headers.get('content-type'), 'application/problem+json');
});

e2eTest('the API reference is linked from the console and renders without scripts', async ({ page }) => {
  await signIn(page, USERS.auditor.email, '/');
  const link = page.locator('#api-reference');
  assert.equal(await link.getAttribute('href'), '/api/v1/docs');
  const res = await page.goto(`${BASE_URL}/api/v1/docs`);
  assert.equal(res.status(), 200);
  await page.locator('h1', { hasText: 'Gatehouse management API' }).waitFor();
  assert.equal(await page.locator('script').count(), 0);
  assert.ok(await page.locator('#problem-precondition-failed').count() === 1);
});
