CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    params TEXT NOT NULL,
    progress TEXT NOT NULL,
    error TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    run_after_ms BIGINT NOT NULL,
    locked_by TEXT,
    lease_until_ms BIGINT,
    cancel_requested BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    started_at_ms BIGINT,
    finished_at_ms BIGINT
);
CREATE INDEX idx_jobs_claim ON jobs (status, run_after_ms);
CREATE INDEX idx_jobs_created ON jobs (created_at_ms, id);

CREATE TABLE dead_letters (
    id BIGSERIAL PRIMARY KEY,
    job_id TEXT,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    request TEXT,
    payload TEXT,
    created_at_ms BIGINT NOT NULL,
    retried_at_ms BIGINT
);

CREATE TABLE sync_cursors (
    platform TEXT NOT NULL,
    scope TEXT NOT NULL,
    cursor TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (platform, scope)
);
