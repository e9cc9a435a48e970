// Sign-in factors of the dev identity provider's accounts, kept in memory only to show changes
// "arriving live" in Gatehouse: each one added or removed is pushed as a CAEP credential-change
// event (see ssf.mjs). Nothing here signs anyone in with these factors.
//
//   GET  /account/factors?email=...   the account's factors, a form to add one, one to remove each
//   POST /account/factors             op=add|remove, email, password (the demo password), and
//                                     kind + friendly_name (add) or id (remove); 303 back to the page
//   POST /__test/ssf/credential-change (test hook) {email, credential_type, change_type, friendly_name?}

import * as crypto from 'node:crypto';

import { HookError, accountByEmail } from './accounts.mjs';
import { esc, page, send } from './pages.mjs';
import { CREDENTIAL_CHANGE, nowSeconds } from './ssf.mjs';

// Factor kinds and their CAEP credential_type.
const KINDS = {
  totp: { credentialType: 'app', label: 'Authenticator app (TOTP)' },
  webauthn: { credentialType: 'fido2-roaming', label: 'Security key (WebAuthn)' },
  sms: { credentialType: 'phone-sms', label: 'Text message (SMS)' },
};
const KIND_OF_TYPE = Object.fromEntries(Object.entries(KINDS).map(([k, v]) => [v.credentialType, k]));
const CHANGE_TYPES = new Set(['create', 'delete']);

const byEmail = new Map(); // email -> [{ id, kind, friendly_name, created_at }]

export function resetFactors() {
  byEmail.clear();
}

const factorsOf = (email) => byEmail.get(email) ?? [];

function addFactor(email, kind, friendlyName) {
  const factor = {
    id: crypto.randomBytes(6).toString('hex'),
    kind,
    friendly_name: friendlyName || KINDS[kind].label,
    created_at: Date.now(),
  };
  byEmail.set(email, [...factorsOf(email), factor]);
  return factor;
}

function removeFactor(email, predicate) {
  const list = factorsOf(email);
  const factor = [...list].reverse().find(predicate);
  if (factor) byEmail.set(email, list.filter((f) => f !== factor));
  return factor;
}

function credentialChange(factor, changeType) {
  return {
    credential_type: KINDS[factor.kind].credentialType,
    change_type: changeType,
    friendly_name: factor.friendly_name,
    initiating_entity: 'user',
    event_timestamp: nowSeconds(),
  };
}

// ------------------------------------------------------------- test hook --

/**
 * `{email, credential_type, change_type, friendly_name?}`: credential_type is a CAEP value
 * (app, fido2-roaming, phone-sms) or a kind (totp, webauthn, sms); change_type create or delete.
 * Changes the in-memory factors like the page (a delete takes the newest factor of that kind, if
 * any) and answers, once the push ended, `{jti, event, delivery}`.
 */
export async function credentialChangeHook(transmitter, body) {
  if (!transmitter) throw new HookError(409, 'the IdP is not a transmitter: start it with IDP_SSF_PUSH_URL');
  const allowed = ['email', 'credential_type', 'change_type', 'friendly_name'];
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length) throw new HookError(400, `unknown field ${unknown.join(', ')}; allowed: ${allowed.join(', ')}`);
  const email = typeof body.email === 'string' ? body.email.trim().toLowerCase() : '';
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new HookError(400, 'email (an address) is required');
  const kind = KINDS[body.credential_type] ? body.credential_type : KIND_OF_TYPE[body.credential_type];
  if (!kind) {
    throw new HookError(400, `credential_type must be one of: ${[...Object.keys(KIND_OF_TYPE), ...Object.keys(KINDS)].join(', ')}`);
  }
  if (!CHANGE_TYPES.has(body.change_type)) throw new HookError(400, 'change_type must be create or delete');
  if (body.friendly_name !== undefined && typeof body.friendly_name !== 'string') {
    throw new HookError(400, 'friendly_name must be a string');
  }
  const factor = body.change_type === 'create'
    ? addFactor(email, kind, body.friendly_name)
    : removeFactor(email, (f) => f.kind === kind)
      ?? { kind, friendly_name: body.friendly_name || KINDS[kind].label };
  const event = credentialChange(factor, body.change_type);
  const { jti, done } = await transmitter.emit(CREDENTIAL_CHANGE, email, event);
  const { ok, status, error, attempts } = await done;
  return { jti, event, delivery: { ok, status, error, attempts } };
}

// ------------------------------------------------------------------ page --

const NOTICES = {
  added: 'Factor added.',
  removed: 'Factor removed.',
};
const DELIVERY = {
  ok: 'Gatehouse accepted the credential-change event.',
  failed: 'The credential-change event was not accepted (see the IdP\u2019s console output).',
  pending: 'The credential-change event is on its way.',
  off: 'No event was sent: the IdP is not a transmitter (IDP_SSF_PUSH_URL is not set).',
};

function lookupForm(email = '', error) {
  return `<form method="get" action="/account/factors">
${error ? `<p class="error" id="factors-error" role="alert">${esc(error)}</p>` : ''}
<label>Email <input name="email" type="email" id="factors-email" value="${esc(email)}" required autofocus></label>
<button type="submit" id="factors-open">Show factors</button>
</form>`;
}

function factorsPage(transmitter, email, { notice, delivery, error } = {}) {
  const title = 'Gatehouse Dev IdP \u2013 Sign-in factors';
  const account = email && accountByEmail(email);
  if (!account) {
    const body = `<h1>Sign-in factors</h1>
<p class="hint">Development only: add or remove a factor of a demo account to see Gatehouse hear of it as a Shared Signals event.</p>
${lookupForm(email, email ? `No account ${email}` : undefined)}`;
    return { status: email ? 404 : 200, html: page(title, body) };
  }
  const rows = factorsOf(email).map((f) => `<tr data-factor="${esc(f.id)}">
<td>${esc(KINDS[f.kind].label)}</td><td>${esc(f.friendly_name)}</td>
<td><form method="post" action="/account/factors">
<input type="hidden" name="op" value="remove"><input type="hidden" name="email" value="${esc(email)}"><input type="hidden" name="id" value="${esc(f.id)}">
<label>Password <input name="password" type="password" required></label>
<button type="submit">Remove</button>
</form></td></tr>`).join('\n');
  const sending = transmitter
    ? `<p class="hint" id="factors-target">Each change is pushed to ${esc(transmitter.pushUrl)} as a CAEP credential-change event.</p>`
    : `<p class="hint" id="factors-target">${esc(DELIVERY.off)}</p>`;
  const status = [NOTICES[notice], DELIVERY[delivery]].filter(Boolean).join(' ');
  const body = `<h1>Sign-in factors of ${esc(account.name)}</h1>
<p class="hint">${esc(email)} \u2013 development only; the factors are not used to sign in.</p>
${sending}
${status ? `<p id="factors-notice" role="status">${esc(status)}</p>` : ''}
${error ? `<p class="error" id="factors-error" role="alert">${esc(error)}</p>` : ''}
${rows ? `<table id="factors-table"><caption>Factors</caption>
<thead><tr><th scope="col">Kind</th><th scope="col">Name</th><th scope="col"></th></tr></thead>
<tbody>
${rows}
</tbody></table>` : '<p id="factors-empty">No factors yet.</p>'}
<h2>Add a factor</h2>
<form method="post" action="/account/factors" id="factor-add">
<input type="hidden" name="op" value="add"><input type="hidden" name="email" value="${esc(email)}">
<label>Kind <select name="kind" id="factor-kind">
${Object.entries(KINDS).map(([k, v]) => `<option value="${k}">${esc(v.label)}</option>`).join('\n')}
</select></label>
<label>Name (optional) <input name="friendly_name" id="factor-name" maxlength="100"></label>
<label>Password <input name="password" type="password" id="factor-password" required></label>
<button type="submit" id="factor-add-submit">Add factor</button>
</form>
<p><a href="/account/factors">Another account</a></p>`;
  return { status: error ? 400 : 200, html: page(title, body) };
}

/**
 * GET or POST /account/factors. `checkPassword(password)` is the sign-in form's check;
 * `readBody(req)` reads a form body.
 */
export async function handleFactors(req, res, { transmitter, checkPassword, readBody }) {
  const url = new URL(req.url, 'http://idp.invalid');
  if (req.method === 'GET' || req.method === 'HEAD') {
    const email = (url.searchParams.get('email') || '').trim().toLowerCase();
    const { status, html } = factorsPage(transmitter, email, {
      notice: url.searchParams.get('done'), delivery: url.searchParams.get('delivery'),
    });
    send(res, status, html);
    return;
  }
  if (req.method !== 'POST') { send(res, 405, 'method not allowed\n', 'text/plain; charset=utf-8'); return; }

  const form = new URLSearchParams(await readBody(req));
  const email = (form.get('email') || '').trim().toLowerCase();
  const op = form.get('op');
  const fail = (status, error) => send(res, status, factorsPage(transmitter, email, { error }).html);
  if (!accountByEmail(email)) { fail(404, `No account ${email}`); return; }
  if (!checkPassword(form.get('password') || '')) { fail(403, 'Wrong password'); return; }
  let factor;
  let changeType;
  if (op === 'add') {
    const kind = form.get('kind');
    if (!KINDS[kind]) { fail(400, 'Choose a kind of factor'); return; }
    factor = addFactor(email, kind, (form.get('friendly_name') || '').trim().slice(0, 100));
    changeType = 'create';
  } else if (op === 'remove') {
    factor = removeFactor(email, (f) => f.id === form.get('id'));
    if (!factor) { fail(404, 'That factor is gone already'); return; }
    changeType = 'delete';
  } else {
    fail(400, 'Unknown operation');
    return;
  }
  let delivery = 'off';
  if (transmitter) {
    const first = await transmitter.emitBriefly(CREDENTIAL_CHANGE, email, credentialChange(factor, changeType));
    delivery = { true: 'ok', false: 'failed' }[first.ok] ?? 'pending';
  }
  const done = changeType === 'create' ? 'added' : 'removed';
  res.statusCode = 303;
  res.setHeader('Location', `/account/factors?email=${encodeURIComponent(email)}&done=${done}&delivery=${delivery}`);
  res.setHeader('Cache-Control', 'no-store');
  res.end();
}
