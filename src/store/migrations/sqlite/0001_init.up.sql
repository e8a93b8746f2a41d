CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    rate_limit TEXT,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER,
    rotated_at_ms INTEGER
);

CREATE TABLE event_source (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_key TEXT NOT NULL UNIQUE,
    platform TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    email TEXT NOT NULL,
    source_id TEXT,
    namespace TEXT,
    payload TEXT,
    occurred_at_ms INTEGER,
    event_time_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);
