-- Signing keys published to every node (`keys init` / `keys rotate`): certificates, and
-- signer private keys only sealed (AES-256-GCM) under credentials.key_encryption_key, which
-- is never stored here. The root's private key never leaves the operator's keys folder.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    role TEXT NOT NULL,
    alg TEXT NOT NULL,
    cert_der {bytes} NOT NULL,
    sealed_key {bytes},
    created_at BIGINT NOT NULL
);

-- The trust list as signed by the root when the keys changed: every node serves these
-- bytes, the newest version.
CREATE TABLE trust_lists (
    version BIGINT PRIMARY KEY NOT NULL,
    document TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
