-- Checkpoints are append-only like the events they vouch for: a checkpoint is never changed or
-- removed, so a rewritten chain cannot be made to match them by editing the table.
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;

-- `INSERT OR REPLACE` deletes the old row without firing delete triggers (SQLite fires them only
-- with recursive triggers on). A second checkpoint of a position is ignored, as the application's
-- `ON CONFLICT DO NOTHING` does; a second event at a position is refused.
CREATE TRIGGER audit_checkpoints_no_replace BEFORE INSERT ON audit_checkpoints
WHEN EXISTS (SELECT 1 FROM audit_checkpoints WHERE seq = NEW.seq)
BEGIN SELECT RAISE(IGNORE); END;
CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events
WHEN EXISTS (SELECT 1 FROM audit_events WHERE seq = NEW.seq)
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
