-- Endorsements on Exit-Entry Permits and the border crossings counted against them.
-- trips_allowed is NULL for multiple-trip endorsements.
CREATE TABLE endorsements (
    id {id},
    document_id BIGINT NOT NULL REFERENCES documents (id),
    destination TEXT NOT NULL,
    kind TEXT NOT NULL,
    trips_allowed BIGINT,
    trips_used BIGINT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    stay_days BIGINT NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX endorsements_key ON endorsements (document_id, destination, kind, valid_from);
CREATE INDEX endorsements_document ON endorsements (document_id, destination);

CREATE TABLE border_crossings (
    id {id},
    document_id BIGINT NOT NULL REFERENCES documents (id),
    endorsement_id BIGINT,
    destination TEXT NOT NULL,
    direction TEXT NOT NULL,
    at BIGINT NOT NULL,
    allowed {int} NOT NULL,
    reason TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX border_crossings_document ON border_crossings (document_id, destination, at);
-- A retried crossing is recorded once (the service answers repeats from the record).
CREATE UNIQUE INDEX border_crossings_once ON border_crossings (document_id, destination, direction, at)
    WHERE allowed = 1;
