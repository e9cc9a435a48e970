-- The person's consolidated profile on the GUID (chosen field by field when GUIDs merge),
-- the mailbox key used to suggest duplicates, and background jobs (bulk actions, imports).
ALTER TABLE guids ADD COLUMN display_name TEXT;
ALTER TABLE guids ADD COLUMN email TEXT;
ALTER TABLE guids ADD COLUMN phone TEXT;
CREATE INDEX guids_by_created ON guids (created_at, id);

-- The email without its "+tag" (ada+hr@x.com -> ada@x.com): the same mailbox seen twice.
ALTER TABLE users ADD COLUMN email_key TEXT;
UPDATE users SET email_key = CASE WHEN instr(email, '+') > 0 AND instr(email, '+') < instr(email, '@')
    THEN substr(email, 1, instr(email, '+') - 1) || substr(email, instr(email, '@'))
    ELSE email END;
CREATE INDEX users_by_mailbox ON users (email_key);
CREATE INDEX users_by_deprovisioned ON users (deprovisioned_at) WHERE deprovisioned_at IS NOT NULL;

UPDATE guids SET
    display_name = (SELECT u.display_name FROM users u WHERE u.guid_id = guids.id ORDER BY u.created_at, u.id LIMIT 1),
    email = (SELECT u.email FROM users u WHERE u.guid_id = guids.id ORDER BY u.created_at, u.id LIMIT 1),
    phone = (SELECT u.phone FROM users u WHERE u.guid_id = guids.id AND u.phone IS NOT NULL ORDER BY u.created_at, u.id LIMIT 1)
WHERE merged_into IS NULL;

-- Long work runs as a job; any instance can report its progress from here.
CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,               -- users.bulk, users.import
    actor_email TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('validating', 'running', 'done', 'rejected', 'failed')),
    total       INTEGER NOT NULL DEFAULT 0,
    done        INTEGER NOT NULL DEFAULT 0,
    summary     TEXT NOT NULL DEFAULT '',    -- one line for people
    report      TEXT NOT NULL DEFAULT '{}',  -- JSON: counts, problems (line numbers and reasons)
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX jobs_by_actor ON jobs (actor_email, created_at);
