DROP INDEX IF EXISTS idx_event_source_time;
DROP INDEX IF EXISTS idx_event_source_namespace;
DROP INDEX IF EXISTS idx_event_source_email;
DROP INDEX IF EXISTS idx_event_source_platform_campaign;
