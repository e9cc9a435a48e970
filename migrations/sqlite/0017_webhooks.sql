-- Signed webhooks (issue 15): endpoints that hear of audit events, delivered through the same
-- outbox as provisioning targets. A message's `subject` is the audit event's `seq`.
--
-- The signing secret is encrypted with GATEHOUSE_SECRETS_KEY (it must be readable to sign);
-- only a hint is shown after it was handed out once.
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    secret_sealed   TEXT NOT NULL,
    secret_hint     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('active', 'paused')),
    max_attempts    INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    lease_owner     TEXT,
    lease_until     INTEGER NOT NULL DEFAULT 0,
    last_success_at INTEGER NOT NULL DEFAULT 0
);

-- What an endpoint hears: `*`, an area (`user`) or an action (`user.update`); an area matches
-- its actions and sub-areas (`application` matches `application.provisioning.update`).
CREATE TABLE webhook_events (
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event       TEXT NOT NULL,
    PRIMARY KEY (endpoint_id, event)
);

-- The outbox now serves two kinds of target, so its target column can no longer reference
-- provisioning_targets alone. SQLite cannot drop a foreign key: the table is rebuilt, keeping
-- every message and the sequence's high-water mark (a message id is never reused).
CREATE TABLE outbox_new (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    target_id       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    done_at         INTEGER
);
INSERT INTO outbox_new (seq, target_id, subject, created_at, state, attempts, next_attempt_at, last_error, done_at)
    SELECT seq, target_id, subject, created_at, state, attempts, next_attempt_at, last_error, done_at FROM outbox;
DELETE FROM sqlite_sequence WHERE name = 'outbox_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox_new', seq FROM sqlite_sequence WHERE name = 'outbox';
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_queue ON outbox (target_id, state, seq);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at) WHERE state = 'pending';
