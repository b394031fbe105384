-- Files uploaded by applicants (identity cards, passport pages, ...). The bytes live in
-- `uploads.dir` under `stored_name` (random, never the client's name); `owner` is opaque
-- here (e.g. `hrp_application:ID`): the feature using the store decides who may read.
CREATE TABLE uploads (
    id TEXT PRIMARY KEY NOT NULL,
    owner TEXT NOT NULL,
    purpose TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    display_name TEXT NOT NULL,
    stored_name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX uploads_owner ON uploads (owner);

-- Live files per owner, taken and released in one statement each, so concurrent uploads
-- cannot pass `uploads.max_files_per_owner` together (a COUNT(*) check would race).
CREATE TABLE upload_counts (
    owner TEXT PRIMARY KEY NOT NULL,
    live BIGINT NOT NULL
);
