-- Shared Signals (issue 16), Gatehouse as receiver. An administrator registers a transmitter
-- (an identity provider, an MDM) by its issuer; its keys (JWKS, fetched from `jwks_uri` or
-- discovered from its SSF metadata) are cached here. Every transmitter pushes to the one
-- endpoint, /ssf/receive (RFC 8935), and is found by the token's `iss`. `source_id` names the
-- provisioning source whose users its `iss_sub` (and email) subjects are matched in; NULL: all.
CREATE TABLE ssf_transmitters (
    id               TEXT COLLATE "C" PRIMARY KEY,
    name             TEXT NOT NULL,
    issuer           TEXT NOT NULL UNIQUE,
    jwks_uri         TEXT NOT NULL,
    audience         TEXT NOT NULL,
    source_id        TEXT,
    status           TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    max_age_seconds  BIGINT NOT NULL,
    jwks             TEXT NOT NULL DEFAULT '',
    jwks_fetched_at  BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    version          BIGINT NOT NULL DEFAULT 1,
    last_received_at BIGINT NOT NULL DEFAULT 0,
    received_count   BIGINT NOT NULL DEFAULT 0,
    rejected_count   BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT ''
);

-- Every accepted token, written in the transaction of the change it made: the primary key is
-- the replay guard (a second insert of a `jti` is a replay). Rows older than twice the
-- transmitter's max age are pruned (a token that old is refused by its `iat` anyway).
CREATE TABLE ssf_received (
    transmitter_id TEXT COLLATE "C" NOT NULL REFERENCES ssf_transmitters (id) ON DELETE CASCADE,
    jti            TEXT COLLATE "C" NOT NULL,
    received_at    BIGINT NOT NULL,
    event_type     TEXT NOT NULL,
    result         TEXT NOT NULL CHECK (result IN ('applied', 'unmatched', 'ignored')),
    user_id        TEXT,
    summary        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (transmitter_id, jti)
);
CREATE INDEX ssf_received_by_time ON ssf_received (transmitter_id, received_at);

-- A device-compliance event names a device by its id or its fingerprint (the MDM's identifier).
CREATE INDEX devices_by_fingerprint ON devices (fingerprint);
