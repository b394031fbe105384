-- Service centres: slot templates, the calendar, slots and appointments; in the building
-- queue tickets, photos, applications accepted at the counter, payments and devices.
-- Local times (templates) are Beijing time; instants are unix microseconds.
ALTER TABLE offices ADD COLUMN counters BIGINT NOT NULL DEFAULT 3;
ALTER TABLE offices ADD COLUMN walk_ins {int} NOT NULL DEFAULT 1;

CREATE TABLE slot_templates (
    id {id},
    office_code TEXT NOT NULL REFERENCES offices (code),
    service TEXT NOT NULL,
    weekday BIGINT NOT NULL,
    opens TEXT NOT NULL,
    closes TEXT NOT NULL,
    slot_minutes BIGINT NOT NULL,
    capacity BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX slot_templates_office ON slot_templates (office_code, service);

-- kind: holiday (nationwide, office_code ''), workday (make-up working day, nationwide),
-- closure (one office).
CREATE TABLE calendar_days (
    day TEXT NOT NULL,
    office_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (day, office_code)
);

CREATE TABLE slots (
    id {id},
    office_code TEXT NOT NULL REFERENCES offices (code),
    service TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    capacity BIGINT NOT NULL,
    booked BIGINT NOT NULL
);
CREATE UNIQUE INDEX slots_key ON slots (office_code, service, starts_at);

CREATE TABLE appointments (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    slot_id BIGINT NOT NULL REFERENCES slots (id),
    office_code TEXT NOT NULL,
    service TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    id_kind TEXT NOT NULL,
    id_number TEXT NOT NULL,
    name TEXT NOT NULL,
    person_id BIGINT,
    mobile TEXT,
    channel TEXT NOT NULL,
    booked_by TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    checked_in_at BIGINT
);
-- One active booking per person and service, whatever the timing.
CREATE UNIQUE INDEX appointments_one_active ON appointments (id_kind, id_number, service)
    WHERE status = 'booked';
CREATE INDEX appointments_identity ON appointments (id_kind, id_number);
CREATE INDEX appointments_status_time ON appointments (status, starts_at);
CREATE INDEX appointments_office_time ON appointments (office_code, starts_at);
CREATE INDEX appointments_person ON appointments (person_id);

CREATE TABLE queue_numbers (
    office_code TEXT NOT NULL,
    day TEXT NOT NULL,
    prefix TEXT NOT NULL,
    last_number BIGINT NOT NULL,
    PRIMARY KEY (office_code, day, prefix)
);

-- status: waiting, called, done, skipped.
CREATE TABLE tickets (
    id {id},
    office_code TEXT NOT NULL,
    day TEXT NOT NULL,
    service TEXT NOT NULL,
    label TEXT NOT NULL,
    appointment_id TEXT,
    person_id BIGINT,
    priority BIGINT NOT NULL,
    status TEXT NOT NULL,
    counter TEXT,
    issued_by TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    called_at BIGINT,
    called_by TEXT,
    recalled_at BIGINT,
    finished_at BIGINT
);
CREATE INDEX tickets_queue ON tickets (office_code, day, status);

CREATE TABLE photos (
    id {id},
    receipt_code TEXT NOT NULL UNIQUE,
    office_code TEXT NOT NULL,
    ticket_id BIGINT,
    mime TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    bytes {bytes} NOT NULL,
    taken_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- status: accepted, paid, ready, collected, cancelled.
CREATE TABLE centre_applications (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    office_code TEXT NOT NULL REFERENCES offices (code),
    product TEXT NOT NULL,
    person_id BIGINT NOT NULL REFERENCES people (id),
    ticket_id BIGINT,
    appointment_id TEXT,
    photo_id BIGINT UNIQUE,
    checklist TEXT NOT NULL,
    fee_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    old_document_id BIGINT,
    new_document_id BIGINT,
    new_document_number TEXT,
    collection_date TEXT,
    accepted_by TEXT NOT NULL,
    accepted_at BIGINT NOT NULL,
    paid_at BIGINT,
    ready_at BIGINT,
    collected_at BIGINT,
    collected_by TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX centre_applications_office_status ON centre_applications (office_code, status);
CREATE INDEX centre_applications_person ON centre_applications (person_id);
CREATE UNIQUE INDEX centre_applications_new_number ON centre_applications (new_document_number)
    WHERE new_document_number IS NOT NULL;

CREATE TABLE payments (
    id TEXT PRIMARY KEY NOT NULL,
    application_id TEXT NOT NULL REFERENCES centre_applications (id),
    method TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    provider_ref TEXT,
    taken_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    paid_at BIGINT
);
-- An application is paid once, whatever the timing.
CREATE UNIQUE INDEX payments_one_paid ON payments (application_id) WHERE status = 'paid';

-- Kiosks, ticket printers and other machines, each bound to one office.
CREATE TABLE devices (
    id {id},
    name TEXT NOT NULL UNIQUE,
    office_code TEXT NOT NULL REFERENCES offices (code),
    kind TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    disabled {int} NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT
);
