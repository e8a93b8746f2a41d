-- CSV contact imports: one row per upload (its chunks, then the progress of its job, written
-- in the same transaction as each batch) and the upload itself as ordered base64url chunks.
CREATE TABLE import_uploads (
    id TEXT PRIMARY KEY,
    job_id TEXT,
    chunk_size BIGINT NOT NULL,
    chunks BIGINT NOT NULL DEFAULT 0,
    bytes BIGINT NOT NULL DEFAULT 0,
    next_offset BIGINT NOT NULL DEFAULT 0,
    next_line BIGINT NOT NULL DEFAULT 1,
    rows_read BIGINT NOT NULL DEFAULT 0,
    imported BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    skipped BIGINT NOT NULL DEFAULT 0,
    invalid BIGINT NOT NULL DEFAULT 0,
    subscribed BIGINT NOT NULL DEFAULT 0,
    invalid_lines TEXT NOT NULL DEFAULT '[]',
    done INTEGER NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX idx_import_uploads_job ON import_uploads (job_id);

CREATE TABLE import_chunks (
    upload_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (upload_id, seq)
);
