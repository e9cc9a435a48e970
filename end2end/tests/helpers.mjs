// Shared helpers for the Gatehouse browser tests (not a test file itself).
//
// Each test gets a fresh browser context (its own cookies and storage); one Chromium per test
// file process. On failure a screenshot goes to end2end/test-results/<test name>.png.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const strip = (u) => u.replace(/\/+$/, '');
export const BASE_URL = strip(process.env.E2E_BASE_URL || 'http://127.0.0.1:3100');
export const IDP_URL = strip(process.env.E2E_IDP_URL || 'http://127.0.0.1:4100');
export const PASSWORD = process.env.IDP_DEMO_PASSWORD || 'gatehouse-demo';

export const IDP_LOGIN_TITLE = 'Gatehouse Dev IdP \u2013 Sign in';
export const IDP_LOGOUT_TITLE = 'Gatehouse Dev IdP \u2013 Sign out';

export const USERS = {
  admin: { email: 'admin@example.com', name: 'Ada Admin', role: 'Administrator' },
  support: { email: 'support@example.com', name: 'Sam Support', role: 'Support' },
  auditor: { email: 'auditor@example.com', name: 'Alex Auditor', role: 'Auditor' },
  nobody: { email: 'nobody@example.com', name: 'Nora Nobody', role: null },
};

const RESULTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'test-results');

// ---------------------------------------------------------------- browser --

let browserPromise;
function getBrowser() {
  browserPromise ??= chromium.launch({
    executablePath: process.env.E2E_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return browserPromise;
}

after(async () => {
  if (browserPromise) await (await browserPromise).close();
});

// Records when the app's WebAssembly module has been instantiated. Leptos' hydration script calls
// `hydrate()` synchronously right after that (same promise chain), so by the next task the page
// is hydrated. Runs before any page script and is not subject to the page's CSP.
const WASM_PROBE = `(() => {
  const wrap = (name) => {
    const original = WebAssembly[name];
    if (typeof original !== 'function') return;
    WebAssembly[name] = function (...args) {
      return original.apply(this, args).then((result) => {
        window.__e2eWasmReady = (window.__e2eWasmReady || 0) + 1;
        return result;
      });
    };
  };
  wrap('instantiateStreaming');
  wrap('instantiate');
})();`;

const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 100);

/**
 * Declares a browser test: `fn({ page, context, problems, t })` runs in a fresh context.
 * `problems` collects console messages of type "error" and uncaught page errors.
 */
export function e2eTest(name, fn, { timeout = 45_000 } = {}) {
  test(name, { timeout }, async (t) => {
    const browser = await getBrowser();
    const context = await browser.newContext({ colorScheme: 'light', viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(10_000);
    context.setDefaultNavigationTimeout(15_000);
    await context.addInitScript(WASM_PROBE);
    const page = await context.newPage();
    const problems = watchProblems(page);
    try {
      await fn({ page, context, problems, t });
    } catch (err) {
      try {
        fs.mkdirSync(RESULTS_DIR, { recursive: true });
        const file = path.join(RESULTS_DIR, `${slug(name)}.png`);
        await page.screenshot({ path: file, fullPage: true, timeout: 5_000 });
        t.diagnostic(`screenshot: ${file}`);
        t.diagnostic(`page url: ${page.url()}`);
        const html = await page.content().catch(() => '');
        fs.writeFileSync(path.join(RESULTS_DIR, `${slug(name)}.html`), html);
        if (problems.length) t.diagnostic(`console problems: ${JSON.stringify(problems)}`);
      } catch (shotErr) {
        t.diagnostic(`could not save failure artefacts: ${shotErr.message}`);
      }
      throw err;
    } finally {
      await context.close();
    }
  });
}

function watchProblems(page) {
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location()?.url || '';
    problems.push({ kind: 'console', text: msg.text(), url: where, page: page.url() });
  });
  page.on('pageerror', (err) => problems.push({ kind: 'pageerror', text: String(err?.stack || err), page: page.url() }));
  return problems;
}

/** Console problems other than a missing favicon. */
export function realProblems(problems) {
  return problems.filter((p) => !(/favicon\.ico/.test(p.url || '') || /favicon\.ico/.test(p.text)));
}

// ------------------------------------------------------------- assertions --

/** Retries an async assertion until it passes or `timeout` ms have gone by. */
export async function eventually(check, { timeout = 10_000, interval = 100 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, interval));
    }
  }
}

const norm = (s) => (s ?? '').replace(/\s+/g, ' ').trim();

/** The normalised text of the first element matching `selector` (waits for it to be attached). */
export async function textOf(page, selector) {
  const loc = page.locator(selector).first();
  await loc.waitFor({ state: 'attached' });
  return norm(await loc.textContent());
}

export async function expectText(page, selector, expected, opts) {
  await eventually(async () => assert.equal(await textOf(page, selector), expected, `text of ${selector}`), opts);
}

export async function expectTextContains(page, selector, expected, opts) {
  await eventually(async () => {
    const text = await textOf(page, selector);
    assert.ok(text.includes(expected), `text of ${selector} should contain ${JSON.stringify(expected)}, got ${JSON.stringify(text)}`);
  }, opts);
}

export const pathOf = (page) => { const u = new URL(page.url()); return u.pathname + u.search; };
export const isGatehouse = (url) => String(url).startsWith(`${BASE_URL}/`);
export const isProvider = (url) => String(url).startsWith(`${IDP_URL}/`);

// ------------------------------------------------------------------- flows --

/** Asserts the provider's own sign-in form is showing. */
export async function expectProviderLogin(page) {
  await page.waitForURL((u) => isProvider(u));
  await page.locator('button#sign-in').waitFor({ state: 'visible' });
  assert.equal(await page.title(), IDP_LOGIN_TITLE);
  assert.equal(norm(await page.locator('button#sign-in').textContent()), 'Sign in');
}

/**
 * Resolves with the final (non-redirect) top-level document response from Gatehouse, for the
 * navigation that is started after this is called.
 */
export function nextGatehouseDocument(page, { timeout = 15_000 } = {}) {
  return page.waitForResponse((r) => {
    const s = r.status();
    return isGatehouse(r.url()) && r.request().isNavigationRequest()
      && r.frame() === page.mainFrame() && !(s >= 300 && s < 400);
  }, { timeout });
}

/** Fills and submits the provider form; returns the Gatehouse page response it ends on. */
export async function submitProviderLogin(page, email, password = PASSWORD) {
  await page.fill('#email', email);
  await page.fill('#password', password);
  const landed = nextGatehouseDocument(page);
  await page.click('button#sign-in');
  const response = await landed;
  await page.waitForLoadState('domcontentloaded');
  return response;
}

/**
 * Signed-out visit of `pathAndQuery` on Gatehouse, through the provider's real sign-in form.
 * Returns the response of the Gatehouse page the browser ends on.
 */
export async function signIn(page, email, pathAndQuery = '/') {
  await page.goto(`${BASE_URL}${pathAndQuery}`);
  await expectProviderLogin(page);
  return submitProviderLogin(page, email);
}

/** Waits until the app's wasm is instantiated and hydration has run. */
export async function waitForHydration(page) {
  await page.waitForFunction(() => window.__e2eWasmReady >= 1, null, { timeout: 15_000 });
  // hydrate() runs in the same promise chain; give it one more task to be sure it finished.
  await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
}

/** The main navigation's links, as [{ text, href }]. */
export function navLinks(page) {
  return page.locator('nav[aria-label="Main"] a').evaluateAll((as) => as.map((a) => ({
    text: a.textContent.replace(/\s+/g, ' ').trim(),
    href: a.getAttribute('href'),
  })));
}

/** The audit table's rows, newest first. */
export function auditRows(page) {
  return page.locator('table#audit-table tbody tr[data-seq]').evaluateAll((trs) => trs.map((tr) => {
    const cell = (i) => (tr.cells[i]?.textContent || '').replace(/\s+/g, ' ').trim();
    return {
      seq: Number(tr.dataset.seq),
      time: cell(1),
      actor: cell(2),
      action: cell(3),
      target: cell(4),
      outcome: cell(5),
      ip: cell(6),
    };
  }));
}

/** `2026-11-23 10:40:44 UTC` -> epoch ms. */
export function parseUtc(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) UTC$/.exec(text);
  assert.ok(m, `not a UTC time: ${JSON.stringify(text)}`);
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

export { assert };
