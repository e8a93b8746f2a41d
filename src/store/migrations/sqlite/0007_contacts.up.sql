CREATE TABLE mail_lists (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    optin TEXT NOT NULL CHECK (optin IN ('single', 'double')),
    description TEXT NOT NULL DEFAULT '',
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    attributes TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'blocklisted')),
    delivery TEXT NOT NULL DEFAULT 'ok' CHECK (delivery IN ('ok', 'bounced', 'complained')),
    soft_bounces INTEGER NOT NULL DEFAULT 0,
    unsubscribed_at_ms INTEGER,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

CREATE TABLE subscriptions (
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    list_id INTEGER NOT NULL REFERENCES mail_lists (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('unconfirmed', 'confirmed', 'unsubscribed')),
    consent_method TEXT NOT NULL CHECK (consent_method IN ('api', 'import', 'form', 'ota')),
    consent_at_ms INTEGER NOT NULL,
    consent_ip TEXT,
    consent_text TEXT,
    confirmed_at_ms INTEGER,
    unsubscribed_at_ms INTEGER,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (contact_id, list_id)
);
CREATE INDEX idx_subscriptions_list ON subscriptions (list_id, status, contact_id);
