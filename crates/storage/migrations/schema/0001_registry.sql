-- Registry: offices, people, documents. Times are unix microseconds (BIGINT), dates ISO
-- text (YYYY-MM-DD sorts correctly), flags INTEGER 0/1: the portable subset of both backends.
-- Integers are BIGINT throughout so the Any driver decodes them all as i64. -- postgres only
CREATE TABLE offices (
    code TEXT PRIMARY KEY NOT NULL,
    name_zh_hans TEXT NOT NULL,
    name_zh_hant TEXT NOT NULL,
    name_en TEXT NOT NULL,
    city TEXT NOT NULL,
    district TEXT NOT NULL,
    address TEXT NOT NULL,
    level TEXT NOT NULL,
    open_24h {int} NOT NULL,
    opening_hours TEXT NOT NULL,
    self_service_devices {int} NOT NULL,
    services TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX offices_city_district ON offices (city, district);

CREATE TABLE people (
    id {id},
    external_id TEXT NOT NULL UNIQUE,
    name_zh TEXT,
    name_latin TEXT NOT NULL,
    sex TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    region TEXT NOT NULL,
    nationality TEXT NOT NULL,
    id_kind TEXT NOT NULL,
    id_number TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX people_identity ON people (id_kind, id_number);
CREATE INDEX people_id_number ON people (id_number);

-- issue_count is 0 for kinds without one, so (kind, number, issue_count) can be a plain key.
CREATE TABLE documents (
    id {id},
    person_id BIGINT NOT NULL REFERENCES people (id),
    kind TEXT NOT NULL,
    number TEXT NOT NULL,
    issue_count {int} NOT NULL,
    issued_on TEXT NOT NULL,
    expires_on TEXT NOT NULL,
    status TEXT NOT NULL,
    office_code TEXT REFERENCES offices (code),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX documents_key ON documents (kind, number, issue_count);
CREATE INDEX documents_number ON documents (number);
CREATE INDEX documents_person ON documents (person_id);
