// Gatehouse development / end-to-end test OpenID Connect provider.
//
// A thin wrapper around `oidc-provider` (OpenID Certified): one confidential
// client (`gatehouse`, code flow with PKCE, gets a refresh token at sign-in),
// four demo accounts, our own plain-HTML sign-in page and automatic consent
// for the first-party client.
//
// Start: `node end2end/idp/server.mjs` (from any directory). See README.md.
//
// Test hooks, only with IDP_TEST_HOOKS=1 (otherwise 404). All take POST with a
// JSON body and change state in memory for every later request (global: tests
// running in parallel should change only accounts they created themselves).
//   POST /__test/next-id-token  {"tamper": "nonce"|"audience"|"expired"|"signature"|"issuer"|"none"}
//                               and/or {"omit": ["groups"|"email"|"email_verified"|"name", ...]}
//       -> 204. The next ID token from /token (any grant) is wrong in that way or lacks
//          those claims (userinfo still has them). {"tamper": "none"} clears it.
//   POST /__test/next-userinfo  {"sub": "..."}  -> 204. The next userinfo answer (/me) carries
//          that sub instead of the account's. {"sub": null} clears it.
//   POST /__test/account        {"email": "...", "groups": [...]?, "disabled": bool?,
//                                "email_verified": bool?, "sub": "..."?, "name": "..."?,
//                                "omit_claims": ["email"|"email_verified"|"name"|"groups", ...]?}
//       -> 200 (changed) or 201 (created) with the account as JSON. Changes a demo account or
//          creates a new one (sub defaults to "u-" + a hash of the email, name to the part before
//          the @, groups to [], email_verified to true). Takes effect for the next token,
//          userinfo and refresh call; a disabled account cannot sign in (an IdP session it had
//          asks to sign in again), and its userinfo and refresh calls fail (invalid_token /
//          invalid_grant). omit_claims leaves claims out of the ID token and userinfo alike.
//   POST /__test/reset          -> 204. Back to the four demo accounts as at start.
//   POST /__test/rotate-signing-key
//       -> 200 {"kid": "..."}. A new RS256 key signs every later token; the JWKS lists only it;
//          persisted to IDP_JWKS_FILE like the first one.
//   POST /__test/ssf/credential-change  {"email", "credential_type", "change_type", "friendly_name"?}
//       -> 200 {"jti", "event", "delivery"} once pushed (factors.mjs); 409 when not transmitting.
//   POST /__test/ssf/deliveries -> 200 [...]: the SETs pushed so far and their results, newest first.
//
// Shared Signals transmitter, only with IDP_SSF_PUSH_URL (ssf.mjs): every sign-in, refused
// sign-in and factor change (GET /account/factors, factors.mjs) is pushed there as a SET.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider, { interactionPolicy } from 'oidc-provider';
// Internal modules of oidc-provider@9 (the version is locked in package-lock.json).
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

import {
  HookError, PROFILE_CLAIMS, accountByEmail, accountBySub, accountClaims, changeAccount,
  resetAccounts,
} from './accounts.mjs';
import { credentialChangeHook, handleFactors, resetFactors } from './factors.mjs';
import { esc, loginPage, page, send } from './pages.mjs';
import {
  SESSION_ESTABLISHED, SIGN_IN_FAILED, createTransmitter, serveTransmitter, signInEvent,
} from './ssf.mjs';

// ---------------------------------------------------------------- config --

const SCRIPT_DIR = path.dirname(fileURLToPath(import.meta.url));
const PORT = Number.parseInt(process.env.IDP_PORT || '4000', 10);
const ISSUER = `http://127.0.0.1:${PORT}`;
const JWKS_FILE = path.resolve(process.env.IDP_JWKS_FILE || path.join(SCRIPT_DIR, '.jwks.json'));
const CLIENT_SECRET = process.env.IDP_CLIENT_SECRET || 'gatehouse-dev-secret';
const DEMO_PASSWORD = process.env.IDP_DEMO_PASSWORD || 'gatehouse-demo';
const TEST_HOOKS = process.env.IDP_TEST_HOOKS === '1';
const CLIENT_ID = 'gatehouse';
// Gatehouse's SSF push endpoint (RFC 8935) and the `aud` of the tokens pushed there.
const SSF_PUSH_URL = process.env.IDP_SSF_PUSH_URL || '';
const SSF_AUDIENCE = process.env.IDP_SSF_AUDIENCE || '';

// Sessions, grants and tokens, in memory. One store for every provider instance (a key rotation
// builds a new one), and larger than oidc-provider's default LRU of 1000 entries, which a long
// test run fills: a grant still in use would be evicted and its refresh would fail.
const STORE = new LRU({ maxSize: 100_000 });

// ------------------------------------------------------------ signing key --

// RFC 7638 thumbprint of an RSA JWK, used as `kid`.
function thumbprint(jwk) {
  const canonical = JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
  return crypto.createHash('sha256').update(canonical).digest('base64url');
}

// Load the persisted RS256 key, or create and persist one on first start.
function loadOrCreateSigningKey() {
  if (fs.existsSync(JWKS_FILE)) {
    const jwks = JSON.parse(fs.readFileSync(JWKS_FILE, 'utf8'));
    const key = jwks.keys?.find((k) => k.kty === 'RSA' && k.d);
    if (!key) throw new Error(`${JWKS_FILE} holds no RSA private key`);
    return key;
  }
  const key = newSigningKey();
  saveSigningKey(key);
  return key;
}

function newSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: thumbprint(jwk), alg: 'RS256', use: 'sig' };
}

function saveSigningKey(key) {
  fs.mkdirSync(path.dirname(JWKS_FILE), { recursive: true });
  const tmp = `${JWKS_FILE}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ keys: [key] }, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, JWKS_FILE);
}

let signingJwk = loadOrCreateSigningKey();
let signingKey = crypto.createPrivateKey({ key: signingJwk, format: 'jwk' });
const transmitter = await createTransmitter({ issuer: ISSUER, pushUrl: SSF_PUSH_URL, audience: SSF_AUDIENCE });

// --------------------------------------------------------------- provider --

// oidc-provider's prompts, plus: a browser session whose account was disabled or removed since
// (test hooks) signs in again instead of failing with a server error.
function policy() {
  const prompts = interactionPolicy.base();
  prompts.get('login').checks.push(new interactionPolicy.Check(
    'account_gone',
    'the account of this session is disabled or gone',
    'login_required',
    (ctx) => Boolean(ctx.oidc.session.accountId && !ctx.oidc.account),
  ));
  return prompts;
}

function configuration(jwk) {
  return {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      client_name: 'Gatehouse',
      // Any http://127.0.0.1:<port>/auth/callback is accepted as well (see below).
      redirect_uris: ['http://127.0.0.1:3000/auth/callback'],
      post_logout_redirect_uris: ['http://127.0.0.1:3000/', 'http://127.0.0.1:3000/logged-out'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      // client_secret_post is accepted too: oidc-provider treats the two as interchangeable.
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    }],
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    jwks: { keys: [jwk] },
    adapter: (model) => new MemoryAdapter(model, STORE),
    cookies: { keys: ['gatehouse-dev-cookie-key-not-secret-1'] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    // Put the scope-derived claims (email, name, groups) into the ID token too.
    conformIdTokenClaims: false,
    pkce: { required: () => true }, // v9 only supports S256
    // Gatehouse re-checks roles with the refresh token grant: give it a refresh token at every
    // sign-in without asking for offline_access (which would need a consent prompt). Tokens
    // outlive the IdP's browser session (1 h), sign-out included, like offline tokens, so a 12 h
    // console session can keep refreshing.
    issueRefreshToken: async (ctx, client) => client.clientId === CLIENT_ID
      && client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = page('Gatehouse Dev IdP \u2013 Sign out', `<h1>Sign out</h1>
<p>Do you want to sign out of the Gatehouse development identity provider?</p>
${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" id="logout-confirm">Sign out</button>
<button type="submit" form="op.logoutForm" id="logout-cancel">Stay signed in</button>`);
        },
        postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = page('Gatehouse Dev IdP \u2013 Signed out', '<h1>Signed out</h1>\n<p id="logged-out">You have been signed out.</p>');
        },
      },
    },
    renderError(ctx, out) {
      ctx.type = 'html';
      const rows = Object.entries(out).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('\n');
      ctx.body = page('Gatehouse Dev IdP \u2013 Error', `<h1>Something went wrong</h1>\n<dl id="error-details">\n${rows}\n</dl>`);
    },
    interactions: { policy: policy(), url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    // Looked up on every token, userinfo and refresh call: changes by the test hooks apply at
    // once, and a disabled (or removed) account makes userinfo and refresh fail.
    async findAccount(ctx, sub) {
      const account = accountBySub(sub);
      if (!account || account.disabled) return undefined;
      return { accountId: sub, async claims() { return accountClaims(account); } };
    },
    ttl: {
      Session: 3600,
      Grant: 86400,
      Interaction: 600,
      AuthorizationCode: 60,
      AccessToken: 600,
      IdToken: 600,
      RefreshToken: 86400,
    },
  };
}

// Tests run the app on varying loopback ports: accept any
// http://127.0.0.1:<port>/auth/callback (redirect) and any
// http://127.0.0.1:<port>/... (post-logout) for the gatehouse client.
function loopbackUrl(value) {
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' || u.hostname !== '127.0.0.1' || !u.port) return undefined;
    if (u.username || u.password || u.hash || value.includes('#')) return undefined;
    return u;
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------ test hooks --

let pendingIdToken; // { tamper?, omit? } for the next ID token from /token
let pendingUserinfoSub; // sub of the next userinfo answer
const TAMPERS = new Set(['nonce', 'audience', 'expired', 'signature', 'issuer']);

function rewriteIdToken(jwt, { tamper, omit = [] }) {
  const [h, p, s] = jwt.split('.');
  if (tamper === 'signature' && omit.length === 0) {
    const sig = Buffer.from(s, 'base64url');
    sig[Math.floor(sig.length / 2)] ^= 0xff;
    return `${h}.${p}.${sig.toString('base64url')}`;
  }
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  const now = Math.floor(Date.now() / 1000);
  for (const claim of omit) delete payload[claim];
  switch (tamper) {
    case undefined: case 'signature': break;
    case 'nonce': payload.nonce = `${payload.nonce ?? ''}-tampered`; break;
    case 'audience': payload.aud = 'someone-else'; break;
    case 'expired': payload.iat = now - 1200; payload.exp = now - 600; break;
    case 'issuer': payload.iss = 'http://wrong-issuer.invalid'; break;
    default: throw new Error(`unknown tamper ${tamper}`);
  }
  // Re-sign with the real key and the original header (same kid): only the claims are wrong.
  const input = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const signature = crypto.sign('sha256', Buffer.from(input), signingKey);
  if (tamper === 'signature') signature[Math.floor(signature.length / 2)] ^= 0xff;
  return `${input}.${signature.toString('base64url')}`;
}

// One provider per signing key: rotating the key builds a new one. Sessions, grants and tokens
// live in the shared memory store and the cookie keys stay, so nobody is signed out by it.
function createProvider(jwk) {
  const provider = new Provider(ISSUER, configuration(jwk));
  const { redirectUriAllowed, postLogoutRedirectUriAllowed } = provider.Client.prototype;
  provider.Client.prototype.redirectUriAllowed = function allowLoopbackCallback(value) {
    if (redirectUriAllowed.call(this, value)) return true;
    const u = this.clientId === CLIENT_ID && loopbackUrl(value);
    return Boolean(u && u.pathname === '/auth/callback' && !u.search);
  };
  provider.Client.prototype.postLogoutRedirectUriAllowed = function allowLoopbackLogout(value) {
    if (postLogoutRedirectUriAllowed.call(this, value)) return true;
    return Boolean(this.clientId === CLIENT_ID && loopbackUrl(value));
  };
  provider.on('server_error', (ctx, err) => console.error('server_error', ctx.path, err));
  if (TEST_HOOKS) {
    provider.use(async (ctx, next) => {
      await next();
      if (pendingIdToken && ctx.method === 'POST' && ctx.path === '/token'
          && ctx.status === 200 && typeof ctx.body?.id_token === 'string') {
        ctx.body = { ...ctx.body, id_token: rewriteIdToken(ctx.body.id_token, pendingIdToken) };
        console.log(`test hook: issued a rewritten ID token: ${JSON.stringify(pendingIdToken)}`);
        pendingIdToken = undefined;
      }
      if (pendingUserinfoSub && ctx.path === '/me' && ctx.status === 200 && ctx.body?.sub) {
        ctx.body = { ...ctx.body, sub: pendingUserinfoSub };
        console.log(`test hook: userinfo answered with sub ${pendingUserinfoSub}`);
        pendingUserinfoSub = undefined;
      }
    });
  }
  return provider;
}

let provider = createProvider(signingJwk);
let providerCallback = provider.callback();

function rotateSigningKey() {
  const jwk = newSigningKey();
  saveSigningKey(jwk);
  signingJwk = jwk;
  signingKey = crypto.createPrivateKey({ key: jwk, format: 'jwk' });
  provider = createProvider(jwk);
  providerCallback = provider.callback();
  console.log(`test hook: rotated the signing key, kid ${jwk.kid}`);
  return jwk.kid;
}

// ------------------------------------------------------ http entry point --

const MAX_BODY = 64 * 1024;
function readBody(req) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) { reject(new Error('body too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function passwordMatches(password) {
  const a = crypto.createHash('sha256').update(password).digest();
  const b = crypto.createHash('sha256').update(DEMO_PASSWORD).digest();
  return crypto.timingSafeEqual(a, b);
}

// A sign-in, or a refused one, as a SET to Gatehouse (never fails the sign-in).
const signInSignal = (req, eventType, email, refusal) => signInEvent(transmitter, req, eventType, email, refusal);

async function handleInteraction(req, res, uid, action) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    send(res, 400, page('Gatehouse Dev IdP \u2013 Error', '<h1>Sign-in expired</h1>\n<p id="interaction-expired">This sign-in attempt is no longer valid. Go back to the application and start again.</p>'));
    return;
  }
  if (details.uid !== uid) { send(res, 400, page('Error', '<h1>Interaction mismatch</h1>')); return; }
  const { prompt, params } = details;

  if (req.method === 'GET' && !action) {
    if (prompt.name === 'login') { send(res, 200, loginPage(uid)); return; }
    if (prompt.name === 'consent' && params.client_id === CLIENT_ID) {
      // First-party client: grant what was asked for without a consent page.
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
      const d = prompt.details;
      if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
      if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes || {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    send(res, 400, page('Error', `<h1>Unsupported prompt</h1>\n<p>${esc(prompt.name)}</p>`));
    return;
  }

  if (req.method === 'POST' && action === 'login' && prompt.name === 'login') {
    const form = new URLSearchParams(await readBody(req));
    const email = (form.get('email') || '').trim().toLowerCase();
    const password = form.get('password') || '';
    const account = accountByEmail(email);
    if (!account || !passwordMatches(password)) {
      await signInSignal(req, SIGN_IN_FAILED, email, 'Wrong email or password');
      send(res, 200, loginPage(uid, { email: form.get('email') || '', error: 'Wrong email or password' }));
      return;
    }
    if (account.disabled) {
      await signInSignal(req, SIGN_IN_FAILED, email, 'This account is disabled');
      send(res, 200, loginPage(uid, { email: form.get('email') || '', error: 'This account is disabled' }));
      return;
    }
    await signInSignal(req, SESSION_ESTABLISHED, account.email);
    await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
    return;
  }

  if (req.method === 'POST' && action === 'abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }

  send(res, 405, 'method not allowed', 'text/plain; charset=utf-8');
}

// The JSON object a test hook was sent; an empty body is {}.
async function readJson(req) {
  let text;
  try { text = await readBody(req); } catch { throw new HookError(413, 'the body is too large'); }
  let value;
  try { value = text.trim() ? JSON.parse(text) : {}; } catch { throw new HookError(400, 'the body must be JSON'); }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new HookError(400, 'the body must be a JSON object');
  return value;
}

const noContent = (res) => { res.statusCode = 204; res.end(); };
const sendJson = (res, status, value) => send(res, status, `${JSON.stringify(value)}\n`, 'application/json');

const HOOKS = new Map([
  ['/__test/next-id-token', async (req, res) => {
    const body = await readJson(req);
    if (body.tamper === null || body.tamper === 'none') { pendingIdToken = undefined; noContent(res); return; }
    const { tamper, omit } = body;
    if (tamper !== undefined && !TAMPERS.has(tamper)) {
      throw new HookError(400, `tamper must be one of: ${[...TAMPERS].join(', ')}, none`);
    }
    if (omit !== undefined && !(Array.isArray(omit) && omit.length > 0 && omit.every((c) => PROFILE_CLAIMS.has(c)))) {
      throw new HookError(400, `omit must be a non-empty list of: ${[...PROFILE_CLAIMS].join(', ')}`);
    }
    if (tamper === undefined && omit === undefined) throw new HookError(400, 'give tamper or omit');
    pendingIdToken = { tamper, omit };
    noContent(res);
  }],
  ['/__test/next-userinfo', async (req, res) => {
    const { sub, ...rest } = await readJson(req);
    if (Object.keys(rest).length || !(sub === null || (typeof sub === 'string' && sub))) {
      throw new HookError(400, 'the body must be {"sub": "..."} (or {"sub": null} to clear)');
    }
    pendingUserinfoSub = sub ?? undefined;
    noContent(res);
  }],
  ['/__test/account', async (req, res) => {
    const { created, account } = changeAccount(await readJson(req));
    console.log(`test hook: account ${created ? 'created' : 'changed'}: ${JSON.stringify(account)}`);
    sendJson(res, created ? 201 : 200, account);
  }],
  ['/__test/reset', async (req, res) => {
    resetAccounts();
    resetFactors();
    console.log('test hook: demo accounts reset');
    noContent(res);
  }],
  ['/__test/rotate-signing-key', async (req, res) => {
    sendJson(res, 200, { kid: rotateSigningKey() });
  }],
  ['/__test/ssf/credential-change', async (req, res) => {
    sendJson(res, 200, await credentialChangeHook(transmitter, await readJson(req)));
  }],
  ['/__test/ssf/deliveries', async (req, res) => {
    sendJson(res, 200, transmitter ? transmitter.deliveries() : []);
  }],
]);

async function handleTestHook(req, res, hook) {
  if (req.method !== 'POST') { send(res, 405, 'method not allowed\n', 'text/plain; charset=utf-8'); return; }
  try {
    await hook(req, res);
  } catch (err) {
    if (!(err instanceof HookError)) throw err;
    send(res, err.status, `${err.message}\n`, 'text/plain; charset=utf-8');
  }
}

const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?\/?$/;

const server = http.createServer(async (req, res) => {
  try {
    const { pathname } = new URL(req.url, ISSUER);
    if (pathname === '/__test/health') { send(res, 200, 'ok', 'text/plain; charset=utf-8'); return; }
    if (pathname.startsWith('/__test/')) {
      const hook = TEST_HOOKS && HOOKS.get(pathname);
      if (hook) { await handleTestHook(req, res, hook); return; }
      send(res, 404, 'Not Found', 'text/plain; charset=utf-8');
      return;
    }
    const m = INTERACTION.exec(pathname);
    if (m) { await handleInteraction(req, res, m[1], m[2]); return; }
    // Our own routes go before oidc-provider's, none of which they share a path with.
    if (serveTransmitter(transmitter, req, res, pathname, sendJson)) return;
    if (pathname === '/account/factors') {
      await handleFactors(req, res, { transmitter, checkPassword: passwordMatches, readBody });
      return;
    }
    providerCallback(req, res);
  } catch (err) {
    console.error('request failed', req.method, req.url, err);
    if (!res.headersSent) send(res, 500, 'internal error', 'text/plain; charset=utf-8');
    else res.end();
  }
});

server.listen(PORT, '127.0.0.1', () => {
  console.log(`dev IdP listening on ${ISSUER} (demo password: ${DEMO_PASSWORD})`);
  if (TEST_HOOKS) console.log(`test hooks enabled: POST ${[...HOOKS.keys()].join(', ')}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
