-- Applications for temporary e-permits: the SMS code (hashed) and the step reached.
CREATE TABLE temporary_permit_applications (
    id TEXT PRIMARY KEY NOT NULL,
    person_id BIGINT NOT NULL REFERENCES people (id),
    document_id BIGINT NOT NULL REFERENCES documents (id),
    mobile TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    sms_code_hash TEXT NOT NULL,
    sms_sent_at BIGINT NOT NULL,
    sms_expires_at BIGINT NOT NULL,
    sms_tries BIGINT NOT NULL,
    permit_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX temporary_permit_applications_person ON temporary_permit_applications (person_id);
