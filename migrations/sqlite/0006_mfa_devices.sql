-- Support desk: MFA factors, the MFA reset (its record and the one-time re-enrollment links),
-- devices, and the console administrators whose own accounts support may not reset.
-- Times are Unix milliseconds; NULL "last used" means never.
CREATE TABLE mfa_factors (
    id                 TEXT PRIMARY KEY,           -- f_ + UUIDv7
    user_id            TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind               TEXT NOT NULL CHECK (kind IN ('totp', 'webauthn', 'sms', 'voice', 'email_otp', 'recovery_codes')),
    label              TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('active', 'pending', 'disabled')),
    enrolled_at        INTEGER NOT NULL,
    last_used_at       INTEGER,
    credential_id      TEXT,                       -- WebAuthn
    authenticator_name TEXT,                       -- WebAuthn
    aaguid             TEXT,                       -- WebAuthn
    phone              TEXT,                       -- SMS / voice, E.164
    email              TEXT,                       -- email OTP
    codes_left         INTEGER                     -- recovery codes: how many are left (never the codes)
);
CREATE INDEX mfa_factors_by_user ON mfa_factors (user_id, enrolled_at);

CREATE TABLE devices (
    id             TEXT PRIMARY KEY,               -- d_ + UUIDv7
    owner_user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    platform       TEXT NOT NULL,                  -- ios, android, macos, windows, linux, chromeos
    os_version     TEXT NOT NULL DEFAULT '',
    kind           TEXT NOT NULL CHECK (kind IN ('phone', 'laptop', 'browser', 'server')),
    fingerprint    TEXT NOT NULL,                  -- identifier or public-key fingerprint
    trust_state    TEXT NOT NULL CHECK (trust_state IN ('trusted', 'untrusted', 'blocked')),
    remembered     INTEGER NOT NULL DEFAULT 0,     -- "remember this device" skips MFA at sign-in
    first_seen_at  INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL,
    last_ip        TEXT,
    updated_at     INTEGER NOT NULL
);
-- Keyset pages, newest sighting first, for each filter.
CREATE INDEX devices_by_last_seen ON devices (last_seen_at, id);
CREATE INDEX devices_by_owner ON devices (owner_user_id, last_seen_at, id);
CREATE INDEX devices_by_state ON devices (trust_state, last_seen_at, id);
CREATE INDEX devices_by_platform ON devices (platform, last_seen_at, id);

-- One-time re-enrollment links: only the SHA-256 of the token is stored.
CREATE TABLE enrollment_links (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reset_id    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX enrollment_links_by_user ON enrollment_links (user_id);

-- Every completed MFA reset (refusals are in the audit log only). No foreign key: the record
-- outlives the account's purge.
CREATE TABLE mfa_resets (
    id                TEXT PRIMARY KEY,
    agent_email       TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    user_email        TEXT NOT NULL,
    ticket            TEXT NOT NULL,
    reason            TEXT NOT NULL,
    note              TEXT NOT NULL,
    checks            TEXT NOT NULL,               -- JSON array of the verification checks done
    factors_removed   INTEGER NOT NULL,
    devices_untrusted INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
);
CREATE INDEX mfa_resets_by_agent ON mfa_resets (agent_email, created_at);
CREATE INDEX mfa_resets_by_user ON mfa_resets (user_id, created_at);

-- Emails that have signed in to the console as administrators: their accounts are protected
-- from support's MFA reset (see docs/decisions.md).
CREATE TABLE console_admins (
    email         TEXT PRIMARY KEY,                -- lowercase
    first_seen_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
);
