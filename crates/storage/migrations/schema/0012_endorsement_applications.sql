-- Online (repeat) endorsement applications, payment orders with their provider callbacks,
-- and print jobs at kiosks. Registered state personnel apply through their unit only.
ALTER TABLE people ADD COLUMN state_personnel {int} NOT NULL DEFAULT 0;
-- What a kiosk reports about its paper and ink (ok, low, out), for the fleet page.
ALTER TABLE devices ADD COLUMN paper TEXT NOT NULL DEFAULT 'ok';
ALTER TABLE devices ADD COLUMN ink TEXT NOT NULL DEFAULT 'ok';
ALTER TABLE devices ADD COLUMN status_at BIGINT;

-- status: awaiting_payment, ready_to_print, printing, printed, cancelled, refunded.
CREATE TABLE endorsement_applications (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    person_id BIGINT NOT NULL REFERENCES people (id),
    document_id BIGINT NOT NULL REFERENCES documents (id),
    destination TEXT NOT NULL,
    kind TEXT NOT NULL,
    trips_allowed BIGINT,
    validity_months BIGINT NOT NULL,
    stay_days BIGINT NOT NULL,
    fee_cents BIGINT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    endorsement_id BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    paid_at BIGINT,
    printed_at BIGINT
);
CREATE INDEX endorsement_applications_person ON endorsement_applications (person_id, status);
CREATE INDEX endorsement_applications_document ON endorsement_applications (document_id, status);
-- One open application per card and destination, whatever the timing.
CREATE UNIQUE INDEX endorsement_applications_one_open ON endorsement_applications (document_id, destination)
    WHERE status IN ('awaiting_payment', 'ready_to_print', 'printing');

-- status: pending, paid, failed, refunded. One order per attempt to pay.
CREATE TABLE payment_orders (
    id TEXT PRIMARY KEY NOT NULL,
    subject TEXT NOT NULL,
    provider TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    provider_ref TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    paid_at BIGINT,
    refunded_at BIGINT
);
CREATE INDEX payment_orders_subject ON payment_orders (subject);
CREATE INDEX payment_orders_status ON payment_orders (status, created_at);
-- A subject is paid at most once, whatever the order of callbacks.
CREATE UNIQUE INDEX payment_orders_one_paid ON payment_orders (subject) WHERE status = 'paid';

-- Every callback as received; the same event twice is stored once.
CREATE TABLE payment_callbacks (
    id {id},
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX payment_callbacks_event ON payment_callbacks (provider, event_id);

-- status: queued, printing, printed, failed.
CREATE TABLE print_jobs (
    id {id},
    application_id TEXT NOT NULL REFERENCES endorsement_applications (id),
    device TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- Two kiosks can never print the same endorsement.
CREATE UNIQUE INDEX print_jobs_one_live ON print_jobs (application_id)
    WHERE status IN ('queued', 'printing', 'printed');
