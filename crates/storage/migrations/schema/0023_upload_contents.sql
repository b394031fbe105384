-- Uploaded files' bytes on a shared database (every node reads them), written in the
-- transaction that records the upload; the single-node SQLite default keeps them on disk.
CREATE TABLE upload_contents (
    upload_id TEXT PRIMARY KEY NOT NULL REFERENCES uploads (id),
    bytes {bytes} NOT NULL
);
