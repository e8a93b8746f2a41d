-- Hotels: stay-triggered mail. An automation is a rule (trigger, offset, template, kind); each
-- reservation revision it applies to gets one automation_sends row (rescheduled in place by a
-- later revision while still 'scheduled'). When due, a send becomes a campaign row of its own
-- (campaigns.automation_id; campaigns.service = 1 for service mail, which needs no list
-- subscription) with one send_queue row, so the sender, DKIM, List-Unsubscribe, tracking and
-- stats are the campaigns' own. lists and hotel_codes are JSON arrays ([] = every hotel).
CREATE TABLE automations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    trigger_on TEXT NOT NULL CHECK (trigger_on IN ('pre_arrival', 'post_stay', 'booking_confirmed', 'cancelled')),
    offset_days INTEGER NOT NULL DEFAULT 0,
    template_id INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('service', 'marketing')),
    lists TEXT NOT NULL DEFAULT '[]',
    hotel_codes TEXT NOT NULL DEFAULT '[]',
    from_email TEXT NOT NULL DEFAULT '',
    from_name TEXT NOT NULL DEFAULT '',
    reply_to TEXT NOT NULL DEFAULT '',
    tracking INTEGER NOT NULL DEFAULT 1,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

CREATE TABLE automation_sends (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    automation_id INTEGER NOT NULL REFERENCES automations (id) ON DELETE CASCADE,
    reservation_id INTEGER NOT NULL,
    revision_id INTEGER NOT NULL,
    contact_id INTEGER NOT NULL,
    hotel_code TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('scheduled', 'queued', 'skipped', 'cancelled')),
    due_at_ms INTEGER NOT NULL,
    campaign_id INTEGER,
    reason TEXT,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    UNIQUE (automation_id, revision_id)
);
CREATE INDEX idx_automation_sends_due ON automation_sends (due_at_ms) WHERE status = 'scheduled';
CREATE INDEX idx_automation_sends_reservation ON automation_sends (automation_id, reservation_id);
CREATE INDEX idx_automation_sends_contact ON automation_sends (contact_id);

ALTER TABLE campaigns ADD COLUMN automation_id INTEGER;
ALTER TABLE campaigns ADD COLUMN service INTEGER NOT NULL DEFAULT 0;
CREATE INDEX idx_campaigns_automation ON campaigns (automation_id) WHERE automation_id IS NOT NULL;
