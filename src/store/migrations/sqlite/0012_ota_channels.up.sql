-- Hotels: one row per OTA / channel-manager connection of one hotel. Credentials are one
-- AES-256-GCM sealed JSON object (base64url of nonce | ciphertext | tag, key in
-- HERALD_OTA_SECRET_FILE), never stored or returned in clear.
CREATE TABLE ota_channels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL CHECK (type IN ('booking', 'expedia', 'siteminder', 'alpinebits', 'generic')),
    mode TEXT NOT NULL CHECK (mode IN ('pull', 'push')),
    hotel_code TEXT NOT NULL,
    base_url TEXT NOT NULL DEFAULT '',
    -- where rates and availability go when not under base_url ('': base_url); Booking.com
    -- takes them on another host than the one its reservations are pulled from
    updates_url TEXT NOT NULL DEFAULT '',
    poll_seconds INTEGER NOT NULL DEFAULT 300,
    enabled INTEGER NOT NULL DEFAULT 1,
    takes_updates INTEGER NOT NULL DEFAULT 0,
    credentials TEXT NOT NULL DEFAULT '',
    next_pull_at_ms INTEGER NOT NULL DEFAULT 0,
    last_pull_at_ms INTEGER,
    last_pull_status TEXT,
    last_error TEXT,
    pull_job_id TEXT,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX idx_ota_channels_hotel ON ota_channels (hotel_code);
