// Shared Signals, end to end: an administrator registers a receiver in the console and copies
// its token (shown once); the receiver (the project's joserfc-based SSF peer) creates its stream
// with that token; suspending a person in the console reaches the receiver as an
// `account-disabled` Security Event Token the peer verified; the receiver's page shows the
// stream enabled and the accepted push.
//
// The other way round, Gatehouse as receiver: a transmitter registered through the console (the
// peer) and the dev identity provider (registered by scripts/test.sh, as by `make run`) push
// `session-established` events that become a user's last sign-in.
import {
  assert, BASE_URL, e2eTest, eventually, expectText, expectTextContains, IDP_URL, parseUtc, realProblems, signIn, textOf,
  USERS, waitForHydration,
} from './helpers.mjs';

const RUN = [...Date.now().toString(36)].reverse().join('');
const PEER = process.env.E2E_SSF_PEER || 'http://127.0.0.1:4195';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
const SESSION_ESTABLISHED = 'https://schemas.openid.net/secevent/caep/event-type/session-established';

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

/** Creates a Gatehouse user through /users/new (signed in as an admin); returns its id. */
async function createUser(page, email, name) {
  await page.goto(`${BASE_URL}/users/new`);
  await waitForHydration(page);
  await page.fill('#field-email', email);
  await page.fill('#field-display_name', name);
  await page.fill('#field-source', 'hr-emea');
  await page.click('#create-user');
  await page.waitForURL((u) => /^\/users\/u_[0-9a-f]+$/.test(u.pathname));
  return new URL(page.url()).pathname.split('/').pop();
}

/** The "Last sign-in" of the user page that is open. */
function lastSignIn(page) {
  return textOf(page, '#profile > div:has(dt:text-is("Last sign-in")) > dd');
}

/** Waits until the user's page (reloaded) shows a last sign-in; returns it as epoch ms. */
async function awaitLastSignIn(page, userId) {
  await page.goto(`${BASE_URL}/users/${userId}`);
  await waitForHydration(page);
  const text = await eventually(async () => {
    const shown = await lastSignIn(page);
    if (shown === 'never') {
      await page.reload();
      await waitForHydration(page);
    }
    assert.notEqual(shown, 'never', 'the user has a last sign-in');
    return shown;
  });
  return parseUtc(text);
}

/** The row of the transmitter page's recent events about `userId` of that event (short name). */
function eventRow(page, event, userId) {
  return page.locator(`table#transmitter-events tbody tr[data-event="${event}"]`, {
    has: page.locator(`a[href="/users/${userId}"]`),
  });
}

e2eTest('an admin registers a transmitter; its session-established event becomes the user\'s last sign-in', async ({ page, problems }) => {
  // The transmitter: a tenant of the SSF peer, with a key of its own and its own discovery.
  const name = `e2e-tx-${RUN}`;
  const { issuer } = await json(await fetch(`${PEER}/transmitters/${name}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}',
  }));
  await signIn(page, USERS.admin.email, '/signals');
  await waitForHydration(page);
  await expectText(page, '#transmitters-h', 'Transmitters (Gatehouse receives)');
  await page.fill('#transmitter-name', `E2E transmitter ${RUN}`);
  await page.fill('#transmitter-issuer', issuer);
  // JWKS URL and audience left empty: found through the issuer, Gatehouse's own URL.
  await page.click('#create-transmitter');
  await expectTextContains(page, '#transmitter-created', `Registered E2E transmitter ${RUN} with `);
  await page.click('#transmitter-created a');
  await page.waitForURL((u) => /^\/signals\/transmitters\/[^/]+$/.test(u.pathname));
  const transmitterPath = new URL(page.url()).pathname;
  await expectText(page, '#transmitter-name-title', `E2E transmitter ${RUN}`);
  assert.equal(await page.getAttribute('#transmitter-status', 'data-status'), 'active');
  await expectText(page, '#transmitter-issuer-value', issuer);
  const audience = await textOf(page, '#transmitter-audience-value');
  assert.equal(audience.replace(/\/$/, ''), BASE_URL, 'the audience is Gatehouse\'s public URL by default');
  await page.locator('#transmitter-events-empty').waitFor();
  const push = await textOf(page, '#transmitter-push-url');
  assert.ok(push.startsWith(`${BASE_URL}/`), `the push URL is Gatehouse's: ${push}`);

  const email = `signed.in.${RUN}@example.com`;
  const userId = await createUser(page, email, `Signed In ${RUN}`);
  assert.equal(await lastSignIn(page), 'never');

  // The transmitter pushes a sign-in of that user, then a token signed by a key it never published.
  const sent = Date.now();
  const send = (extra = {}) => fetch(`${PEER}/transmitters/${name}/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      endpoint_url: push,
      claims: {
        aud: audience,
        sub_id: { format: 'email', email },
        events: { [SESSION_ESTABLISHED]: { event_timestamp: Math.floor(sent / 1000), amr: ['pwd'] } },
      },
      ...extra,
    }),
  }).then(json);
  const accepted = await send();
  assert.equal(accepted.status, 202, `Gatehouse accepted the token: ${JSON.stringify(accepted)}`);
  const forged = await send({ forge: 'wrong_key' });
  assert.ok(forged.status >= 400 && forged.status < 500, `a token signed by an unpublished key is refused: ${JSON.stringify(forged)}`);

  const at = await awaitLastSignIn(page, userId);
  assert.ok(Math.abs(at - sent) < 120_000, `the last sign-in is the pushed one: ${new Date(at).toISOString()}`);

  await page.goto(`${BASE_URL}${transmitterPath}`);
  await waitForHydration(page);
  const row = eventRow(page, 'session-established', userId).first();
  await row.waitFor();
  assert.equal(await row.locator('[data-result]').getAttribute('data-result'), 'applied');
  assert.equal(await row.locator('span[title]').getAttribute('title'), SESSION_ESTABLISHED, 'the full event type is in the title');
  assert.ok(Number(await textOf(page, '#transmitter-received')) >= 1, 'the accepted token is counted');
  await expectText(page, '#transmitter-rejected', '1');
  assert.notEqual(await textOf(page, '#transmitter-last-error'), 'None', 'the refusal is the last error');

  // Fetch keys now, disable, and remove it (asked once more before removing).
  await page.click('#transmitter-refresh');
  await expectText(page, '#transmitter-notice', 'Keys fetched: 1 key.');
  await page.click('#transmitter-toggle');
  await expectText(page, '#transmitter-status', 'Disabled');
  await expectText(page, '#transmitter-notice', 'Transmitter disabled.');
  const remove = page.locator('#delete-transmitter');
  await remove.click();
  await expectText(page, '#delete-transmitter', 'Confirm: remove this transmitter');
  await remove.click();
  await page.waitForURL(`${BASE_URL}/signals`);
  await page.locator('#transmitters-table, #transmitters-empty').first().waitFor();
  const id = transmitterPath.split('/').pop();
  assert.equal(await page.locator(`#transmitters-table tr[data-transmitter="${id}"]`).count(), 0, 'the transmitter is gone');
  assert.deepEqual(realProblems(problems), []);
});

e2eTest('a staff sign-in at the dev identity provider reaches Gatehouse: the user\'s last sign-in, an applied session-established', async ({ page, context, problems }) => {
  // A staff member of this test only at the provider (support in Gatehouse) ...
  const email = `staff.${RUN}@example.com`;
  const made = await fetch(`${IDP_URL}/__test/account`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, groups: ['helpdesk'], name: `Staff ${RUN}` }),
  });
  assert.ok(made.ok, `the dev provider must run with IDP_TEST_HOOKS=1 (answered ${made.status})`);
  // ... who is also a user in Gatehouse, made by an administrator.
  await signIn(page, USERS.admin.email, '/signals');
  await waitForHydration(page);
  const devIdp = page.locator(`#transmitters-table tr[data-issuer="${IDP_URL}"]`);
  assert.equal(await devIdp.count(), 1, `the dev provider (${IDP_URL}) is a registered transmitter (scripts/test.sh registers it)`);
  const transmitterPath = await devIdp.locator('a').getAttribute('href');
  const userId = await createUser(page, email, `Staff ${RUN}`);
  assert.equal(await lastSignIn(page), 'never');

  // The staff member signs in, in a browser of their own.
  const signedIn = Date.now();
  const other = await context.browser().newContext();
  try {
    const staffPage = await other.newPage();
    const landed = await signIn(staffPage, email);
    assert.equal(landed.status(), 200);
  } finally {
    await other.close();
  }

  // The provider pushed a session-established about them: their last sign-in is now.
  const at = await awaitLastSignIn(page, userId);
  assert.ok(at >= signedIn - 5_000 && at <= Date.now() + 5_000,
    `the last sign-in is the one just now: ${new Date(at).toISOString()}, signed in at ${new Date(signedIn).toISOString()}`);

  await page.goto(`${BASE_URL}${transmitterPath}`);
  await waitForHydration(page);
  await expectText(page, '#transmitter-issuer-value', IDP_URL);
  const row = eventRow(page, 'session-established', userId).first();
  await row.waitFor();
  assert.equal(await row.locator('[data-result]').getAttribute('data-result'), 'applied');
  assert.deepEqual(realProblems(problems), []);
});
