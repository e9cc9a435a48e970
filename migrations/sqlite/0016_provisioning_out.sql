-- Provisioning out (issue 15): an application's SCIM 2.0 target, the outbox every change that
-- other systems must hear of is written to (in the transaction of the change), and the
-- accounts Gatehouse made in each target.
--
-- A target's credential is encrypted with GATEHOUSE_SECRETS_KEY (XChaCha20-Poly1305); only a
-- hint is shown. The lease columns make one instance at a time deliver a target's messages,
-- in order; an instance that dies loses its lease when `lease_until` passes.
CREATE TABLE provisioning_targets (
    id                TEXT PRIMARY KEY,
    application_id    TEXT NOT NULL UNIQUE REFERENCES applications (id),
    base_url          TEXT NOT NULL,
    credential_sealed TEXT NOT NULL,
    credential_hint   TEXT NOT NULL,
    attributes        TEXT NOT NULL DEFAULT '[]',  -- JSON list of optional attributes sent
    preferred_source  TEXT,                         -- the account of this source is sent first
    status            TEXT NOT NULL CHECK (status IN ('active', 'paused')),
    max_attempts      INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    version           INTEGER NOT NULL DEFAULT 1,
    lease_owner       TEXT,
    lease_until       INTEGER NOT NULL DEFAULT 0,
    last_success_at   INTEGER NOT NULL DEFAULT 0
);

-- One row per message; `seq` is its stable id (never reused) and its order within a target.
-- `subject` is what the message is about: a person (GUID) for SCIM targets.
CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    target_id       TEXT NOT NULL REFERENCES provisioning_targets (id) ON DELETE CASCADE,
    subject         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    done_at         INTEGER
);
-- The head of each target's queue, and the due targets.
CREATE INDEX outbox_queue ON outbox (target_id, state, seq);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at) WHERE state = 'pending';

-- The account Gatehouse made for a person in a target: its id there and whether it is active.
CREATE TABLE provisioned_accounts (
    target_id  TEXT NOT NULL REFERENCES provisioning_targets (id) ON DELETE CASCADE,
    guid_id    TEXT NOT NULL,
    remote_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,   -- the account sent (see docs/decisions.md, "Provisioning out")
    active     INTEGER NOT NULL,
    synced_at  INTEGER NOT NULL,
    PRIMARY KEY (target_id, guid_id)
);
CREATE INDEX provisioned_accounts_by_guid ON provisioned_accounts (guid_id, target_id);
