-- Permit holders' accounts: a mainland mobile number (verified by SMS code) and the
-- password chosen during a temporary-permit application; sessions like staff sessions.
CREATE TABLE holder_accounts (
    id {id},
    mobile TEXT NOT NULL UNIQUE,
    person_id BIGINT NOT NULL REFERENCES people (id),
    password_hash TEXT NOT NULL,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX holder_accounts_person ON holder_accounts (person_id);

CREATE TABLE holder_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES holder_accounts (id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX holder_sessions_user ON holder_sessions (user_id);

-- The officer list filters by issue date and status; the detail page reads the trail.
CREATE INDEX temporary_permits_created ON temporary_permits (created_at);
CREATE INDEX audit_log_subject ON audit_log (subject);

-- Codes sent per application (resends are limited).
ALTER TABLE temporary_permit_applications ADD COLUMN sms_sends BIGINT NOT NULL DEFAULT 1;
