-- Every index on event_source is written by every insert: keep only those a query needs.
-- GET /api/events walks the events newest first by id and uses an index only to find one
-- email's or one campaign's events; platform, event type, namespace and time filter that walk.
DROP INDEX IF EXISTS idx_event_source_platform_campaign;
DROP INDEX IF EXISTS idx_event_source_namespace;
DROP INDEX IF EXISTS idx_event_source_time;
CREATE INDEX IF NOT EXISTS idx_event_source_campaign ON event_source (campaign_id, id);
