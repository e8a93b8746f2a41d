CREATE TABLE schedules (
    name TEXT PRIMARY KEY,
    expr TEXT NOT NULL,
    next_run_ms BIGINT NOT NULL,
    last_run_ms BIGINT,
    last_job_id TEXT,
    updated_at_ms BIGINT NOT NULL
);
