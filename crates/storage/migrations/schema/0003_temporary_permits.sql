-- Temporary e-permits: one row per issued permit, the per-person monthly count that
-- enforces the limit atomically, and the allocator of revocation status-list indexes.
CREATE TABLE temporary_permits (
    id TEXT PRIMARY KEY NOT NULL,
    person_id BIGINT NOT NULL REFERENCES people (id),
    document_id BIGINT NOT NULL REFERENCES documents (id),
    status_index BIGINT NOT NULL UNIQUE,
    month_key TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    status TEXT NOT NULL,
    revoked_reason TEXT,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX temporary_permits_person ON temporary_permits (person_id);

CREATE TABLE temporary_permit_month_counts (
    person_id BIGINT NOT NULL REFERENCES people (id),
    month_key TEXT NOT NULL,
    issued BIGINT NOT NULL,
    PRIMARY KEY (person_id, month_key)
);

CREATE TABLE credential_sequence (
    id {int} PRIMARY KEY NOT NULL,
    next_index BIGINT NOT NULL
);
INSERT INTO credential_sequence (id, next_index) VALUES (1, 0);
