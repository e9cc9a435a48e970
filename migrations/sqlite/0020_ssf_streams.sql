-- Shared Signals (issue 16), Gatehouse as transmitter. An administrator registers a receiver
-- (globally or for one application) and hands it a bearer token, shown once, stored as a
-- SHA-256. The receiver then configures its one stream through the SSF management API
-- (`configured`, delivery, events requested). Status follows SSF: active (= enabled), paused
-- (events are kept and sent on resume), disabled (nothing is kept). Messages go through the
-- outbox; a message's `subject` is an ssf_events row's `jti`.
CREATE TABLE ssf_streams (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    application_id       TEXT,
    audience             TEXT NOT NULL,
    subject_format       TEXT NOT NULL CHECK (subject_format IN ('email', 'iss_sub', 'opaque')),
    token_hash           TEXT NOT NULL UNIQUE,
    token_hint           TEXT NOT NULL,
    configured           INTEGER NOT NULL DEFAULT 0,
    endpoint_url         TEXT NOT NULL DEFAULT '',
    authorization_sealed TEXT NOT NULL DEFAULT '',
    events_requested     TEXT NOT NULL DEFAULT '[]',
    description          TEXT NOT NULL DEFAULT '',
    status               TEXT NOT NULL CHECK (status IN ('active', 'paused', 'disabled')),
    status_reason        TEXT NOT NULL DEFAULT '',
    max_attempts         INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    verified_at          INTEGER NOT NULL DEFAULT 0,
    version              INTEGER NOT NULL DEFAULT 1,
    lease_owner          TEXT,
    lease_until          INTEGER NOT NULL DEFAULT 0,
    last_success_at      INTEGER NOT NULL DEFAULT 0
);

-- Each Security Event Token queued for a stream, its claims fixed when the change was made
-- (a purged person's email is still known); `iss` is added and the token signed when sent, so
-- a rotated key signs what is still waiting.
CREATE TABLE ssf_events (
    jti        TEXT PRIMARY KEY,
    stream_id  TEXT NOT NULL REFERENCES ssf_streams (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    claims     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX ssf_events_stream ON ssf_events (stream_id, created_at);
