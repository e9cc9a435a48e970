// The scale-out test (issue 17, several instances), run by scripts/test.sh on PostgreSQL: two
// Gatehouse instances on one database behind HAProxy (tests/scale/haproxy.cfg.in) and the dev
// identity provider. A person signed in through one instance works through the other; a key
// revoked through one is refused by the other within a second; each background task runs on
// one instance only; and a rolling restart of both instances under a steady load of console
// pages and key verifications fails no request. The tests run in order and share what they make.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, test } from 'node:test';

import {
  BALANCER, config, direct, instanceId, METRICS_TOKEN, NAMES, roll, sleep, startBalancer, startInstance,
  stopAll, waitFor,
} from './cluster.mjs';
import { api, Jar, page, signIn, steadyLoad, taskRuns, verify } from './http.mjs';

/** A service account's token holding every scope (scripts/test.sh makes it). */
const TOKEN = process.env.SCALE_TOKEN;
const ADMIN = { email: 'admin@example.com', name: 'Ada Admin' };
/** The tasks that run once across instances, each under its lease (service::leases). */
const SINGLETONS = ['audit_checkpoint', 'audit_retention', 'planner_statistics', 'reconciliation',
  'session_cleanup', 'user_purge'];
/** Those that run every second or so here (GATEHOUSE_AUDIT_CHECKPOINT_SECS=1, outbox poll 50 ms). */
const FREQUENT = ['audit_checkpoint', 'reconciliation'];
const IDS = NAMES.map(instanceId);

const jar = new Jar();
const shared = {};

before(async () => {
  assert.ok(TOKEN, 'SCALE_TOKEN is set');
  fs.mkdirSync(config.dir, { recursive: true });
  await Promise.all(NAMES.map(startInstance));
  await startBalancer();
}, { timeout: 120_000 });

after(async () => {
  await stopAll();
});

async function background(base = BALANCER) {
  const r = await api(base, TOKEN, 'GET', '/api/v1/system/background');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

const byTask = (work) => Object.fromEntries(work.tasks.map((t) => [t.task, t]));

/** Every singleton task is held, by one of the running instances. */
function assertEachTaskHeld(work, starts) {
  const tasks = byTask(work);
  for (const name of SINGLETONS) {
    const t = tasks[name];
    assert.ok(t, `${name} has a lease: ${JSON.stringify(work.tasks)}`);
    assert.ok(t.held && IDS.includes(t.holder), `${name} is held by one instance: ${JSON.stringify(t)}`);
    if (starts) assert.ok(starts.includes(t.holder_started_at), `${name} is held by a running process: ${JSON.stringify(t)}`);
  }
  return tasks;
}

test('a person signed in through one instance works through the other (shared sessions)', { timeout: 60_000 }, async () => {
  const callback = await signIn(jar, ADMIN.email, direct('a'));
  assert.ok(callback.status >= 300 && callback.status < 400, `the callback on instance a answered ${callback.status}`);
  assert.ok(jar.has('gatehouse_session'), 'a session cookie');
  const onB = await page(jar, direct('b'), '/');
  assert.equal(onB.status, 200, 'the dashboard on instance b');
  assert.ok(onB.text.includes(ADMIN.name), `instance b knows who is signed in: ${onB.text.slice(0, 300)}`);
  for (let i = 0; i < 4; i++) {
    const through = await page(jar, BALANCER, '/users');
    assert.equal(through.status, 200, 'the users page through the balancer (either instance)');
    assert.ok(through.text.includes(ADMIN.name));
  }
});

test('a key revoked through one instance is refused by the other within 1 s', { timeout: 60_000 }, async (t) => {
  const run = Date.now();
  const owner = `scale-owner-${run}@example.com`;
  let r = await api(BALANCER, TOKEN, 'POST', '/api/v1/users', { email: owner, display_name: 'Sam Scale', source: 'hr' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await api(BALANCER, TOKEN, 'POST', '/api/v1/apps', {
    name: `Orders ${run}`, owner, kind: 'web', redirect_uris: 'https://orders.example.com/callback',
    post_logout_redirect_uris: '', grant_types: ['authorization_code'],
    scopes: 'openid orders:read gatehouse:keys.verify', pkce_required: 'on',
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const appId = r.headers.get('location').split('/').pop();
  const issue = async (name, scopes) => {
    const k = await api(BALANCER, TOKEN, 'POST', '/api/v1/keys', { application_id: appId, name, owner: '', scopes, expires: '' });
    assert.equal(k.status, 201, JSON.stringify(k.body));
    return { id: k.body.summary.id, key: k.body.key };
  };
  const gateway = await issue(`Gateway ${run}`, ['gatehouse:keys.verify']);
  const client = await issue(`Client ${run}`, ['orders:read']);
  const steady = await issue(`Steady ${run}`, ['orders:read']);
  shared.gatewayKey = gateway.key;
  shared.steadyKey = steady.key;

  // Valid on instance b, and cached there.
  for (let i = 0; i < 3; i++) {
    const v = await verify(direct('b'), gateway.key, client.key);
    assert.equal(v.status, 200);
    assert.equal(v.body.valid, true, JSON.stringify(v.body));
  }
  r = await api(direct('a'), TOKEN, 'POST', `/api/v1/keys/${client.id}/revoke`);
  assert.equal(r.status, 200, `revoked through instance a: ${JSON.stringify(r.body)}`);
  const revokedAt = performance.now();
  let answer;
  let tries = 0;
  do {
    if (tries++) await sleep(50);
    answer = await verify(direct('b'), gateway.key, client.key);
  } while (answer.body?.valid !== false && performance.now() - revokedAt < 3_000);
  const ms = performance.now() - revokedAt;
  t.diagnostic(`instance b refused the key ${ms.toFixed(0)} ms after instance a revoked it (${tries} verifications)`);
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.body, { valid: false, reason: 'revoked' });
  assert.ok(ms <= 1_000, `refused within 1 s, not ${ms.toFixed(0)} ms`);
});

test('each background task runs on one instance, once per period', { timeout: 60_000 }, async (t) => {
  const first = await waitFor('every singleton task held', async () => {
    const work = await background();
    assertEachTaskHeld(work);
    return work;
  }, { timeout: 20_000, interval: 250 });
  const earlier = byTask(first);
  const t0 = Date.now();
  await sleep(6_000);
  const later = assertEachTaskHeld(await background());
  const seconds = (Date.now() - t0) / 1000;
  for (const name of FREQUENT) {
    const every = later[name].every_ms / 1000;
    const ran = later[name].runs - earlier[name].runs;
    const most = Math.floor(seconds / every) + 2;
    t.diagnostic(`${name}: ${ran} runs in ${seconds.toFixed(1)} s on ${later[name].holder} (every ${every} s: at most ${most} once, about ${Math.round((2 * seconds) / every)} if both ran)`);
    assert.ok(ran >= 1, `${name} ran: ${JSON.stringify(later[name])}`);
    assert.ok(ran <= most, `${name} ran ${ran} times in ${seconds.toFixed(1)} s: more than once per period`);
    assert.equal(later[name].last_error, '', `${name}: ${later[name].last_error}`);
  }
  // The instances' own counters agree: only the holder ever ran each task.
  for (const name of ['audit_checkpoint', 'audit_retention', 'reconciliation', 'user_purge']) {
    const holder = NAMES.find((n) => instanceId(n) === later[name].holder);
    const other = NAMES.find((n) => n !== holder);
    const here = await taskRuns(direct(holder), METRICS_TOKEN, name);
    const there = await taskRuns(direct(other), METRICS_TOKEN, name);
    t.diagnostic(`${name}: ${here} runs counted on ${holder}, ${there} on ${other}`);
    assert.ok(here >= 1, `${name} counted on its holder ${holder}`);
    assert.equal(there, 0, `${name} never ran on ${other}`);
  }
});

test('a rolling restart of both instances under steady load fails no request', { timeout: 240_000 }, async (t) => {
  assert.ok(shared.gatewayKey && jar.has('gatehouse_session'), 'the tests above made a session and keys');
  const kinds = [
    {
      name: 'console page',
      run: async (signal) => {
        const p = await page(jar, BALANCER, '/', signal);
        if (p.status !== 200 || !p.text.includes(ADMIN.name)) throw new Error(`GET / answered ${p.status}`);
      },
    },
    {
      name: 'key verification',
      run: async (signal) => {
        const v = await verify(BALANCER, shared.gatewayKey, shared.steadyKey, signal);
        if (v.status !== 200 || v.body?.valid !== true) throw new Error(`verify answered ${v.status} ${JSON.stringify(v.body)}`);
      },
    },
  ];
  const load = steadyLoad({ perSecond: 50, kinds });
  let report;
  try {
    await sleep(2_000);
    for (const name of NAMES) {
      await roll(name, (line) => t.diagnostic(line));
      await sleep(2_000);
    }
  } finally {
    report = await load.stop();
  }
  t.diagnostic(`${report.total} requests in ${report.seconds.toFixed(1)} s (${report.rate.toFixed(1)}/s: ${JSON.stringify(report.perKind)}), `
    + `${report.failed} failed, p50 ${report.p50.toFixed(1)} ms, p99 ${report.p99.toFixed(1)} ms`);
  assert.deepEqual(report.failures, [], 'no request failed');
  assert.ok(report.total >= 200, `a steady load: ${report.total} requests`);

  // The restarted processes hold the background work again (released on SIGTERM, taken over).
  const starts = [];
  for (const name of NAMES) starts.push((await background(direct(name))).answered_by_started_at);
  await waitFor('every task held by a running process', async () => {
    assertEachTaskHeld(await background(), starts);
    return true;
  }, { timeout: 20_000, interval: 250 });
});
