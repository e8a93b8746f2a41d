CREATE TABLE schedules (
    name TEXT PRIMARY KEY,
    expr TEXT NOT NULL,
    next_run_ms INTEGER NOT NULL,
    last_run_ms INTEGER,
    last_job_id TEXT,
    updated_at_ms INTEGER NOT NULL
);
