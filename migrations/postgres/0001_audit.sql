-- The append-only, hash-chained audit log. Each event's hash covers its content and the previous
-- event's hash (see docs/audit-chain.md). `audit_head` holds the chain head; appending locks its
-- row, so concurrent writers (several instances) never fork the chain.
CREATE TABLE audit_events (
    seq           BIGINT PRIMARY KEY,           -- position in the chain: 1, 2, 3 ... without gaps
    occurred_at   BIGINT NOT NULL,              -- Unix epoch milliseconds, UTC
    actor_subject TEXT,
    actor_email   TEXT,
    actor_role    TEXT,
    action        TEXT NOT NULL,
    target_type   TEXT,
    target_id     TEXT,
    outcome       TEXT NOT NULL CHECK (outcome IN ('success', 'denied', 'failed')),
    client_ip     TEXT,
    user_agent    TEXT,
    details       TEXT NOT NULL DEFAULT '{}',   -- JSON object
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);
CREATE INDEX audit_events_occurred_at ON audit_events (occurred_at);
CREATE INDEX audit_events_actor ON audit_events (actor_email, seq);
CREATE INDEX audit_events_action ON audit_events (action, seq);
CREATE INDEX audit_events_target ON audit_events (target_type, target_id, seq);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
