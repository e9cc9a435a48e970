-- Audit streaming to the SIEM (issue 17). A sink is a destination the audit log is streamed to
-- (a Splunk HTTP Event Collector, an NDJSON webhook, a syslog server) and a cursor over the
-- chain: the worker reads `audit_events WHERE seq > cursor_seq ORDER BY seq` (the primary key)
-- and moves the cursor, compare-and-set, once the destination acknowledged. Nothing is queued
-- per event. The lease columns make one instance at a time deliver a sink.
--
-- The HEC token or the webhook's Authorization header is encrypted with GATEHOUSE_SECRETS_KEY;
-- only a hint is shown. `source` is 'env' for sinks of GATEHOUSE_AUDIT_SINKS (read-only in the
-- console). `ack_id` is an HEC acknowledgement being waited for: the batch up to `ack_through`
-- counts as delivered only once the HEC confirms it.
CREATE TABLE audit_sinks (
    id                TEXT PRIMARY KEY,             -- snk_<uuid>
    name              TEXT NOT NULL UNIQUE,
    kind              TEXT NOT NULL CHECK (kind IN ('hec', 'ndjson', 'syslog')),
    format            TEXT NOT NULL CHECK (format IN ('gatehouse', 'ocsf')),
    url               TEXT NOT NULL,                -- https (http on localhost), or tcp://host:port
    credential_sealed TEXT NOT NULL DEFAULT '',
    credential_hint   TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL CHECK (status IN ('active', 'paused')),
    source            TEXT NOT NULL CHECK (source IN ('console', 'env')),
    batch_size        INTEGER NOT NULL,
    cursor_seq        INTEGER NOT NULL,             -- the last event delivered and acknowledged
    delivered_at      INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT NOT NULL DEFAULT '',
    last_error_at     INTEGER NOT NULL DEFAULT 0,
    failures          INTEGER NOT NULL DEFAULT 0,   -- consecutive failed attempts (the backoff)
    next_attempt_at   INTEGER NOT NULL DEFAULT 0,
    ack_id            INTEGER,
    ack_through       INTEGER NOT NULL DEFAULT 0,
    ack_since         INTEGER NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_until       INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    version           INTEGER NOT NULL DEFAULT 1
);
