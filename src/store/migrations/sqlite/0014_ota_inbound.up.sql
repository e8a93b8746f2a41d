-- Hotels, inbound side: the ids of what partners pushed that must not be taken twice. A
-- Standard Webhooks `webhook-id` (kind 'webhook': a replay is answered 200 without effect)
-- and a WS-Security UsernameToken nonce (kind 'wsse_nonce': a reused nonce is refused). Rows
-- expire: past expires_at_ms a row counts as unseen and is swept in small batches.
CREATE TABLE ota_inbound_seen (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id INTEGER NOT NULL REFERENCES ota_channels (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('webhook', 'wsse_nonce')),
    value TEXT NOT NULL,
    seen_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    UNIQUE (channel_id, kind, value)
);
CREATE INDEX idx_ota_inbound_seen_expires ON ota_inbound_seen (expires_at_ms);
