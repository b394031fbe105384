-- Online pre-applications for the non-Chinese home return permit: applicants' accounts
-- (an email address verified by a link), the application with its form, the review with
-- its rounds of supplements, and every step in the history.
CREATE TABLE applicant_accounts (
    id {id},
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    lang TEXT NOT NULL,
    verified_at BIGINT,
    verify_token_hash TEXT,
    verify_expires_at BIGINT,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX applicant_accounts_verify ON applicant_accounts (verify_token_hash);

CREATE TABLE applicant_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES applicant_accounts (id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX applicant_sessions_user ON applicant_sessions (user_id);

-- status: draft, submitted, in_review, supplement_requested, approved, rejected.
CREATE TABLE hrp_applications (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    account_id BIGINT NOT NULL REFERENCES applicant_accounts (id),
    status TEXT NOT NULL,
    form TEXT NOT NULL,
    id_kind TEXT,
    id_number TEXT,
    round BIGINT NOT NULL,
    claimed_by TEXT,
    submitted_at BIGINT,
    decided_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- One application in progress per account, whatever the timing.
CREATE UNIQUE INDEX hrp_applications_one_open ON hrp_applications (account_id)
    WHERE status IN ('draft', 'submitted', 'in_review', 'supplement_requested');
CREATE INDEX hrp_applications_queue ON hrp_applications (status, submitted_at);
CREATE INDEX hrp_applications_identity ON hrp_applications (id_kind, id_number, status);

-- kind: submitted, claimed, supplement_requested, approved, rejected.
CREATE TABLE hrp_application_events (
    id {id},
    application_id TEXT NOT NULL REFERENCES hrp_applications (id),
    round BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    items TEXT NOT NULL,
    note TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX hrp_application_events_application ON hrp_application_events (application_id, id);
