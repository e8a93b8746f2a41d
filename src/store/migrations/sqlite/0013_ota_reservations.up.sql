-- Hotels: reservations received from OTA channels (pulled, pushed or posted as webhooks), one
-- row per (channel, hotel code, the channel's reservation id) carrying the latest revision's
-- summary, and every revision kept once (UNIQUE revision_key, a SHA-256 over its content).
-- No card data is ever written here: the parser drops Guarantee/PaymentCard before copying.
-- No foreign key to ota_channels: a hotel's reservation history outlives a deleted channel.
CREATE TABLE ota_reservations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id INTEGER NOT NULL,
    hotel_code TEXT NOT NULL,
    res_id TEXT NOT NULL,
    status TEXT NOT NULL,
    arrival TEXT,
    departure TEXT,
    guest_email TEXT,
    guest_name TEXT,
    current_revision_id INTEGER,
    current_modified_ms INTEGER NOT NULL DEFAULT 0,
    revisions INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    UNIQUE (channel_id, hotel_code, res_id)
);
CREATE INDEX idx_ota_reservations_hotel ON ota_reservations (hotel_code, id);
CREATE INDEX idx_ota_reservations_arrival ON ota_reservations (arrival, id);
CREATE INDEX idx_ota_reservations_email ON ota_reservations (guest_email);

-- One row per distinct revision. comments (free text, special requests) live in their own
-- column only and are never copied into contact or marketing fields.
CREATE TABLE ota_reservation_revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reservation_id INTEGER NOT NULL REFERENCES ota_reservations (id) ON DELETE CASCADE,
    revision_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    message_kind TEXT NOT NULL,
    status TEXT NOT NULL,
    arrival TEXT,
    departure TEXT,
    rooms TEXT NOT NULL DEFAULT '[]',
    adults INTEGER NOT NULL DEFAULT 0,
    children INTEGER NOT NULL DEFAULT 0,
    total TEXT,
    currency TEXT,
    language TEXT,
    country TEXT,
    booking_channel TEXT,
    guest_email TEXT,
    guest_given_name TEXT,
    guest_surname TEXT,
    guest_phone TEXT,
    consent TEXT CHECK (consent IN ('given', 'refused')),
    consent_text TEXT,
    comments TEXT,
    created_ms INTEGER NOT NULL DEFAULT 0,
    modified_ms INTEGER NOT NULL DEFAULT 0,
    received_at_ms INTEGER NOT NULL,
    UNIQUE (reservation_id, revision_key)
);
CREATE INDEX idx_ota_revisions_email ON ota_reservation_revisions (guest_email);
