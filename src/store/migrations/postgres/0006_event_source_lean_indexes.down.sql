DROP INDEX IF EXISTS idx_event_source_campaign;
CREATE INDEX IF NOT EXISTS idx_event_source_platform_campaign ON event_source (platform, campaign_id, id);
CREATE INDEX IF NOT EXISTS idx_event_source_namespace ON event_source (namespace, id);
CREATE INDEX IF NOT EXISTS idx_event_source_time ON event_source (event_time_ms);
