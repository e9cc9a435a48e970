-- Groups of users (issue 14). `source` is `console` or the id of the provisioning source that
-- owns the group (only that source may change it). Members carry their user's sort name, so a
-- group of 100,000 is paged in name order straight from one index. `member_count` is kept in
-- the same transaction as every membership change, so lists never count.
CREATE TABLE directory_groups (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,               -- lowercase name: sorted, searched by prefix
    description  TEXT NOT NULL DEFAULT '',
    source       TEXT NOT NULL,
    external_id  TEXT,
    member_count INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1,
    UNIQUE (source, name_key),
    UNIQUE (source, external_id)
);
CREATE INDEX directory_groups_by_name ON directory_groups (name_key, id);

CREATE TABLE group_members (
    group_id  TEXT NOT NULL REFERENCES directory_groups (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users (id),
    sort_name TEXT NOT NULL,
    added_at  INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_by_name ON group_members (group_id, sort_name, user_id);
CREATE INDEX group_members_by_user ON group_members (user_id, group_id);

-- Applications assigned to groups: each member's person is assigned through the group, read at
-- the time of asking (never copied), so leaving the group ends it.
CREATE TABLE app_group_assignments (
    application_id TEXT NOT NULL REFERENCES applications (id),
    group_id       TEXT NOT NULL REFERENCES directory_groups (id) ON DELETE CASCADE,
    assigned_at    INTEGER NOT NULL,
    PRIMARY KEY (application_id, group_id)
);
CREATE INDEX app_group_assignments_by_group ON app_group_assignments (group_id, application_id);
