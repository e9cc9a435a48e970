-- Management API credentials (issue 13): service accounts (machine identities with management
-- scopes) and bearer tokens, both for service accounts and personal tokens of console staff.
-- A token is stored as the SHA-256 of the whole string; its id is the public part of its prefix.
CREATE TABLE service_accounts (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL UNIQUE,         -- lowercase name: one account per name
    owner_email TEXT NOT NULL,                -- the person answerable for it
    description TEXT NOT NULL DEFAULT '',
    scopes      TEXT NOT NULL,                -- JSON list: the most any of its tokens may hold
    status      TEXT NOT NULL DEFAULT 'active',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX service_accounts_by_created ON service_accounts (created_at, id);

CREATE TABLE api_tokens (
    id                 TEXT PRIMARY KEY,      -- the id inside the visible prefix ght_<id>
    kind               TEXT NOT NULL CHECK (kind IN ('service', 'personal')),
    service_account_id TEXT REFERENCES service_accounts (id),
    owner_subject      TEXT,                  -- personal tokens: the staff member's IdP subject
    owner_email        TEXT NOT NULL,
    name               TEXT NOT NULL,
    scopes             TEXT NOT NULL,         -- JSON list
    secret_hash        TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    revoked_at         BIGINT,
    last_used_at       BIGINT NOT NULL DEFAULT 0,
    use_count          BIGINT NOT NULL DEFAULT 0,
    personal_reads     BIGINT NOT NULL DEFAULT 0, -- reads of people's data (users, people, devices, MFA)
    CHECK ((kind = 'service') = (service_account_id IS NOT NULL)),
    CHECK ((kind = 'personal') = (owner_subject IS NOT NULL))
);
CREATE INDEX api_tokens_by_account ON api_tokens (service_account_id, created_at);
CREATE INDEX api_tokens_by_owner ON api_tokens (owner_subject, created_at);
CREATE INDEX api_tokens_by_expiry ON api_tokens (expires_at);

-- Idempotency-Key: the first answer to a creating POST, replayed for 24 hours.
CREATE TABLE api_idempotency (
    token_id     TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    location     TEXT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (token_id, key)
);
CREATE INDEX api_idempotency_by_created ON api_idempotency (created_at);

-- Personal tokens act for their owner only while the identity provider still gives the owner a
-- role: the role as last confirmed (sign-in or re-check), and when. A removed role deletes the
-- row and revokes the owner's personal tokens.
CREATE TABLE token_owners (
    subject      TEXT PRIMARY KEY,
    email        TEXT NOT NULL,
    role         TEXT NOT NULL,
    confirmed_at BIGINT NOT NULL
);
