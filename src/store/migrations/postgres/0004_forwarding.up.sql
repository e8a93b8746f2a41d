CREATE TABLE forward_cursors (
    name TEXT PRIMARY KEY,
    last_id BIGINT NOT NULL,
    holder TEXT,
    lease_until_ms BIGINT,
    last_forwarded_at_ms BIGINT,
    updated_at_ms BIGINT NOT NULL
);
