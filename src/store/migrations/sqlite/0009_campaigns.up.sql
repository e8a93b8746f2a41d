CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    subject TEXT NOT NULL,
    from_email TEXT NOT NULL,
    from_name TEXT NOT NULL DEFAULT '',
    reply_to TEXT NOT NULL DEFAULT '',
    template_id INTEGER,
    html TEXT,
    text TEXT,
    status TEXT NOT NULL CHECK (status IN ('draft','scheduled','running','paused','finished','cancelled')),
    tracking INTEGER NOT NULL DEFAULT 1,
    send_at_ms INTEGER,
    recipients INTEGER NOT NULL DEFAULT 0,
    start_job_id TEXT,
    started_at_ms INTEGER,
    finished_at_ms INTEGER,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX idx_campaigns_status ON campaigns (status);

CREATE TABLE campaign_lists (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    list_id INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, list_id)
);

CREATE TABLE send_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL,
    contact_id INTEGER NOT NULL,
    list_id INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending','sent','failed','bounced','skipped','cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    run_after_ms INTEGER NOT NULL DEFAULT 0,
    locked_by TEXT,
    lease_until_ms INTEGER,
    message_id TEXT,
    last_error TEXT,
    sent_at_ms INTEGER,
    updated_at_ms INTEGER NOT NULL,
    UNIQUE (campaign_id, contact_id)
);
CREATE INDEX idx_send_queue_pending ON send_queue (campaign_id, run_after_ms) WHERE status = 'pending';
CREATE INDEX idx_send_queue_campaign_status ON send_queue (campaign_id, status);
CREATE INDEX idx_send_queue_contact ON send_queue (contact_id);

CREATE TABLE mail_feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL DEFAULT 0,
    contact_id INTEGER NOT NULL,
    queue_id INTEGER NOT NULL DEFAULT 0,
    kind TEXT NOT NULL CHECK (kind IN ('open','click','bounce_hard','bounce_soft','complaint','unsubscribe')),
    url TEXT,
    detail TEXT,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX idx_mail_feedback_campaign ON mail_feedback (campaign_id, kind, created_at_ms);
CREATE INDEX idx_mail_feedback_contact ON mail_feedback (contact_id);
