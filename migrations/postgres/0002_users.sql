-- People (GUIDs) and their accounts (users). Times are Unix milliseconds; flags are 0/1.
CREATE TABLE guids (
    id          TEXT COLLATE "C" PRIMARY KEY,             -- opaque, random (128 bits), never reused
    created_at  BIGINT NOT NULL,
    merged_into TEXT COLLATE "C" REFERENCES guids (id),   -- set when absorbed by a merge: resolves to the survivor
    merged_at   BIGINT
);
CREATE INDEX guids_merged_into ON guids (merged_into);

CREATE TABLE users (
    id               TEXT COLLATE "C" PRIMARY KEY,
    guid_id          TEXT COLLATE "C" NOT NULL REFERENCES guids (id),
    email            TEXT COLLATE "C" NOT NULL UNIQUE,      -- normalized lowercase
    email_verified   BIGINT NOT NULL DEFAULT 0,
    display_name     TEXT COLLATE "C" NOT NULL,
    sort_name        TEXT COLLATE "C" NOT NULL,             -- lowercase display name, for sorting
    given_name       TEXT COLLATE "C",
    family_name      TEXT COLLATE "C",
    phone            TEXT COLLATE "C",                      -- E.164
    status           TEXT COLLATE "C" NOT NULL CHECK (status IN ('staged', 'active', 'suspended', 'locked', 'deprovisioned')),
    source           TEXT COLLATE "C" NOT NULL,
    external_id      TEXT COLLATE "C",
    attributes       TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    last_sign_in_at  BIGINT NOT NULL DEFAULT 0, -- 0: never
    deprovisioned_at BIGINT,
    version          BIGINT NOT NULL DEFAULT 1,
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
    token   TEXT COLLATE "C" NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (token, user_id)
);
CREATE INDEX user_name_tokens_user ON user_name_tokens (user_id);
