-- One row per bounce or complaint report recorded: the same report delivered twice (or a
-- relay's webhook retried) counts once. report_key = sha256 hex of the report's identity.
CREATE TABLE mail_feedback_reports (
    report_key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    contact_id INTEGER NOT NULL,
    campaign_id INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX mail_feedback_reports_contact ON mail_feedback_reports (contact_id);
