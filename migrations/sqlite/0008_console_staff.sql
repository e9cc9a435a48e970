-- Console staff: everyone who signed in to the console, with each role they signed in with
-- (replaces console_admins, which knew only administrators). Support's MFA reset and unlock
-- protect every account of a person (GUID) that has one of these emails. Only emails the
-- identity provider marked verified are recorded (see docs/decisions.md).
CREATE TABLE console_staff (
    email         TEXT NOT NULL,                 -- lowercase
    role          TEXT NOT NULL CHECK (role IN ('admin', 'support', 'auditor')),
    first_seen_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    PRIMARY KEY (email, role)
);
INSERT INTO console_staff (email, role, first_seen_at, last_seen_at)
    SELECT email, 'admin', first_seen_at, last_seen_at FROM console_admins;
DROP TABLE console_admins;
