// Two Gatehouse instances and HAProxy for the scale-out test (issue 17): started, stopped and
// restarted here, so the test can roll them under load. Not a test file itself.
//
// From the environment (scripts/test.sh sets it): SCALE_BIN (the release binary), SCALE_DATABASE_URL
// (one fresh PostgreSQL database), SCALE_DIR (logs and scratch), SCALE_IDP_URL (the running dev
// identity provider), SCALE_PORT (HAProxy), SCALE_A_PORT and SCALE_B_PORT (the instances), HAPROXY.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function setting(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set (scripts/test.sh sets it)`);
  return value;
}

export const config = {
  bin: setting('SCALE_BIN'),
  databaseUrl: setting('SCALE_DATABASE_URL'),
  dir: setting('SCALE_DIR'),
  idp: setting('SCALE_IDP_URL', 'http://127.0.0.1:4100'),
  haproxy: setting('HAPROXY', '/usr/sbin/haproxy'),
  port: Number(setting('SCALE_PORT', '3110')),
  ports: { a: Number(setting('SCALE_A_PORT', '3111')), b: Number(setting('SCALE_B_PORT', '3112')) },
};
export const NAMES = ['a', 'b'];
export const BALANCER = `http://127.0.0.1:${config.port}`;
export const direct = (name) => `http://127.0.0.1:${config.ports[name]}`;
export const instanceId = (name) => `scale-${name}`;
/** `/metrics` on each instance answers this bearer token. */
export const METRICS_TOKEN = randomBytes(24).toString('hex');

// A Unix socket path must stay short (108 bytes): a directory of its own under /tmp.
const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-scale-'));
const SOCKET = path.join(socketDir, 'admin.sock');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Retries `check` (truthy or throwing) until it passes or `timeout` ms have gone by. */
export async function waitFor(what, check, { timeout = 30_000, interval = 100, alive } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    if (alive) alive();
    try {
      const result = await check();
      if (result) return result;
      last = new Error(`not yet: ${JSON.stringify(result)}`);
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeout} ms (${last?.message ?? last})`);
    await sleep(interval);
  }
}

function tail(file, lines = 30) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function instanceEnv(name, overrides) {
  return {
    ...process.env,
    GATEHOUSE_DATABASE_URL: config.databaseUrl,
    GATEHOUSE_BIND: `127.0.0.1:${config.ports[name]}`,
    // People and the provider reach Gatehouse through the balancer.
    GATEHOUSE_PUBLIC_URL: BALANCER,
    GATEHOUSE_OIDC_ISSUER: config.idp,
    GATEHOUSE_OIDC_CLIENT_ID: 'gatehouse',
    GATEHOUSE_OIDC_CLIENT_SECRET: 'gatehouse-dev-secret',
    GATEHOUSE_ROLE_MAP: 'console-admins=admin,helpdesk=support,auditors=auditor',
    GATEHOUSE_INSTANCE_ID: instanceId(name),
    GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1/32',
    // Short periods, so the background tasks run often enough to be counted in seconds.
    GATEHOUSE_OUTBOX_POLL_MS: '50',
    GATEHOUSE_AUDIT_CHECKPOINT_SECS: '1',
    GATEHOUSE_AUDIT_CHECKPOINT_DIR: path.join(config.dir, 'checkpoints'),
    GATEHOUSE_AUDIT_RETENTION_DAYS: '3650',
    GATEHOUSE_AUDIT_ARCHIVE_DIR: path.join(config.dir, 'archive'),
    GATEHOUSE_METRICS_TOKEN: METRICS_TOKEN,
    GATEHOUSE_API_REQUESTS_PER_MINUTE: '100000',
    ...overrides,
  };
}

const processes = {}; // name -> { child, exited, log }
const instanceOverrides = {}; // name -> the settings it was started with (a restart keeps them)

/** Resident memory of instance `name` in KiB (VmRSS), or null when it does not run. */
export function rssOf(name) {
  const p = processes[`instance-${name}`];
  if (!p || p.done) return null;
  try {
    const status = fs.readFileSync(`/proc/${p.child.pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
  } catch {
    return null;
  }
}

function started(name, command, args, env) {
  const log = path.join(config.dir, `${name}.log`);
  const fd = fs.openSync(log, 'a');
  const child = spawn(command, args, { env, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const entry = { child, exited, log, done: false };
  exited.then(() => { entry.done = true; });
  processes[name] = entry;
  return entry;
}

/** Throws with the end of its log when the process has exited. */
function mustRun(name) {
  return () => {
    const p = processes[name];
    if (p?.done) throw new Error(`${name} exited; the end of ${p.log}:\n${tail(p.log)}`);
  };
}

/** Starts instance `name` (its settings changed by `overrides`) and waits for its /readyz. */
export async function startInstance(name, overrides = {}) {
  instanceOverrides[name] = overrides;
  started(`instance-${name}`, config.bin, ['serve'], instanceEnv(name, overrides));
  await waitFor(`instance ${name} ready`, async () => (await fetch(`${direct(name)}/readyz`)).status === 200,
    { timeout: 60_000, interval: 100, alive: mustRun(`instance-${name}`) });
}

/** SIGTERM: the instance finishes what it serves, releases its leases and exits 0. */
export async function stopInstance(name) {
  const p = processes[`instance-${name}`];
  if (!p || p.done) return null;
  p.child.kill('SIGTERM');
  const status = await Promise.race([p.exited, sleep(20_000).then(() => 'timeout')]);
  if (status === 'timeout') {
    p.child.kill('SIGKILL');
    throw new Error(`instance ${name} did not stop within 20 s of SIGTERM; see ${p.log}`);
  }
  return status;
}

/** One command on HAProxy's admin socket; its answer. */
export function admin(command) {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(SOCKET);
    let answer = '';
    socket.setEncoding('utf8');
    socket.setTimeout(5_000, () => socket.destroy(new Error(`haproxy: no answer to "${command}"`)));
    socket.on('connect', () => socket.write(`${command}\n`));
    socket.on('data', (chunk) => { answer += chunk; });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

/** The two servers as HAProxy sees them: `{ a: { status, scur }, b: ... }` (`show stat`). */
export async function servers() {
  const lines = (await admin('show stat')).trim().split('\n');
  const header = lines[0].replace(/^# /, '').split(',');
  const found = {};
  for (const line of lines.slice(1)) {
    const row = Object.fromEntries(line.split(',').map((v, i) => [header[i], v]));
    if (row.pxname === 'gatehouse' && NAMES.includes(row.svname)) {
      found[row.svname] = { status: row.status, scur: Number(row.scur) };
    }
  }
  return found;
}

/** HAProxy from tests/scale/haproxy.cfg.in, in the foreground; waits until `up` are up. */
export async function startBalancer(up = NAMES) {
  const cfg = path.join(config.dir, 'haproxy.cfg');
  const text = fs.readFileSync(path.join(here, 'haproxy.cfg.in'), 'utf8')
    .replaceAll('@SOCKET@', SOCKET)
    .replaceAll('@BIND@', `127.0.0.1:${config.port}`)
    .replaceAll('@A_ADDR@', `127.0.0.1:${config.ports.a}`)
    .replaceAll('@B_ADDR@', `127.0.0.1:${config.ports.b}`);
  fs.writeFileSync(cfg, text);
  started('haproxy', config.haproxy, ['-db', '-f', cfg], process.env);
  await waitFor(`HAProxy sees ${up.join(' and ')} up`, async () => {
    const s = await servers();
    return up.every((n) => s[n]?.status === 'UP') && s;
  }, { timeout: 30_000, alive: mustRun('haproxy') });
}

/**
 * Restarts instance `name` without failing a request: drained in HAProxy until it serves
 * nothing, out of rotation, stopped (SIGTERM), started again, and back once ready.
 */
export async function roll(name, note = () => {}) {
  const t0 = Date.now();
  await admin(`set server gatehouse/${name} state drain`);
  await waitFor(`instance ${name} drained`, async () => (await servers())[name].scur === 0,
    { timeout: 15_000, interval: 20 });
  await admin(`set server gatehouse/${name} state maint`);
  const status = await stopInstance(name);
  if (status !== 0) throw new Error(`instance ${name} exited with ${status} on SIGTERM; see ${processes[`instance-${name}`].log}`);
  await startInstance(name, instanceOverrides[name]);
  await admin(`set server gatehouse/${name} state ready`);
  await waitFor(`instance ${name} back in rotation`, async () => (await servers())[name].status === 'UP',
    { timeout: 15_000, interval: 50 });
  note(`instance ${name} restarted in ${Date.now() - t0} ms`);
}

/** Stops everything this module started (instances first, then HAProxy). */
export async function stopAll() {
  for (const name of NAMES) {
    try {
      await stopInstance(name);
    } catch (err) {
      console.error(err.message);
    }
  }
  const h = processes.haproxy;
  if (h && !h.done) {
    h.child.kill('SIGTERM');
    await Promise.race([h.exited, sleep(5_000)]);
    if (!h.done) h.child.kill('SIGKILL');
  }
  fs.rmSync(socketDir, { recursive: true, force: true });
}
