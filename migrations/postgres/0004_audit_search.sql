-- Audit search: every filter has an index ending in seq, so "newest first" pages stay fast at
-- ten million events.
CREATE INDEX audit_events_outcome ON audit_events (outcome, seq);
CREATE INDEX audit_events_client_ip ON audit_events (client_ip, seq);

-- Checkpoints: the chain head at a moment, signed with Gatehouse's Ed25519 key when one is
-- configured. Verification compares the chain with every checkpoint, so a chain rewritten from
-- the start (hashes recomputed) no longer matches the signed heads.
CREATE TABLE audit_checkpoints (
    seq        BIGINT PRIMARY KEY,
    hash       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    public_key TEXT,
    signature  TEXT
);

-- Retention: events up to the anchor have been archived and removed; the chain continues from
-- the anchor's hash. Only events at or before the anchor may be deleted.
CREATE TABLE audit_anchor (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_anchor (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.seq <= (SELECT seq FROM audit_anchor WHERE id = 1) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;
