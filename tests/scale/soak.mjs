// Load and soak (issue 17): a mixed load on loopback against one instance, then two, behind
// HAProxy on one PostgreSQL database: console pages for 20 simulated staff (each signed in, a page
// every 1 to 3 s), key verification at half the maximum measured just before with the same client,
// SCIM look-ups and creations, and management API reads. Prints per phase and kind the
// throughput, p50/p99 and errors (must be 0), and each instance's resident memory before the
// load, after its warm-up (a tenth of the phase, at most a minute) and at its end (flat: within
// 10% of the warmed-up figure). Exits 1 when either fails.
//
// Run by scripts/soak.sh (`make soak`), which starts PostgreSQL and the dev identity provider and
// sets SCALE_* as scripts/test.sh does, plus SOAK_SCIM_TOKEN; SOAK_SECONDS per phase (600),
// SOAK_STAFF (20).
import {
  BALANCER, servers, sleep, startBalancer, startInstance, stopAll, rssOf, waitFor,
} from './cluster.mjs';
import { api, Jar, page, signIn, verify } from './http.mjs';

const SECONDS = Number(process.env.SOAK_SECONDS || 600);
const STAFF = Number(process.env.SOAK_STAFF || 20);
/** How long the maximum is measured before each phase. */
const MAX_SECONDS = Number(process.env.SOAK_MAX_SECONDS || 15);
const TOKEN = process.env.SCALE_TOKEN;
const SCIM_TOKEN = process.env.SOAK_SCIM_TOKEN;
const PAGES = ['/', '/users', '/guids', '/groups', '/apps', '/keys', '/audit', '/devices'];
/** Production's periods, not the scale test's short ones. */
const PRODUCTION = { GATEHOUSE_AUDIT_CHECKPOINT_SECS: '3600', GATEHOUSE_OUTBOX_POLL_MS: '200' };
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : 0);

/** Latencies and errors per kind of request. */
class Recorder {
  constructor() {
    this.kinds = new Map();
  }

  async time(kind, fn) {
    const entry = this.kinds.get(kind) ?? { ms: [], errors: [] };
    this.kinds.set(kind, entry);
    const start = performance.now();
    try {
      await fn(AbortSignal.timeout(10_000));
      entry.ms.push(performance.now() - start);
    } catch (err) {
      entry.errors.push(err?.message ?? String(err));
    }
  }

  rows(seconds) {
    return [...this.kinds].map(([kind, { ms, errors }]) => {
      const sorted = [...ms].sort((a, b) => a - b);
      return {
        kind, requests: ms.length + errors.length, rate: (ms.length + errors.length) / seconds,
        p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), errors: errors.length,
        firstError: errors[0] ?? '',
      };
    });
  }
}

/** `fn` about `perSecond` times a second over `workers` loops, until `stop.now`. */
async function paced(stop, perSecond, workers, fn) {
  const every = (1000 * workers) / perSecond;
  const loop = async (offset) => {
    await sleep(offset);
    while (!stop.now) {
      const start = performance.now();
      await fn();
      const spent = performance.now() - start;
      if (spent < every) await sleep(every - spent);
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, i) => loop((i * every) / workers)));
}

function must(ok, what) {
  if (!ok) throw new Error(what);
}

/** An owner, an application, a gateway key and a client key, through the API. */
async function keys() {
  const run = Date.now();
  const owner = `soak-owner-${run}@example.com`;
  let r = await api(BALANCER, TOKEN, 'POST', '/api/v1/users', { email: owner, display_name: 'Sol Soak', source: 'hr' });
  must(r.status === 201, `owner: ${r.status} ${JSON.stringify(r.body)}`);
  r = await api(BALANCER, TOKEN, 'POST', '/api/v1/apps', {
    name: `Soak ${run}`, owner, kind: 'web', redirect_uris: 'https://soak.example.com/callback',
    post_logout_redirect_uris: '', grant_types: ['authorization_code'],
    scopes: 'openid orders:read gatehouse:keys.verify', pkce_required: 'on',
  });
  must(r.status === 201, `application: ${r.status} ${JSON.stringify(r.body)}`);
  const appId = r.headers.get('location').split('/').pop();
  const issue = async (name, scopes) => {
    const k = await api(BALANCER, TOKEN, 'POST', '/api/v1/keys', { application_id: appId, name, owner: '', scopes, expires: '' });
    must(k.status === 201, `key: ${k.status} ${JSON.stringify(k.body)}`);
    return k.body.key;
  };
  return { gateway: await issue(`Soak gateway ${run}`, ['gatehouse:keys.verify']), client: await issue(`Soak client ${run}`, ['orders:read']) };
}

/** Verifications a second with 64 verifications in flight for `seconds`: this client's maximum. */
async function maximum(k, seconds = MAX_SECONDS) {
  let done = 0;
  const until = performance.now() + seconds * 1000;
  const loop = async () => {
    while (performance.now() < until) {
      const v = await verify(BALANCER, k.gateway, k.client);
      if (v.status === 200) done += 1;
    }
  };
  await Promise.all(Array.from({ length: 64 }, loop));
  return done / seconds;
}

let scimSeq = 0;

async function phase(label, running, k, jars) {
  const max = await maximum(k);
  const target = Math.max(1, Math.floor(max / 2));
  console.log(`== ${label}: maximum ${max.toFixed(0)} verifications/s with this client; steady load at ${target}/s for ${SECONDS} s`);
  const rec = new Recorder();
  const stop = { now: false };
  const sample = () => Object.fromEntries(running.map((n) => [n, rssOf(n)]));
  const rss = { before: sample() };
  const t0 = performance.now();
  const load = [
    ...jars.map(async (jar) => {
      while (!stop.now) {
        const path = PAGES[Math.floor(Math.random() * PAGES.length)];
        await rec.time('console page', async (signal) => {
          const p = await page(jar, BALANCER, path, signal);
          must(p.status === 200, `GET ${path}: ${p.status}`);
        });
        await sleep(1000 + Math.random() * 2000);
      }
    }),
    paced(stop, target, 64, () => rec.time('key verification', async (signal) => {
      const v = await verify(BALANCER, k.gateway, k.client, signal);
      must(v.status === 200 && v.body?.valid === true, `verify: ${v.status} ${JSON.stringify(v.body)}`);
    })),
    paced(stop, 5, 4, () => rec.time('SCIM look-up', async (signal) => {
      const filter = encodeURIComponent(`userName eq "soak-${Math.floor(Math.random() * (scimSeq + 1))}@example.com"`);
      const res = await fetch(`${BALANCER}/scim/v2/Users?filter=${filter}`, { headers: { authorization: `Bearer ${SCIM_TOKEN}` }, signal });
      await res.arrayBuffer();
      must(res.status === 200, `SCIM look-up: ${res.status}`);
    })),
    paced(stop, 2, 2, () => rec.time('SCIM create', async (signal) => {
      const n = ++scimSeq;
      const userName = `soak-${n}-${Date.now()}@example.com`;
      const res = await fetch(`${BALANCER}/scim/v2/Users`, {
        method: 'POST', signal,
        headers: { authorization: `Bearer ${SCIM_TOKEN}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({ schemas: [USER_SCHEMA], userName, active: true, displayName: `Soak ${n}`,
          emails: [{ primary: true, type: 'work', value: userName }] }),
      });
      await res.arrayBuffer();
      must(res.status === 201, `SCIM create: ${res.status}`);
    })),
    paced(stop, 5, 4, () => rec.time('API users page', async () => {
      const r = await api(BALANCER, TOKEN, 'GET', '/api/v1/users?limit=20');
      must(r.status === 200, `GET /api/v1/users: ${r.status}`);
    })),
  ];
  // Memory counts from the end of the warm-up (caches, pools and the allocator filled).
  const warmup = Math.min(60, SECONDS / 10);
  await sleep(warmup * 1000);
  rss.start = sample();
  await sleep((SECONDS - warmup) * 1000);
  stop.now = true;
  await Promise.all(load);
  const seconds = (performance.now() - t0) / 1000;
  rss.end = Object.fromEntries(running.map((n) => [n, rssOf(n)]));
  const rows = rec.rows(seconds);
  console.log('\n| kind | requests | per second | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.kind} | ${r.requests} | ${r.rate.toFixed(1)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.errors} |`);
  }
  let flat = true;
  const mib = (kib) => (kib / 1024).toFixed(1);
  console.log(`\n| instance | RSS before the load (MiB) | after ${warmup.toFixed(0)} s of warm-up | at the end | change since the warm-up |\n|---|---|---|---|---|`);
  for (const n of running) {
    const change = (rss.end[n] - rss.start[n]) / rss.start[n];
    flat &&= Math.abs(change) <= 0.10;
    console.log(`| ${n} | ${mib(rss.before[n])} | ${mib(rss.start[n])} | ${mib(rss.end[n])} | ${(change * 100).toFixed(1)}% |`);
  }
  const errors = rows.reduce((sum, r) => sum + r.errors, 0);
  for (const r of rows.filter((x) => x.errors)) console.log(`first ${r.kind} error: ${r.firstError}`);
  console.log('');
  return { label, max, target, seconds, rows, rss, errors, flat };
}

let failed = false;
try {
  if (!TOKEN || !SCIM_TOKEN) throw new Error('SCALE_TOKEN and SOAK_SCIM_TOKEN must be set (scripts/soak.sh sets them)');
  await startInstance('a', PRODUCTION);
  await startBalancer(['a']);
  const k = await keys();
  const jars = [];
  for (let i = 0; i < STAFF; i++) {
    const jar = new Jar();
    await signIn(jar, 'admin@example.com', BALANCER);
    must(jar.has('gatehouse_session'), `staff ${i} signed in`);
    jars.push(jar);
  }
  const results = [await phase('one instance', ['a'], k, jars)];
  await startInstance('b', PRODUCTION);
  await waitFor('HAProxy sees b up', async () => (await servers()).b?.status === 'UP', { timeout: 30_000 });
  results.push(await phase('two instances', ['a', 'b'], k, jars));
  console.log(JSON.stringify(results.map(({ label, max, target, seconds, errors, flat, rss, rows }) => ({
    label, max: Math.round(max), target, seconds: Math.round(seconds), errors, flat, rss, rows,
  }))));
  failed = results.some((r) => r.errors > 0 || !r.flat);
  console.log(failed ? 'FAILED: errors, or resident memory not flat' : 'passed: no errors, resident memory flat');
} catch (err) {
  console.error(err);
  failed = true;
} finally {
  await stopAll();
}
process.exit(failed ? 1 : 0);
