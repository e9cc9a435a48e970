-- People (GUIDs) and their accounts (users). Times are Unix milliseconds; flags are 0/1.
CREATE TABLE guids (
    id          TEXT PRIMARY KEY,             -- opaque, random (128 bits), never reused
    created_at  INTEGER NOT NULL,
    merged_into TEXT REFERENCES guids (id),   -- set when absorbed by a merge: resolves to the survivor
    merged_at   INTEGER
);
CREATE INDEX guids_merged_into ON guids (merged_into);

CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    guid_id          TEXT NOT NULL REFERENCES guids (id),
    email            TEXT NOT NULL UNIQUE,      -- normalized lowercase
    email_verified   INTEGER NOT NULL DEFAULT 0,
    display_name     TEXT NOT NULL,
    sort_name        TEXT NOT NULL,             -- lowercase display name, for sorting
    given_name       TEXT,
    family_name      TEXT,
    phone            TEXT,                      -- E.164
    status           TEXT NOT NULL CHECK (status IN ('staged', 'active', 'suspended', 'locked', 'deprovisioned')),
    source           TEXT NOT NULL,
    external_id      TEXT,
    attributes       TEXT NOT NULL DEFAULT '{}',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_sign_in_at  INTEGER NOT NULL DEFAULT 0, -- 0: never
    deprovisioned_at INTEGER,
    version          INTEGER NOT NULL DEFAULT 1,
    UNIQUE (source, external_id)
);
CREATE INDEX users_guid ON users (guid_id);
CREATE INDEX users_phone ON users (phone);
CREATE INDEX users_external_id ON users (external_id);
CREATE INDEX users_by_name ON users (sort_name, id);
CREATE INDEX users_by_created ON users (created_at, id);
CREATE INDEX users_by_last_sign_in ON users (last_sign_in_at, id);
CREATE INDEX users_by_status_name ON users (status, sort_name, id);

-- Words of each user's names, for "answer as you type" prefix search on any name part.
CREATE TABLE user_name_tokens (
    token   TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (token, user_id)
);
CREATE INDEX user_name_tokens_user ON user_name_tokens (user_id);
