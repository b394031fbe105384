-- Applicants' own sign-up: identity matched against the registry, mobile proved by an SMS
-- code, then a holder account (the same accounts the temporary-permit journey creates).
CREATE TABLE holder_signups (
    id TEXT PRIMARY KEY NOT NULL,
    person_id BIGINT NOT NULL REFERENCES people (id),
    mobile TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    code_expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    completed_at BIGINT
);
