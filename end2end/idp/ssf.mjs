// The dev identity provider as a Shared Signals transmitter (OpenID SSF 1.0): it signs Security
// Event Tokens (RFC 8417) about its own accounts and pushes them (RFC 8935) to one receiver,
// Gatehouse, configured by IDP_SSF_PUSH_URL and IDP_SSF_AUDIENCE (see server.mjs and README.md).
// There is no stream management API: the receiver is set up out of band, as SSF allows.

import * as crypto from 'node:crypto';

import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
export const SESSION_ESTABLISHED = `${CAEP}session-established`;
export const CREDENTIAL_CHANGE = `${CAEP}credential-change`;
// Not a CAEP or RISC event: Gatehouse's own name for a refused sign-in.
export const SIGN_IN_FAILED = 'urn:gatehouse:secevent:sign-in-failed';

const SET_MEDIA_TYPE = 'application/secevent+jwt';
const ATTEMPT_TIMEOUT_MS = 5_000;
const RETRY_AFTER_MS = 1_000;
// How long a sign-in (or a factor change) waits for the first delivery attempt. The push goes on
// in the background after that; neither its result nor its delay ever fails the sign-in.
export const WAIT_LIMIT_MS = 2_000;
const KEPT_DELIVERIES = 100;

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
export const nowSeconds = () => Math.floor(Date.now() / 1000);

function httpUrl(name, value) {
  let u;
  try { u = new URL(value); } catch { u = undefined; }
  if (!u || !['http:', 'https:'].includes(u.protocol)) throw new Error(`${name} must be an http(s) URL, got ${JSON.stringify(value)}`);
  return u;
}

// The client's address as CAEP's `ips` wants it (no IPv4-mapped IPv6 prefix).
function remoteIp(req) {
  const ip = req.socket?.remoteAddress || '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/**
 * The transmitter, or null when `pushUrl` is empty (the IdP then transmits nothing and serves no
 * SSF routes). `audience` (any string, usually Gatehouse's public URL) defaults to the push URL's
 * origin.
 */
export async function createTransmitter({ issuer, pushUrl, audience }) {
  if (!pushUrl) return null;
  const target = httpUrl('IDP_SSF_PUSH_URL', pushUrl).href;
  // As given: the receiver compares it with the audience it was told, character for character.
  const aud = audience.trim() || new URL(target).origin;

  // A key of its own for SETs, separate from the ID token key, made at each start: receivers
  // read it from the JWKS, so a restart needs no configuration change.
  const { publicKey, privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const jwks = { keys: [{ ...publicJwk, kid, alg: 'RS256', use: 'sig' }] };
  const metadata = {
    spec_version: '1_0',
    issuer,
    jwks_uri: `${issuer}/ssf/jwks.json`,
    delivery_methods_supported: ['urn:ietf:rfc:8935'],
  };
  const deliveries = []; // newest last, at most KEPT_DELIVERIES

  async function attempt(token) {
    try {
      const res = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': SET_MEDIA_TYPE, accept: 'application/json' },
        body: token,
        redirect: 'manual',
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      const text = (await res.text()).slice(0, 500);
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
      // RFC 8935: 400 with {"err", "description"} is final; anything else may pass on a retry.
      return { ok: false, status: res.status, error: text || res.statusText, retry: res.status !== 400 };
    } catch (err) {
      return { ok: false, status: 0, error: err.cause?.code || err.message, retry: true };
    }
  }

  function record(entry, result, attempts) {
    Object.assign(entry, { ok: result.ok, status: result.status, error: result.error ?? null, attempts });
    const what = `ssf: ${entry.event} for ${entry.email} (jti ${entry.jti})`;
    if (result.ok) console.log(`${what} delivered: ${result.status}`);
    else {
      const answer = result.status ? `${result.status} ${result.error}` : result.error;
      console.warn(`${what} not delivered after ${attempts} attempt(s): ${answer}`);
    }
    return entry;
  }

  /**
   * Signs a SET with one event about the account `email` and pushes it, retrying once. Returns
   * { jti, first, done }: promises of the first attempt's result and of the final entry.
   * Never rejects.
   */
  async function emit(eventType, email, event) {
    const jti = crypto.randomUUID();
    const entry = { jti, event: eventType.split(/[/:]/).pop(), email, at: Date.now(), ok: null };
    deliveries.push(entry);
    if (deliveries.length > KEPT_DELIVERIES) deliveries.shift();
    let token;
    try {
      token = await new SignJWT({
        iss: issuer,
        aud,
        iat: nowSeconds(),
        jti,
        sub_id: { format: 'email', email },
        events: { [eventType]: event },
      }).setProtectedHeader({ alg: 'RS256', typ: 'secevent+jwt', kid }).sign(privateKey);
    } catch (err) {
      const failed = { ok: false, status: 0, error: `cannot sign: ${err.message}` };
      record(entry, failed, 0);
      return { jti, first: Promise.resolve(failed), done: Promise.resolve(entry) };
    }
    const first = attempt(token);
    const done = first.then(async (r) => {
      if (r.ok || !r.retry) return record(entry, r, 1);
      await sleep(RETRY_AFTER_MS);
      return record(entry, await attempt(token), 2);
    });
    return { jti, first, done };
  }

  /** emit(), waiting at most WAIT_LIMIT_MS for the first attempt; for the sign-in paths. */
  async function emitBriefly(eventType, email, event) {
    try {
      const { first } = await emit(eventType, email, event);
      return await Promise.race([first, sleep(WAIT_LIMIT_MS).then(() => ({ ok: null, pending: true }))]);
    } catch (err) {
      console.error('ssf: emit failed', err);
      return { ok: false };
    }
  }

  console.log(`ssf: transmitting to ${target} (aud ${aud}), SET key kid ${kid}`);
  return {
    pushUrl: target,
    audience: aud,
    metadata: () => metadata,
    jwks: () => jwks,
    deliveries: () => deliveries.map((d) => ({ ...d })).reverse(),
    emit,
    emitBriefly,
  };
}

/**
 * A sign-in (`SESSION_ESTABLISHED`) or a refused one (`SIGN_IN_FAILED`, with the reason shown)
 * of the account `email`. Waits at most WAIT_LIMIT_MS for the first push attempt, so the
 * receiver usually knows before the browser lands there.
 */
export async function signInEvent(transmitter, req, eventType, email, refusal) {
  if (!transmitter || !/^[^\s@]+@[^\s@]+$/.test(email)) return;
  const event = { event_timestamp: nowSeconds() };
  const ip = remoteIp(req);
  if (ip) event.ips = [ip];
  if (refusal) event.reason_admin = { en: refusal };
  else event.amr = ['pwd'];
  await transmitter.emitBriefly(eventType, email, event);
}

/** Serves the transmitter's routes; false when `pathname` is not one of them. */
export function serveTransmitter(transmitter, req, res, pathname, sendJson) {
  if (!transmitter) return false;
  const body = {
    '/.well-known/ssf-configuration': transmitter.metadata,
    '/ssf/jwks.json': transmitter.jwks,
  }[pathname];
  if (!body) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    sendJson(res, 405, { error: 'method not allowed' });
    return true;
  }
  sendJson(res, 200, body());
  return true;
}
