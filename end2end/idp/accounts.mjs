// Accounts of the dev identity provider: the four demo accounts, and the changes the
// `POST /__test/account` and `POST /__test/reset` test hooks make (see server.mjs).

import * as crypto from 'node:crypto';

export const DEMO_ACCOUNTS = [
  { email: 'admin@example.com', sub: 'u-admin', name: 'Ada Admin', groups: ['console-admins'] },
  { email: 'support@example.com', sub: 'u-support', name: 'Sam Support', groups: ['helpdesk'] },
  { email: 'auditor@example.com', sub: 'u-auditor', name: 'Alex Auditor', groups: ['auditors'] },
  { email: 'nobody@example.com', sub: 'u-nobody', name: 'Nora Nobody', groups: [] },
];

// Claims a test may leave out of the ID token (and, per account, out of userinfo too).
export const PROFILE_CLAIMS = new Set(['email', 'email_verified', 'name', 'groups']);

// By email (sign-in) and by sub (tokens, userinfo, refresh).
const byEmail = new Map();
const bySub = new Map();

function put(account) {
  byEmail.set(account.email, account);
  bySub.set(account.sub, account);
}

export function resetAccounts() {
  byEmail.clear();
  bySub.clear();
  for (const a of DEMO_ACCOUNTS) {
    put({ ...a, groups: [...a.groups], email_verified: true, disabled: false, omit_claims: [] });
  }
}
resetAccounts();

export const accountByEmail = (email) => byEmail.get(email);
export const accountBySub = (sub) => bySub.get(sub);

// The claims an account shows in ID tokens and userinfo, read at the time of each call.
export function accountClaims(account) {
  const claims = {
    sub: account.sub,
    email: account.email,
    email_verified: account.email_verified,
    name: account.name,
    groups: [...account.groups],
  };
  for (const claim of account.omit_claims) delete claims[claim];
  return claims;
}

export class HookError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const FIELDS = ['email', 'sub', 'name', 'groups', 'disabled', 'email_verified', 'omit_claims'];
const isStringList = (v) => Array.isArray(v) && v.every((x) => typeof x === 'string');

function check(ok, message) {
  if (!ok) throw new HookError(400, message);
}

// Applies `{ email, groups?, disabled?, email_verified?, sub?, name?, omit_claims? }`: changes the
// account with that email, or creates it. Returns { created, account }.
export function changeAccount(body) {
  check(body && typeof body === 'object' && !Array.isArray(body), 'the body must be a JSON object');
  const unknown = Object.keys(body).filter((k) => !FIELDS.includes(k));
  check(unknown.length === 0, `unknown field ${unknown.join(', ')}; allowed: ${FIELDS.join(', ')}`);
  check(typeof body.email === 'string', 'email (a string) is required');
  const email = body.email.trim().toLowerCase();
  check(/^[^\s@]+@[^\s@]+$/.test(email), `email ${JSON.stringify(body.email)} is not an address`);
  check(body.groups === undefined || isStringList(body.groups), 'groups must be a list of strings');
  check(body.disabled === undefined || typeof body.disabled === 'boolean', 'disabled must be true or false');
  check(body.email_verified === undefined || typeof body.email_verified === 'boolean',
    'email_verified must be true or false');
  check(body.sub === undefined || (typeof body.sub === 'string' && body.sub.length > 0 && body.sub.length <= 255),
    'sub must be a non-empty string of at most 255 characters');
  check(body.name === undefined || typeof body.name === 'string', 'name must be a string');
  check(body.omit_claims === undefined
    || (isStringList(body.omit_claims) && body.omit_claims.every((c) => PROFILE_CLAIMS.has(c))),
  `omit_claims must be a list of: ${[...PROFILE_CLAIMS].join(', ')}`);

  const existing = byEmail.get(email);
  const sub = body.sub ?? existing?.sub
    ?? `u-${crypto.createHash('sha256').update(email).digest('hex').slice(0, 16)}`;
  const holder = bySub.get(sub);
  if (holder && holder !== existing) {
    throw new HookError(409, `sub ${sub} already belongs to ${holder.email}`);
  }
  const account = existing ?? {
    email, sub, name: email.split('@')[0], groups: [], email_verified: true, disabled: false, omit_claims: [],
  };
  if (existing && sub !== existing.sub) bySub.delete(existing.sub);
  account.sub = sub;
  if (body.name !== undefined) account.name = body.name;
  if (body.groups !== undefined) account.groups = [...body.groups];
  if (body.disabled !== undefined) account.disabled = body.disabled;
  if (body.email_verified !== undefined) account.email_verified = body.email_verified;
  if (body.omit_claims !== undefined) account.omit_claims = [...body.omit_claims];
  put(account);
  return { created: !existing, account: { ...account, groups: [...account.groups] } };
}
