-- Staff accounts, their sessions, and the hash-chained audit log.
CREATE TABLE staff_users (
    id {id},
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    office_code TEXT REFERENCES offices (code),
    failed_logins {int} NOT NULL DEFAULT 0,
    locked_until BIGINT,
    disabled {int} NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The token itself never touches the database: only its SHA-256.
CREATE TABLE staff_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES staff_users (id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX staff_sessions_user ON staff_sessions (user_id);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    before_ref TEXT,
    after_ref TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

-- One row: the chain's head. Appending updates it first, which serialises writers on
-- both backends without dialect-specific locking.
CREATE TABLE audit_head (
    id {int} PRIMARY KEY NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log -- sqlite only
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END; -- sqlite only
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log -- sqlite only
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END; -- sqlite only
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ -- postgres only
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$; -- postgres only
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log -- postgres only
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only(); -- postgres only
