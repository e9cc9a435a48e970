// Shared Signals, end to end: an administrator registers a receiver in the console and copies
// its token (shown once); the receiver (the project's joserfc-based SSF peer) creates its stream
// with that token; suspending a person in the console reaches the receiver as an
// `account-disabled` Security Event Token the peer verified; the receiver's page shows the
// stream enabled and the accepted push.
import {
  assert, BASE_URL, e2eTest, eventually, expectText, expectTextContains, realProblems, signIn, USERS, waitForHydration,
} from './helpers.mjs';

const RUN = [...Date.now().toString(36)].reverse().join('');
const PEER = process.env.E2E_SSF_PEER || 'http://127.0.0.1:4195';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';

async function json(res) {
  const text = await res.text();
  assert.ok(res.ok, `${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

e2eTest('an admin registers a Shared Signals receiver; a suspension reaches it as a verified SET', async ({ page, problems }) => {
  const audience = `https://receiver-${RUN}.example`;
  await signIn(page, USERS.admin.email, '/signals');
  await waitForHydration(page);
  await page.fill('#receiver-name', `E2E receiver ${RUN}`);
  await page.fill('#receiver-audience', audience);
  await page.click('#create-receiver');
  const token = (await page.locator('[data-testid="receiver-token"]').textContent()).trim();
  assert.match(token, /^ghr_[A-Za-z0-9]+$/);
  await page.click('#receiver-created a');
  await page.waitForURL((u) => /^\/signals\/ssf_[0-9a-f]+$/.test(u.pathname));
  const receiverPath = new URL(page.url()).pathname;
  await expectText(page, '#receiver-status', 'Waiting for the receiver');
  assert.ok(!(await page.content()).includes(token), 'the token is never shown again');

  // The receiver sets itself up with the peer and creates its stream with the token.
  const name = `e2e-${RUN}`;
  const { endpoint_url: push } = await json(await fetch(`${PEER}/receivers/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ issuer: BASE_URL, audience }),
  }));
  const stream = await json(await fetch(`${BASE_URL}/ssf/streams`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: push },
      events_requested: [`${RISC}account-disabled`],
    }),
  }));
  assert.deepEqual(stream.events_delivered, [`${RISC}account-disabled`]);

  // An administrator suspends a person in the console.
  const email = `signal.${RUN}@example.com`;
  await page.goto(`${BASE_URL}/users/new`);
  await waitForHydration(page);
  await page.fill('#field-email', email);
  await page.fill('#field-display_name', `Signal ${RUN}`);
  await page.fill('#field-source', 'hr-emea');
  await page.click('#create-user');
  await page.waitForURL((u) => /^\/users\/u_[0-9a-f]+$/.test(u.pathname));
  await waitForHydration(page);
  await page.click('#status-suspended');
  await expectTextContains(page, '#user-name + [data-status]', 'Suspended');

  const set = await eventually(async () => {
    const got = await json(await fetch(`${PEER}/receivers/${name}`));
    assert.equal(got.accepted.length, 1, `the peer accepted the token (${JSON.stringify(got)})`);
    return got.accepted[0];
  });
  assert.equal(set.header.typ, 'secevent+jwt');
  assert.equal(set.claims.iss, BASE_URL);
  assert.equal(set.claims.aud, audience);
  assert.deepEqual(set.claims.sub_id, { format: 'email', email });
  assert.ok(set.claims.events[`${RISC}account-disabled`], JSON.stringify(set.claims));

  await page.goto(`${BASE_URL}${receiverPath}`);
  await waitForHydration(page);
  await expectText(page, '#receiver-status', 'Enabled');
  await eventually(async () => {
    await page.reload();
    await expectText(page, '#receiver-pending', '0');
    assert.notEqual((await page.locator('#receiver-last-success').textContent()).trim(), 'Never');
  });
  assert.deepEqual(realProblems(problems), []);
});
