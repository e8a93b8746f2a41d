DROP TABLE privacy_retention_runs;
DROP TABLE privacy_erasures;
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE privacy_suppressions;
DROP TABLE privacy_salt;
