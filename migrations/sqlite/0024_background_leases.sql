-- Several instances (issue 17): background work that must run once across instances (the user
-- purge, audit checkpoints and retention, the session clean-up, the reconciliation schedule) runs
-- on whichever instance holds the task's lease. An instance claims a task with one compare-and-set
-- UPDATE (the lease is free when `lease_until` has passed, or already its own), renews it every few
-- seconds while it lives and frees it when it stops; one that dies stops renewing, and another
-- takes the task over once `lease_until` has passed. `last_run_at` is shared, so the schedule goes
-- on across hand-overs and restarts. The holder is its instance id and the start time of its
-- process: two processes never share both. Delivery to targets, webhooks, receivers and SIEM sinks
-- keeps its per-target leases (their own tables).
CREATE TABLE background_leases (
    task              TEXT PRIMARY KEY,
    holder            TEXT,                        -- instance id (GATEHOUSE_INSTANCE_ID); NULL when free
    holder_started_at INTEGER NOT NULL DEFAULT 0,  -- when the holder's process started
    acquired_at       INTEGER NOT NULL DEFAULT 0,  -- when the holder took the task
    renewed_at        INTEGER NOT NULL DEFAULT 0,
    lease_until       INTEGER NOT NULL DEFAULT 0,
    every_ms          INTEGER NOT NULL DEFAULT 0,  -- the task's period, as its holder runs it
    runs              INTEGER NOT NULL DEFAULT 0,
    last_run_at       INTEGER NOT NULL DEFAULT 0,  -- when the last run started: the schedule
    last_error        TEXT NOT NULL DEFAULT ''     -- of the last run; empty when it succeeded
);
