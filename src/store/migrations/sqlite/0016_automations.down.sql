DROP INDEX idx_campaigns_automation;
ALTER TABLE campaigns DROP COLUMN service;
ALTER TABLE campaigns DROP COLUMN automation_id;
DROP TABLE automation_sends;
DROP TABLE automations;
