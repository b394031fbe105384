-- Linkage proofs (travel permit ↔ residence permit): signed credentials issued online to
-- a signed-in holder or printed on paper at a counter. They share the status-list indexes
-- (credential_sequence) with temporary e-permits.
CREATE TABLE linkage_proofs (
    id TEXT PRIMARY KEY NOT NULL,
    person_id BIGINT NOT NULL REFERENCES people (id),
    travel_document_id BIGINT NOT NULL REFERENCES documents (id),
    residence_document_id BIGINT NOT NULL REFERENCES documents (id),
    channel TEXT NOT NULL,
    office_code TEXT,
    issued_by TEXT NOT NULL,
    status_index BIGINT NOT NULL UNIQUE,
    valid_from BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    status TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX linkage_proofs_person ON linkage_proofs (person_id);
