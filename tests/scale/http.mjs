// HTTP for the scale-out test (issue 17): a cookie jar, the sign-in through the dev identity
// provider's real form (as tests/it/common.rs does it), the management API, key verification,
// and a steady load whose every request is counted. Not a test file itself.
import { BALANCER, sleep } from './cluster.mjs';

export const PASSWORD = process.env.IDP_DEMO_PASSWORD || 'gatehouse-demo';

/** Cookies by name, for one host (127.0.0.1: Gatehouse's instances, HAProxy and the provider). */
export class Jar {
  constructor() {
    this.cookies = new Map();
  }

  store(res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [k, v = ''] = a.split('=').map((s) => s.trim());
        return (/^max-age$/i.test(k) && Number(v) <= 0) || (/^expires$/i.test(k) && Date.parse(v) < Date.now());
      });
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  has(name) {
    return this.cookies.has(name);
  }

  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

async function get(jar, url) {
  const res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
  jar.store(res);
  return res;
}

/**
 * Signs `email` in on the instance at `base`: `/login` there, the provider's form, and the
 * callback, which the provider sends to the public URL (the balancer), finished on `base` too.
 * Returns the callback's answer.
 */
export async function signIn(jar, email, base) {
  let url = new URL(`${base}/login?return_to=/`);
  for (let i = 0; i < 20; i++) {
    const res = await get(jar, url);
    if (res.status >= 300 && res.status < 400) {
      await res.arrayBuffer();
      const next = new URL(res.headers.get('location'), url);
      if (next.pathname === '/auth/callback' && next.origin === new URL(BALANCER).origin) {
        const done = await get(jar, new URL(`${next.pathname}${next.search}`, base));
        await done.arrayBuffer();
        return done;
      }
      url = next;
      continue;
    }
    const body = await res.text();
    if (res.status !== 200 || !body.includes('id="password"')) {
      throw new Error(`expected the provider's login form at ${url}, got ${res.status}: ${body.slice(0, 300)}`);
    }
    const form = new URLSearchParams({ email, password: PASSWORD });
    const login = await fetch(new URL(`${url.pathname}/login`, url), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    jar.store(login);
    await login.arrayBuffer();
    if (!(login.status >= 300 && login.status < 400)) throw new Error(`the login form answered ${login.status}`);
    url = new URL(login.headers.get('location'), url);
  }
  throw new Error('the sign-in did not reach the callback');
}

/** A console page with the jar's session: status and text. */
export async function page(jar, base, path, signal) {
  const res = await fetch(`${base}${path}`, { redirect: 'manual', headers: { cookie: jar.header() }, signal });
  return { status: res.status, text: await res.text() };
}

/** A management API call with a bearer token: status, parsed body and headers. */
export async function api(base, token, method, path, body) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text for the assertion's message
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** `POST /api/v1/keys/verify` as a gateway holding `gatewayKey`. */
export async function verify(base, gatewayKey, key, signal) {
  const res = await fetch(`${base}/api/v1/keys/verify`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gatewayKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key }),
    signal,
  });
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

/** `gatehouse_task_runs_total{task}` on one instance (0 when the series is absent). */
export async function taskRuns(base, token, task) {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`/metrics on ${base} answered ${res.status}`);
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith(`gatehouse_task_runs_total{task="${task}"} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : 0);

/**
 * A steady load: `perSecond` requests a second in all, spread over `workers` loops, each request
 * one of `kinds` in turn (`{ name, run(signal) }`, throwing on a wrong answer; 10 s at most).
 * `stop()` ends it and resolves with the counts, failures and latencies.
 */
export function steadyLoad({ perSecond, kinds, workers = 8 }) {
  const every = (1000 * workers) / perSecond;
  const latencies = [];
  const failures = [];
  const perKind = Object.fromEntries(kinds.map((k) => [k.name, 0]));
  let stopped = false;
  let turn = 0;
  const t0 = performance.now();
  const loop = async () => {
    while (!stopped) {
      const kind = kinds[turn++ % kinds.length];
      const start = performance.now();
      try {
        await kind.run(AbortSignal.timeout(10_000));
        latencies.push(performance.now() - start);
        perKind[kind.name] += 1;
      } catch (err) {
        failures.push(`${kind.name} at +${((start - t0) / 1000).toFixed(1)} s: ${err?.message ?? err}`);
      }
      const spent = performance.now() - start;
      if (spent < every) await sleep(every - spent);
    }
  };
  const running = Array.from({ length: workers }, (_, i) => sleep((i * every) / workers).then(loop));
  return {
    async stop() {
      stopped = true;
      await Promise.all(running);
      const seconds = (performance.now() - t0) / 1000;
      const sorted = [...latencies].sort((a, b) => a - b);
      return {
        total: latencies.length + failures.length,
        failed: failures.length,
        failures,
        perKind,
        seconds,
        rate: (latencies.length + failures.length) / seconds,
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
      };
    },
  };
}
