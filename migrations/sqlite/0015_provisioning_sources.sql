-- Provisioning sources (issue 14): each SCIM client (an identity provider or HR system) is a
-- source. Its id is the `source` its users and groups carry; its bearer token is stored only
-- as a SHA-256 hash. The counters and the last request are kept in the transaction of each
-- change the source makes; its last errors in `provisioning_errors` (the newest 20 are shown).
CREATE TABLE provisioning_sources (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    token_hash       TEXT NOT NULL,
    token_hint       TEXT NOT NULL,
    owned_attributes TEXT NOT NULL DEFAULT '[]',  -- JSON list
    match_rule       TEXT NOT NULL CHECK (match_rule IN ('none', 'employee_number')),
    status           TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    last_request_at  INTEGER NOT NULL DEFAULT 0,
    creates          INTEGER NOT NULL DEFAULT 0,
    updates          INTEGER NOT NULL DEFAULT 0,
    deactivations    INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX provisioning_sources_by_token ON provisioning_sources (token_hash);

CREATE TABLE provisioning_errors (
    id         TEXT PRIMARY KEY,
    source_id  TEXT NOT NULL REFERENCES provisioning_sources (id),
    at         INTEGER NOT NULL,
    method     TEXT NOT NULL,
    path       TEXT NOT NULL,
    status     INTEGER NOT NULL,
    scim_type  TEXT,
    detail     TEXT NOT NULL
);
CREATE INDEX provisioning_errors_by_source ON provisioning_errors (source_id, at);

-- The employee number of SCIM's enterprise extension, copied out of `attributes` so that the
-- `employee_number` matching rule, duplicate evidence and SCIM filters on it use an index.
ALTER TABLE users ADD COLUMN employee_number TEXT;
CREATE INDEX users_by_employee_number ON users (employee_number) WHERE employee_number IS NOT NULL;

-- SCIM's userName, lowercase, when it is not the account's email ("jdoe"): `userName eq`
-- compares it, or the email when it is NULL, through an index either way.
ALTER TABLE users ADD COLUMN user_name TEXT;
CREATE INDEX users_by_user_name ON users (user_name) WHERE user_name IS NOT NULL;
