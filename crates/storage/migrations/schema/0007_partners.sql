-- Relying parties, their API keys (only the SHA-256 of the secret is kept), the daily
-- quota counter, and the record of every check.
CREATE TABLE partners (
    id {id},
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    scopes TEXT NOT NULL,
    rate_per_second BIGINT NOT NULL,
    daily_quota BIGINT NOT NULL,
    client_cert_sha256 TEXT,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE partner_keys (
    id TEXT PRIMARY KEY NOT NULL,
    partner_id BIGINT NOT NULL REFERENCES partners (id),
    secret_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX partner_keys_partner ON partner_keys (partner_id);

CREATE TABLE partner_daily_use (
    partner_id BIGINT NOT NULL REFERENCES partners (id),
    day TEXT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (partner_id, day)
);

-- One row per check; the document number only as a keyed hash.
CREATE TABLE verification_log (
    id {id},
    at BIGINT NOT NULL,
    partner_id BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    result TEXT NOT NULL,
    reason TEXT NOT NULL,
    latency_us BIGINT NOT NULL,
    subject_hash TEXT NOT NULL
);
CREATE INDEX verification_log_partner_at ON verification_log (partner_id, at);
