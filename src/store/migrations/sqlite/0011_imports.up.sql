-- CSV contact imports: one row per upload (its chunks, then the progress of its job, written
-- in the same transaction as each batch) and the upload itself as ordered base64url chunks.
CREATE TABLE import_uploads (
    id TEXT PRIMARY KEY,
    job_id TEXT,
    chunk_size INTEGER NOT NULL,
    chunks INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    next_offset INTEGER NOT NULL DEFAULT 0,
    next_line INTEGER NOT NULL DEFAULT 1,
    rows_read INTEGER NOT NULL DEFAULT 0,
    imported INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    invalid INTEGER NOT NULL DEFAULT 0,
    subscribed INTEGER NOT NULL DEFAULT 0,
    invalid_lines TEXT NOT NULL DEFAULT '[]',
    done INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX idx_import_uploads_job ON import_uploads (job_id);

CREATE TABLE import_chunks (
    upload_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (upload_id, seq)
);
