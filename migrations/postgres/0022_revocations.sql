-- Revoke everywhere and sign out everywhere (issue 16): one row per action on a person, and one
-- row per target it reached. Local targets (accounts suspended, keys and tokens revoked, console
-- sessions ended) are done in the action's transaction; outbound ones (an application's SCIM
-- target, a Shared Signals receiver) name the outbox messages written in that transaction, whose
-- states are the target's progress. `settled_at` is set once, by whoever first sees every target
-- finished (compare-and-set), with the outcome of each target.
CREATE TABLE revocations (
    id         TEXT COLLATE "C" PRIMARY KEY,              -- rev_<uuid>
    guid_id    TEXT COLLATE "C" NOT NULL,                 -- the person (the survivor, if a merged GUID was named)
    kind       TEXT NOT NULL CHECK (kind IN ('revoke', 'sign_out')),
    actor      TEXT NOT NULL,                 -- who started it (email, or the token's owner)
    reason     TEXT NOT NULL,
    ticket     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    settled_at BIGINT NOT NULL DEFAULT 0,    -- 0 while a target is still waiting
    outcome    TEXT NOT NULL DEFAULT ''       -- JSON: each target's outcome, once settled
);
CREATE INDEX revocations_by_person ON revocations (guid_id, created_at);
CREATE INDEX revocations_open ON revocations (created_at) WHERE settled_at = 0;

CREATE TABLE revocation_targets (
    revocation_id TEXT COLLATE "C" NOT NULL REFERENCES revocations (id) ON DELETE CASCADE,
    ord           BIGINT NOT NULL,           -- the order shown
    kind          TEXT NOT NULL CHECK (kind IN ('account', 'api_key', 'api_token', 'session', 'application', 'receiver')),
    target_id     TEXT NOT NULL,              -- user, key, token, session hash, outbox target
    name          TEXT NOT NULL,
    href          TEXT NOT NULL DEFAULT '',   -- the console page of the target, if any
    detail        TEXT NOT NULL DEFAULT '',   -- what was done (local targets)
    messages      TEXT NOT NULL DEFAULT '[]', -- JSON list of outbox seqs (outbound targets)
    PRIMARY KEY (revocation_id, ord)
);
