DROP TABLE privacy_retention_runs;
DROP TABLE privacy_erasures;
DROP TRIGGER audit_log_no_update;
DROP TRIGGER audit_log_no_delete;
DROP TABLE audit_log;
DROP TABLE privacy_suppressions;
DROP TABLE privacy_salt;
