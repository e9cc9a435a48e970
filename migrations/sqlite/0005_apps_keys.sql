-- Applications (OAuth/OIDC clients and services), their client secrets, the people assigned to
-- them, and API keys. Secrets and keys are stored only as SHA-256 hashes. Times: Unix ms.
CREATE TABLE applications (
    id            TEXT PRIMARY KEY,              -- also the OAuth client id
    name          TEXT NOT NULL,
    name_key      TEXT NOT NULL,                 -- lowercase name: unique, sorted, searched by prefix
    owner_user_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('web', 'spa', 'native', 'm2m')),
    redirect_uris TEXT NOT NULL DEFAULT '[]',    -- JSON arrays
    post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]',
    grant_types   TEXT NOT NULL DEFAULT '[]',
    scopes        TEXT NOT NULL DEFAULT '[]',
    pkce_required INTEGER NOT NULL DEFAULT 1,
    status        TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX applications_by_name ON applications (name_key);
CREATE INDEX applications_by_owner ON applications (owner_user_id);

CREATE TABLE client_secrets (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id),
    secret_hash    TEXT NOT NULL,
    hint           TEXT NOT NULL,                -- last four characters
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER,                      -- end of the grace period after a rotation
    revoked_at     INTEGER
);
CREATE INDEX client_secrets_by_app ON client_secrets (application_id, created_at);

CREATE TABLE app_assignments (
    application_id TEXT NOT NULL REFERENCES applications (id),
    guid_id        TEXT NOT NULL REFERENCES guids (id),
    assigned_at    INTEGER NOT NULL,
    PRIMARY KEY (application_id, guid_id)
);
CREATE INDEX app_assignments_by_guid ON app_assignments (guid_id);

CREATE TABLE api_keys (
    id             TEXT PRIMARY KEY,             -- the key id inside the visible prefix ghk_<id>
    application_id TEXT NOT NULL REFERENCES applications (id),
    owner_user_id  TEXT REFERENCES users (id) ON DELETE CASCADE, -- personal key; NULL: the application's own
    name           TEXT NOT NULL,
    scopes         TEXT NOT NULL DEFAULT '[]',
    secret_hash    TEXT NOT NULL,                -- SHA-256 of the whole key
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER,
    revoked_at     INTEGER,
    replaced_by    TEXT,
    last_used_at   INTEGER NOT NULL DEFAULT 0,
    use_count      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_by_created ON api_keys (created_at, id);
CREATE INDEX api_keys_by_app ON api_keys (application_id, created_at, id);
CREATE INDEX api_keys_by_owner ON api_keys (owner_user_id);
CREATE INDEX api_keys_by_expiry ON api_keys (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX api_keys_by_last_used ON api_keys (last_used_at);
