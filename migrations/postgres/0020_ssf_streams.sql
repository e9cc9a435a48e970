-- Shared Signals (issue 16), Gatehouse as transmitter. An administrator registers a receiver
-- (globally or for one application) and hands it a bearer token, shown once, stored as a
-- SHA-256. The receiver then configures its one stream through the SSF management API
-- (`configured`, delivery, events requested). Status follows SSF: active (= enabled), paused
-- (events are kept and sent on resume), disabled (nothing is kept). Messages go through the
-- outbox; a message's `subject` is an ssf_events row's `jti`.
CREATE TABLE ssf_streams (
    id                   TEXT COLLATE "C" PRIMARY KEY,
    name                 TEXT NOT NULL,
    application_id       TEXT,
    audience             TEXT NOT NULL,
    subject_format       TEXT NOT NULL CHECK (subject_format IN ('email', 'iss_sub', 'opaque')),
    token_hash           TEXT NOT NULL UNIQUE,
    token_hint           TEXT NOT NULL,
    configured           BIGINT NOT NULL DEFAULT 0,
    endpoint_url         TEXT NOT NULL DEFAULT '',
    authorization_sealed TEXT NOT NULL DEFAULT '',
    events_requested     TEXT NOT NULL DEFAULT '[]',
    description          TEXT NOT NULL DEFAULT '',
    status               TEXT NOT NULL CHECK (status IN ('active', 'paused', 'disabled')),
    status_reason        TEXT NOT NULL DEFAULT '',
    max_attempts         BIGINT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    verified_at          BIGINT NOT NULL DEFAULT 0,
    version              BIGINT NOT NULL DEFAULT 1,
    lease_owner          TEXT,
    lease_until          BIGINT NOT NULL DEFAULT 0,
    last_success_at      BIGINT NOT NULL DEFAULT 0
);

-- Each Security Event Token queued for a stream, its claims fixed when the change was made
-- (a purged person's email is still known); `iss` is added and the token signed when sent, so
-- a rotated key signs what is still waiting.
CREATE TABLE ssf_events (
    jti        TEXT COLLATE "C" PRIMARY KEY,
    stream_id  TEXT COLLATE "C" NOT NULL REFERENCES ssf_streams (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    claims     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ssf_events_stream ON ssf_events (stream_id, created_at);
