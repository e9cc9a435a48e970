-- Console sessions, so administrators see who is signed in and can end a session. The id is the
-- SHA-256 of the session cookie's id: the table never holds what would let a reader sign in.
CREATE TABLE console_sessions (
    id              TEXT PRIMARY KEY,
    subject         TEXT NOT NULL,
    email           TEXT NOT NULL,
    role            TEXT NOT NULL,
    signed_in_at    BIGINT NOT NULL,
    last_checked_at BIGINT NOT NULL,
    client_ip       TEXT,
    user_agent      TEXT,
    ended_at        BIGINT,
    ended_reason    TEXT
);
CREATE INDEX console_sessions_open ON console_sessions (signed_in_at) WHERE ended_at IS NULL;
