-- Reconciliation for provisioning out (issue 15): how often a target is checked and repaired
-- on its own, and the last check's report per target (shown on the application page without
-- JavaScript, and fixed from, row by row or all at once).
--
-- `reconcile_next_at` is claimed with a compare-and-set UPDATE, so of several instances one
-- runs a due check.
ALTER TABLE provisioning_targets ADD COLUMN reconcile_every_hours INTEGER NOT NULL DEFAULT 0;
ALTER TABLE provisioning_targets ADD COLUMN reconcile_next_at INTEGER NOT NULL DEFAULT 0;

-- `report` is the JSON of the check: counts, at most 1,000 drift rows, each row's fix state.
-- `version` makes concurrent fixes of one report merge instead of overwriting each other.
CREATE TABLE reconciliation_reports (
    target_id  TEXT PRIMARY KEY REFERENCES provisioning_targets (id) ON DELETE CASCADE,
    checked_at INTEGER NOT NULL,
    report     TEXT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1
);
