-- Binding a sign-in to a person needs proof of the person: a sign-up is complete only
-- after its SMS code AND a face check against the registry.
ALTER TABLE holder_signups ADD COLUMN code_confirmed_at BIGINT;
ALTER TABLE holder_signups ADD COLUMN face_attempts BIGINT NOT NULL DEFAULT 0;
-- The browser that started a sign-up (hash of a cookie): only it may continue, so a sign-up's
-- address alone (history, logs) is no way in.
ALTER TABLE holder_signups ADD COLUMN browser_hash TEXT NOT NULL DEFAULT '';

-- Sign-ins bound by the earlier sign-up proved a phone, not the person: they are closed (the
-- holder signs up again, now with the face check) and their numbers are told. A sign-in the
-- temporary-permit journey bound (SMS code and face check) stays.
INSERT INTO jobs (kind, payload, run_at, attempts, created_at)
SELECT 'sms',
       '{"to":"' || holder_accounts.mobile || '","text":"【出入境】为保护您的信息，您的出入境账号需经人脸核验后重新注册，请访问 /my/signup。For your protection, please sign up again with a face check at /my/signup."}',
       CAST(strftime('%s', 'now') AS BIGINT) * 1000000, 0, CAST(strftime('%s', 'now') AS BIGINT) * 1000000 -- sqlite only
       CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT), 0, CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT) -- postgres only
FROM holder_accounts
WHERE EXISTS (SELECT 1 FROM holder_signups s WHERE s.person_id = holder_accounts.person_id
                 AND s.mobile = holder_accounts.mobile AND s.completed_at IS NOT NULL)
    AND NOT EXISTS (SELECT 1 FROM temporary_permit_applications t
                    WHERE t.person_id = holder_accounts.person_id
                      AND t.mobile = holder_accounts.mobile AND t.state = 'issued');
DELETE FROM holder_sessions WHERE user_id IN (
    SELECT id FROM holder_accounts WHERE EXISTS (SELECT 1 FROM holder_signups s WHERE s.person_id = holder_accounts.person_id
                 AND s.mobile = holder_accounts.mobile AND s.completed_at IS NOT NULL)
    AND NOT EXISTS (SELECT 1 FROM temporary_permit_applications t
                    WHERE t.person_id = holder_accounts.person_id
                      AND t.mobile = holder_accounts.mobile AND t.state = 'issued'));
DELETE FROM holder_accounts WHERE EXISTS (SELECT 1 FROM holder_signups s WHERE s.person_id = holder_accounts.person_id
                 AND s.mobile = holder_accounts.mobile AND s.completed_at IS NOT NULL)
    AND NOT EXISTS (SELECT 1 FROM temporary_permit_applications t
                    WHERE t.person_id = holder_accounts.person_id
                      AND t.mobile = holder_accounts.mobile AND t.state = 'issued');

-- Face checks of a temporary permit's application are counted (taken before the provider is
-- asked), like a sign-up's.
ALTER TABLE temporary_permit_applications ADD COLUMN face_attempts BIGINT NOT NULL DEFAULT 0;

-- One person, one holder account: duplicates left by earlier versions keep the newest.
DELETE FROM holder_sessions WHERE user_id IN (
    SELECT a.id FROM holder_accounts a
    WHERE EXISTS (SELECT 1 FROM holder_accounts b WHERE b.person_id = a.person_id AND b.id > a.id));
DELETE FROM holder_accounts WHERE EXISTS (
    SELECT 1 FROM holder_accounts b
    WHERE b.person_id = holder_accounts.person_id AND b.id > holder_accounts.id);
DROP INDEX holder_accounts_person;
CREATE UNIQUE INDEX holder_accounts_person ON holder_accounts (person_id);

-- Failed sign-ins counted per sign-in name (known or not, so a lock reveals nothing) and per
-- known device of an account; an attempt is taken here before its password is checked.
CREATE TABLE sign_in_guards (
    guard_key TEXT PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    locked_until BIGINT,
    updated_at BIGINT NOT NULL
);

-- Clients that have signed in to an account before (a random cookie, only its hash kept):
-- their attempts are counted apart, so a stranger's failures do not lock the owner out.
CREATE TABLE known_devices (
    token_hash TEXT PRIMARY KEY NOT NULL,
    account_kind TEXT NOT NULL,
    account_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX known_devices_account ON known_devices (account_kind, account_id);

-- Fixed-window counters for messages we send (SMS, email) per mobile, address or person,
-- shared by every node.
CREATE TABLE send_limits (
    limit_key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    sent BIGINT NOT NULL,
    PRIMARY KEY (limit_key, window_start)
);
