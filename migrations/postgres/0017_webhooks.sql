-- Signed webhooks (issue 15): endpoints that hear of audit events, delivered through the same
-- outbox as provisioning targets. A message's `subject` is the audit event's `seq`.
--
-- The signing secret is encrypted with GATEHOUSE_SECRETS_KEY (it must be readable to sign);
-- only a hint is shown after it was handed out once.
CREATE TABLE webhook_endpoints (
    id              TEXT COLLATE "C" PRIMARY KEY,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    secret_sealed   TEXT NOT NULL,
    secret_hint     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('active', 'paused')),
    max_attempts    BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    version         BIGINT NOT NULL DEFAULT 1,
    lease_owner     TEXT,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    last_success_at BIGINT NOT NULL DEFAULT 0
);

-- What an endpoint hears: `*`, an area (`user`) or an action (`user.update`); an area matches
-- its actions and sub-areas (`application` matches `application.provisioning.update`).
CREATE TABLE webhook_events (
    endpoint_id TEXT COLLATE "C" NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event       TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (endpoint_id, event)
);

-- The outbox now serves two kinds of target, so its target column can no longer reference
-- provisioning_targets alone.
ALTER TABLE outbox DROP CONSTRAINT outbox_target_id_fkey;
