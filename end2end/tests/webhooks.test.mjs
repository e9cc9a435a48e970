// Signed webhooks, end to end: an administrator adds an endpoint in the console (a receiver this
// test runs), copies the signing secret shown once, and every user created afterwards reaches
// the receiver as JSON whose signature the Standard Webhooks reference library (npm
// `standardwebhooks`) verifies; the endpoint's page shows the delivery.
import http from 'node:http';
import { Webhook } from 'standardwebhooks';
import {
  assert, BASE_URL, e2eTest, eventually, expectText, realProblems, signIn, USERS, waitForHydration,
} from './helpers.mjs';

const RUN = [...Date.now().toString(36)].reverse().join('');

/** A receiver on a free port that keeps every request: headers and raw body. */
async function startReceiver() {
  const received = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/hook`, received, close: () => server.close() };
}

e2eTest('an admin adds a webhook endpoint; events reach it signed per Standard Webhooks', async ({ page, problems }) => {
  const receiver = await startReceiver();
  try {
    await signIn(page, USERS.admin.email, '/webhooks');
    await waitForHydration(page);
    await page.fill('#webhook-url', receiver.url);
    await page.fill('#webhook-description', `E2E ${RUN}`);
    await page.check('input[name="input[events][]"][value="user"]');
    await page.click('#create-webhook');
    const secret = (await page.locator('[data-testid="webhook-secret"]').textContent()).trim();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    await page.click('#webhook-created a');
    await page.waitForURL((u) => /^\/webhooks\/wh_[0-9a-f]+$/.test(u.pathname));
    const endpointPath = new URL(page.url()).pathname;
    assert.ok(!(await page.content()).includes(secret), 'the secret is never shown again');

    const email = `hook.${RUN}@example.com`;
    await page.goto(`${BASE_URL}/users/new`);
    await waitForHydration(page);
    await page.fill('#field-email', email);
    await page.fill('#field-display_name', `Hook ${RUN}`);
    await page.fill('#field-source', 'hr-emea');
    await page.click('#create-user');
    await page.waitForURL((u) => /^\/users\/u_[0-9a-f]+$/.test(u.pathname));

    const delivery = await eventually(() => {
      const found = receiver.received.find((r) => r.body.includes(email));
      assert.ok(found, `the user's creation reached the receiver (${receiver.received.length} requests so far)`);
      return found;
    });
    // The convention's reference library checks the signature and the timestamp.
    const event = new Webhook(secret).verify(delivery.body, delivery.headers);
    assert.equal(event.type, 'user.create');
    assert.equal(event.data.details.after.email, email);
    assert.match(delivery.headers['webhook-id'], /^msg_\d+$/);
    assert.throws(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(delivery.body, delivery.headers),
      'another secret does not verify');

    await page.goto(`${BASE_URL}${endpointPath}`);
    await waitForHydration(page);
    await eventually(async () => {
      await page.reload();
      await expectText(page, '#webhook-pending', '0');
      assert.notEqual((await page.locator('#webhook-last-success').textContent()).trim(), 'Never');
    });
    await expectText(page, '#webhook-events', 'user');
    assert.deepEqual(realProblems(problems), []);
  } finally {
    receiver.close();
  }
});
