-- Privacy: the deployment's salt (address hashes, anonymised event keys), the suppression
-- list by address hash, the append-only audit log, erasure requests with their per-table
-- report, and the retention job's runs.
CREATE TABLE privacy_salt (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    salt TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE privacy_suppressions (
    addr_hash TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    status INTEGER,
    ip TEXT,
    request_id TEXT,
    subject TEXT,
    subject_hashed INTEGER NOT NULL DEFAULT 0,
    detail TEXT
);
CREATE INDEX idx_audit_log_subject ON audit_log (subject);

-- Append-only: no row is deleted; the one update allowed replaces a subject by its hash.
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (OLD.subject_hashed = 0 AND NEW.subject_hashed = 1 AND NEW.id = OLD.id
          AND NEW.at_ms = OLD.at_ms AND NEW.actor = OLD.actor AND NEW.action = OLD.action
          AND NEW.status IS OLD.status AND NEW.ip IS OLD.ip AND NEW.request_id IS OLD.request_id
          AND NEW.detail IS OLD.detail)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE privacy_erasures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT,
    addr_hash TEXT NOT NULL,
    job_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done')),
    report TEXT,
    mixpanel_ids TEXT,
    created_at_ms INTEGER NOT NULL,
    finished_at_ms INTEGER
);

CREATE TABLE privacy_retention_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    report TEXT NOT NULL,
    finished_at_ms INTEGER NOT NULL
);
