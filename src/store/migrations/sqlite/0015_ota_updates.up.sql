-- Hotels, rates and availability out: the hotel's intents as they were asked for
-- (PUT /api/ota/rates, PUT /api/ota/availability) and the delivery outbox, one row per
-- (intent, channel, kind[, month for Booking.com]) with its delivery status, attempts and the
-- channel's per-item <Errors>/<Warnings>; plus one delivery-state row per channel (who is
-- sending to it, until when, when it may be tried again after a failure, and since when a
-- delivery job is queued for it, so that a burst of intents queues one job, not one each).
CREATE TABLE ota_ari_intents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('rates', 'availability')),
    hotel_code TEXT NOT NULL,
    room_type TEXT NOT NULL,
    rate_plan TEXT NOT NULL DEFAULT '',
    date_from TEXT NOT NULL,
    date_to TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE ota_ari_updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    intent_id INTEGER NOT NULL REFERENCES ota_ari_intents (id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL REFERENCES ota_channels (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('rates', 'restrictions', 'inventory')),
    hotel_code TEXT NOT NULL,
    room_type TEXT NOT NULL,
    rate_plan TEXT NOT NULL DEFAULT '',
    date_from TEXT NOT NULL,
    date_to TEXT NOT NULL,
    weekdays INTEGER NOT NULL DEFAULT 127,
    fields INTEGER NOT NULL DEFAULT 0,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'delivered', 'failed', 'superseded')),
    attempts INTEGER NOT NULL DEFAULT 0,
    errors TEXT NOT NULL DEFAULT '[]',
    warnings TEXT NOT NULL DEFAULT '[]',
    superseded_by INTEGER,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    delivered_at_ms INTEGER
);
CREATE INDEX idx_ota_ari_updates_channel ON ota_ari_updates (channel_id, status, id);
CREATE INDEX idx_ota_ari_updates_key ON ota_ari_updates (channel_id, kind, room_type, rate_plan, id);
CREATE INDEX idx_ota_ari_updates_status ON ota_ari_updates (status, id);
CREATE INDEX idx_ota_ari_updates_hotel ON ota_ari_updates (hotel_code, id);
CREATE TABLE ota_ari_channels (
    channel_id INTEGER PRIMARY KEY REFERENCES ota_channels (id) ON DELETE CASCADE,
    holder TEXT,
    lease_until_ms INTEGER NOT NULL DEFAULT 0,
    retry_at_ms INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    kicked_at_ms INTEGER NOT NULL DEFAULT 0,
    updated_at_ms INTEGER NOT NULL
);
