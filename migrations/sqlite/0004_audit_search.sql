-- Audit search: every filter has an index ending in seq, so "newest first" pages stay fast at
-- ten million events.
CREATE INDEX audit_events_outcome ON audit_events (outcome, seq);
CREATE INDEX audit_events_client_ip ON audit_events (client_ip, seq);

-- Checkpoints: the chain head at a moment, signed with Gatehouse's Ed25519 key when one is
-- configured. Verification compares the chain with every checkpoint, so a chain rewritten from
-- the start (hashes recomputed) no longer matches the signed heads.
CREATE TABLE audit_checkpoints (
    seq        INTEGER PRIMARY KEY,   -- the last event covered
    hash       TEXT NOT NULL,         -- that event's hash
    created_at INTEGER NOT NULL,
    public_key TEXT,                  -- hex Ed25519 public key; NULL when unsigned
    signature  TEXT                   -- hex Ed25519 signature of checkpoint_message(...)
);

-- Retention: events up to the anchor have been archived and removed; the chain continues from
-- the anchor's hash. Only events at or before the anchor may be deleted.
CREATE TABLE audit_anchor (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_anchor (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
DROP TRIGGER audit_events_no_delete;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN OLD.seq > (SELECT seq FROM audit_anchor WHERE id = 1)
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
