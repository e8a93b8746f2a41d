CREATE TABLE forward_cursors (
    name TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL,
    holder TEXT,
    lease_until_ms INTEGER,
    last_forwarded_at_ms INTEGER,
    updated_at_ms INTEGER NOT NULL
);
