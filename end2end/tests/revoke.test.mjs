// "Revoke everywhere", end to end (issue 16's "done means"): a person has an account in an
// application that provisions to the real SCIM server and is heard of by a Shared Signals receiver
// (the project's joserfc-based peer). An administrator revokes the person everywhere on the
// person's page, watches the progress page until every target is confirmed, and the peer holds a
// verified `session-revoked` (and `account-disabled`) while the application's account is
// deactivated.
import {
  assert, BASE_URL, e2eTest, eventually, expectText, expectTextContains, realProblems, signIn, USERS, waitForHydration,
} from './helpers.mjs';

const RUN = [...Date.now().toString(36)].reverse().join('');
const PEER = process.env.E2E_SSF_PEER || 'http://127.0.0.1:4195';
const SCIM_URL = (process.env.E2E_SCIM_URL || 'http://127.0.0.1:4180').replace(/\/+$/, '');
const SCIM_TOKEN = 'gatehouse-test-scim';
const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';

async function json(res) {
  const text = await res.text();
  assert.ok(res.ok, `${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function remoteAccount(base, guid) {
  const filter = encodeURIComponent(`externalId eq "${guid}"`);
  const res = await fetch(`${base}/Users?filter=${filter}`, { headers: { Authorization: `Bearer ${SCIM_TOKEN}` } });
  assert.equal(res.status, 200);
  return ((await res.json()).Resources || [])[0] || null;
}

async function open(page, path) {
  const response = await page.goto(`${BASE_URL}${path}`);
  assert.equal(response.status(), 200, `GET ${path}`);
  await waitForHydration(page);
}

e2eTest('an admin revokes a person everywhere and watches every target turn confirmed', async ({ page, problems }) => {
  const email = `revoked.${RUN}@example.com`;
  await signIn(page, USERS.admin.email, '/users/new');
  await waitForHydration(page);
  await page.fill('#field-email', email);
  await page.fill('#field-display_name', `Revoked ${RUN}`);
  await page.fill('#field-source', 'hr-emea');
  await page.click('#create-user');
  await page.waitForURL((u) => /^\/users\/u_[0-9a-f]+$/.test(u.pathname));
  const guid = (await page.locator('#guid-link').textContent()).trim();

  // An application provisioning to the SCIM server, with the person assigned.
  await open(page, '/apps/new');
  await page.fill('#field-name', `Payroll ${RUN}`);
  await page.fill('#field-owner', email);
  await page.selectOption('#field-kind', 'web');
  await page.fill('#field-redirect_uris', 'https://payroll.example.com/callback');
  await page.fill('#field-scopes', 'payroll:read');
  await page.click('#create-app');
  await page.click('#app-link');
  await page.waitForURL((u) => /^\/apps\/app_[0-9a-f]+$/.test(u.pathname));
  await waitForHydration(page);
  const base = `${SCIM_URL}/payroll${RUN}`;
  await page.fill('#target-url', base);
  await page.fill('#target-token', SCIM_TOKEN);
  await page.click('#provisioning-save');
  await page.fill('#assign-person', email);
  await page.click('#assign');
  await eventually(async () => assert.equal((await remoteAccount(base, guid))?.active, true, 'the account is made'));

  // A receiver registered in the console, its stream made by the peer with the token.
  const audience = `https://revoke-receiver-${RUN}.example`;
  await open(page, '/signals');
  await page.fill('#receiver-name', `Revoke receiver ${RUN}`);
  await page.fill('#receiver-audience', audience);
  await page.click('#create-receiver');
  const token = (await page.locator('[data-testid="receiver-token"]').textContent()).trim();
  const name = `revoke-${RUN}`;
  const { endpoint_url: push } = await json(await fetch(`${PEER}/receivers/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ issuer: BASE_URL, audience }),
  }));
  await json(await fetch(`${BASE_URL}/ssf/streams`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: push },
      events_requested: [`${CAEP}session-revoked`, `${RISC}account-disabled`],
    }),
  }));

  // Revoke everywhere on the person's page: the button arms, then acts.
  await open(page, `/guids/${guid}`);
  await expectTextContains(page, '#revoke-counts [data-count="applications"]', '1 application');
  await page.fill('#revoke-reason', 'Laptop stolen');
  await page.fill('#revoke-ticket', `SEC-${RUN}`);
  await page.click('#revoke-everywhere');
  await expectText(page, '#revoke-everywhere', 'Confirm: revoke this person everywhere');
  await page.click('#revoke-everywhere');
  await page.waitForURL((u) => new RegExp(`^/guids/${guid}/revocations/rev_[0-9a-f]+$`).test(u.pathname), { timeout: 15_000 });
  await waitForHydration(page);

  // The page refreshes itself until every target has finished: all confirmed, none failed.
  await eventually(async () => {
    assert.equal(await page.locator('#revocation').getAttribute('data-settled'), 'true', await page.locator('#revocation-summary').textContent());
  }, { timeout: 30_000, interval: 250 });
  const rows = page.locator('#revocation-targets tbody tr');
  assert.ok((await rows.count()) > 0, 'the progress lists targets');
  const outbound = page.locator('#revocation-targets tr[data-kind="application"], #revocation-targets tr[data-kind="receiver"]');
  assert.equal(await outbound.count(), 2, 'one application and one receiver');
  for (const state of await outbound.evaluateAll((trs) => trs.map((tr) => tr.dataset.state))) {
    assert.equal(state, 'confirmed');
  }
  assert.equal(await page.locator('#revocation-targets tr[data-kind="account"]').getAttribute('data-state'), 'done');
  await expectTextContains(page, '#revocation-settled', 'every target has finished');

  // What the others now know: the account is off in the application, the receiver holds
  // verified tokens (the peer checked signature, iss, aud and type before accepting).
  assert.equal((await remoteAccount(base, guid))?.active, false, 'deactivated in the application');
  const got = await json(await fetch(`${PEER}/receivers/${name}`));
  const events = got.accepted.map((set) => Object.keys(set.claims.events)[0]);
  assert.ok(events.includes(`${CAEP}session-revoked`), JSON.stringify(events));
  assert.ok(events.includes(`${RISC}account-disabled`), JSON.stringify(events));
  const revoked = got.accepted.find((set) => set.claims.events[`${CAEP}session-revoked`]);
  assert.equal(revoked.header.typ, 'secevent+jwt');
  assert.equal(revoked.claims.iss, BASE_URL);
  assert.equal(revoked.claims.aud, audience);
  assert.deepEqual(revoked.claims.sub_id, { format: 'email', email });
  assert.deepEqual(realProblems(problems), []);
}, { timeout: 90_000 });
