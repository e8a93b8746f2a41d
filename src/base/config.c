/* Owns the configuration table (every HERALD_* variable: type, bounds, default, help) and
 * loading it from the environment, a .env file and _FILE secrets, with validation. */
#include "base/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"

enum cfg_type {
    CFG_STR,
    CFG_SECRET,
    CFG_INT,
    CFG_SIZE,
    CFG_RATE,
    CFG_LOGLEVEL,
    CFG_LISTEN,
    CFG_CHOICE
};

struct cfg_entry {
    const char *env;
    enum cfg_type type;
    size_t offset;
    long min, max;
    const char *def;
    const char *choices; /* CFG_CHOICE: "a|b" */
    const char *help;
};

#define OFF(field) offsetof(struct cfg, field)

static const struct cfg_entry cfg_table[] = {
    {"HERALD_DATABASE_URL", CFG_SECRET, OFF(database_url), 1, 4096, "sqlite:./data/herald.db", NULL,
     "Database: `sqlite:PATH` (embedded, the default) or `postgres://user:pass@host:port/db` "
     "(libpq parameters such as `?sslmode=verify-full&sslrootcert=...` are kept, also for "
     "backups). Also `_FILE`, to keep the password out of the environment."},
    {"HERALD_LISTEN", CFG_LISTEN, OFF(listen_host), 0, 0, "127.0.0.1:8080", NULL,
     "Address and port the HTTP server binds, `HOST:PORT` (port 0 picks a free one)."},
    {"HERALD_DB_POOL_MIN", CFG_INT, OFF(db_pool_min), 0, 1000, "2", NULL,
     "Database connections opened at start-up and kept open."},
    {"HERALD_DB_POOL_MAX", CFG_INT, OFF(db_pool_max), 1, 1000, "20", NULL,
     "Most database connections open at once; further requests wait."},
    {"HERALD_CORS_ORIGINS", CFG_STR, OFF(cors_origins), 0, 4096, "", NULL,
     "Comma-separated origins allowed to call the API from a browser (`https://app.example.com`); "
     "empty allows none."},
    {"HERALD_RATE_LIMIT", CFG_RATE, OFF(rate_limit), 1, 10000000, "100/min", NULL,
     "Default requests per API key, `N/s`, `N/min` or `N/h`; N is also the burst. A key's own "
     "`--rate-limit` overrides it."},
    {"HERALD_RATE_LIMIT_IP", CFG_RATE, OFF(rate_limit_ip), 1, 10000000, "100/min", NULL,
     "Requests per client IP that carry no valid API key (missing or wrong key, unknown "
     "routes), and per IP to `/health`, `/metrics` and CORS preflights. When it is spent a "
     "wrong key is refused without a database lookup. `/livez` is never limited."},
    /* HTTP hardening (issue 7): keep these rows together. */
    {"HERALD_RATE_LIMIT_IP_KEYED", CFG_RATE, OFF(rate_limit_ip_keyed), 1, 10000000, "6000/min",
     NULL,
     "Requests per client IP that present an API key, charged before the key is looked up; "
     "each key also has its own HERALD_RATE_LIMIT. Set `100/min` for the seed's strict "
     "per-IP rule. Behind a reverse proxy every client shares the proxy's IP."},
    {"HERALD_HTTP_MAX_CONNECTIONS", CFG_INT, OFF(http_max_connections), 1, 1000000, "10000", NULL,
     "Most HTTP connections open at once; lowered at start, with a warning, to fit the "
     "open-file limit (raised to its hard maximum at start) less 256."},
    {"HERALD_HTTP_PER_IP_CONNECTIONS", CFG_INT, OFF(http_per_ip_connections), 1, 1000000, "128",
     NULL,
     "Most HTTP connections open at once from one client IP (further ones are refused). Raise "
     "it behind a reverse proxy, whose connections all come from one address."},
    {"HERALD_HTTP_IDLE_TIMEOUT", CFG_INT, OFF(http_idle_timeout), 1, 3600, "15", NULL,
     "Seconds an HTTP connection may stay idle before it is closed."},
    {"HERALD_MAX_BODY", CFG_SIZE, OFF(max_body), 1024, 1073741824, "1MiB", NULL,
     "Largest request body accepted (`512KiB`, `1MiB`, bytes); larger bodies get 413."},
    {"HERALD_TLS_CERT_FILE", CFG_STR, OFF(tls_cert_file), 0, 4096, "", NULL,
     "PEM certificate chain; with HERALD_TLS_KEY_FILE serves HTTPS (TLS 1.2 or newer) natively."},
    {"HERALD_TLS_KEY_FILE", CFG_STR, OFF(tls_key_file), 0, 4096, "", NULL,
     "PEM private key for HERALD_TLS_CERT_FILE."},
    {"HERALD_LOG_LEVEL", CFG_LOGLEVEL, OFF(log_level), 0, 0, "info", NULL,
     "`debug`, `info`, `warn` or `error`. Logs are JSON lines on stderr."},
    {"HERALD_METRICS_TOKEN", CFG_SECRET, OFF(metrics_token), 0, 4096, "", NULL,
     "When set, `GET /metrics` requires `Authorization: Bearer TOKEN`. Also `_FILE`."},
    /* ---- backups ---- */
    {"HERALD_BACKUP_KEY_FILE", CFG_STR, OFF(backup_key_file), 1, 4096, "./data/backup.key", NULL,
     "The 256-bit key every backup is encrypted with (AES-256-GCM; 32 raw bytes or 64 hex "
     "digits). `herald backup` creates it (mode 0600) on first use. Keep a copy apart from the "
     "backups: losing it loses them all. While it exists, restore accepts only backups it "
     "authenticates."},
    {"HERALD_BACKUP_DIR", CFG_STR, OFF(backup_dir), 1, 4096, "./data/backups", NULL,
     "Where `herald backup` (without FILE) and the schedule write named backups "
     "(`herald-YYYYMMDDTHHMMSSZ.hbk`, UTC), created 0700."},
    {"HERALD_BACKUP_SCHEDULE", CFG_STR, OFF(backup_schedule), 1, 128, "off", NULL,
     "When the server takes a backup as a job: a 5-field cron expression (UTC), @daily-style "
     "aliases, `@every 6h`, or `off`. Checked at start-up."},
    {"HERALD_BACKUP_KEEP_DAYS", CFG_INT, OFF(backup_keep_days), 0, 36500, "30", NULL,
     "After each successful backup, named backups older than this many days are deleted "
     "locally and from S3. 0 keeps everything."},
    {"HERALD_BACKUP_S3_URL", CFG_STR, OFF(backup_s3_url), 0, 1024, "", NULL,
     "Off-site copy: `https://HOST/BUCKET/PREFIX` (path-style, S3-compatible). Each backup's "
     "encrypted bytes are uploaded after it is written; empty: no off-site copy."},
    {"HERALD_BACKUP_S3_REGION", CFG_STR, OFF(backup_s3_region), 1, 64, "us-east-1", NULL,
     "Region the S3 requests are signed for (SigV4)."},
    {"HERALD_BACKUP_S3_ACCESS_KEY_FILE", CFG_STR, OFF(backup_s3_access_key_file), 0, 4096, "", NULL,
     "File holding the S3 access key id."},
    {"HERALD_BACKUP_S3_SECRET_KEY_FILE", CFG_STR, OFF(backup_s3_secret_key_file), 0, 4096, "", NULL,
     "File holding the S3 secret access key."},
    {"HERALD_HTTP_THREADS", CFG_INT, OFF(http_threads), 0, 256, "0", NULL,
     "HTTP worker threads; 0 means one per CPU core."},
    {"HERALD_WRITER_BATCH", CFG_INT, OFF(writer_batch), 1, 100000, "1000", NULL,
     "Event writer: most rows committed in one transaction (group commit)."},
    {"HERALD_WRITER_FLUSH_MS", CFG_INT, OFF(writer_flush_ms), 0, 1000, "0", NULL,
     "Event writer: longest wait for more rows before a commit. 0 commits as soon as the writer "
     "is free; rows that arrive during a commit form the next batch (measured fastest here for "
     "both API and sync ingest)."},
    {"HERALD_WRITER_CACHE", CFG_INT, OFF(writer_cache), 0, 10000000, "200000", NULL,
     "Event writer: recently stored event keys kept in memory so repeats cost no write."},
    {"HERALD_WRITER_QUEUE_MAX", CFG_INT, OFF(writer_queue_max), 1, 10000000, "100000", NULL,
     "Event writer: most events waiting to be written. When full, POST /api/event-keys/generate "
     "answers 503 `writer_queue_full` with Retry-After, and sync connectors wait for room."},
    {"HERALD_SQLITE_SYNCHRONOUS", CFG_CHOICE, OFF(sqlite_synchronous), 0, 0, "full", "full|normal",
     "SQLite durability. `full` syncs every commit to disk (survives power loss); `normal` "
     "survives a crash or kill -9 of Herald but not of the machine."},
    {"HERALD_LEMLIST_API_KEY", CFG_SECRET, OFF(lemlist_api_key), 0, 4096, "", NULL,
     "Lemlist API key; Lemlist sync is off without it. Also `_FILE`."},
    {"HERALD_LEMLIST_BASE_URL", CFG_STR, OFF(lemlist_base_url), 1, 1024,
     "https://api.lemlist.com/api", NULL, "Lemlist API base URL."},
    {"HERALD_LEMLIST_RATE_LIMIT", CFG_RATE, OFF(lemlist_rate), 1, 10000, "20/2s", NULL,
     "Requests Herald allows itself against Lemlist (its documented limit is 20 per 2 s)."},
    {"HERALD_SMARTLEAD_API_KEY", CFG_SECRET, OFF(smartlead_api_key), 0, 4096, "", NULL,
     "Smartlead API key; Smartlead sync is off without it. Also `_FILE`."},
    {"HERALD_SMARTLEAD_BASE_URL", CFG_STR, OFF(smartlead_base_url), 1, 1024,
     "https://server.smartlead.ai/api/v1", NULL, "Smartlead API base URL."},
    {"HERALD_SMARTLEAD_RATE_LIMIT", CFG_RATE, OFF(smartlead_rate), 1, 10000, "10/2s", NULL,
     "Requests Herald allows itself against Smartlead (sources disagree; 10 per 2 s is the "
     "stricter reading)."},
    {"HERALD_UPSTREAM_TIMEOUT_MS", CFG_INT, OFF(upstream_timeout_ms), 100, 600000, "30000", NULL,
     "Longest wait for one upstream HTTP response before it counts as a failure and is retried."},
    {"HERALD_SYNC_SCHEDULE", CFG_STR, OFF(sync_schedule), 1, 128, "*/15 * * * *", NULL,
     "When the periodic incremental sync runs: a 5-field cron expression (UTC), @hourly-style "
     "aliases, `@every 30m`, or `off`. Checked at start-up."},
    {"HERALD_SYNC_WORKERS", CFG_INT, OFF(sync_workers), 1, 64, "10", NULL,
     "Jobs (syncs) one node runs at once; further jobs wait in the queue."},
    {"HERALD_JOB_LEASE_SECONDS", CFG_INT, OFF(job_lease_seconds), 2, 3600, "30", NULL,
     "A running job's lease: a node that stops renewing it (crash, kill -9) has its jobs "
     "taken over once it expires."},
    {"HERALD_JOB_MAX_ATTEMPTS", CFG_INT, OFF(job_max_attempts), 1, 100, "5", NULL,
     "Attempts of a job that fails transiently before it goes to the dead letters."},
    {"HERALD_MIXPANEL_TOKEN", CFG_SECRET, OFF(mixpanel_token), 0, 4096, "", NULL,
     "Mixpanel project token (Basic auth user name). Either this, or a service account with "
     "its secret and the project id, enables forwarding. Also `_FILE`."},
    {"HERALD_MIXPANEL_SERVICE_ACCOUNT", CFG_STR, OFF(mixpanel_service_account), 0, 256, "", NULL,
     "Mixpanel service account user name."},
    {"HERALD_MIXPANEL_SECRET", CFG_SECRET, OFF(mixpanel_secret), 0, 4096, "", NULL,
     "Mixpanel service account secret. Also `_FILE`."},
    {"HERALD_MIXPANEL_PROJECT_ID", CFG_STR, OFF(mixpanel_project_id), 0, 64, "", NULL,
     "Mixpanel project id (required with a service account)."},
    {"HERALD_MIXPANEL_BASE_URL", CFG_STR, OFF(mixpanel_base_url), 1, 1024,
     "https://api.mixpanel.com", NULL,
     "Mixpanel ingestion base URL (`https://api-eu.mixpanel.com` for EU residency)."},
    {"HERALD_MIXPANEL_HASH_EMAILS", CFG_INT, OFF(mixpanel_hash_emails), 0, 1, "0", NULL,
     "1: send HMAC-SHA256 of the lower-cased email, keyed with HERALD_MIXPANEL_HASH_SECRET, as "
     "distinct_id and leave the address out."},
    /* ---- sync hardening (issue 7): keep these together ---- */
    {"HERALD_MIXPANEL_HASH_SECRET", CFG_SECRET, OFF(mixpanel_hash_secret), 0, 4096, "", NULL,
     "Key of the HMAC behind hashed distinct_ids (at least 16 characters; 32 random bytes, e.g. "
     "`openssl rand -hex 32`); required with HERALD_MIXPANEL_HASH_EMAILS=1. Changing it changes "
     "every distinct_id, so Mixpanel then sees each person as a new user. Also `_FILE`."},
    {"HERALD_ALLOW_INSECURE_UPSTREAM", CFG_CHOICE, OFF(allow_insecure_upstream), 0, 0, "false",
     "false|true",
     "For tests and local fakes only: `true` accepts `http://` upstream base URLs (Lemlist, "
     "Smartlead, Mixpanel), which send API keys and personal data in clear, and logs a warning "
     "at start. Otherwise start-up refuses them."},
    {"HERALD_UPSTREAM_PROBE_SECONDS", CFG_INT, OFF(upstream_probe_seconds), 1, 86400, "30", NULL,
     "How often one background thread probes each configured connector's API (a cheap "
     "authenticated request, first at start-up); `/health` reports the last result and its age "
     "and never calls upstream itself."},
    /* ---- end of sync hardening ---- */
    {"HERALD_MIXPANEL_BATCH", CFG_INT, OFF(mixpanel_batch), 1, 2000, "2000", NULL,
     "Events per import request (Mixpanel's limit is 2,000; batches also stay under 2 MB)."},
    {"HERALD_MIXPANEL_BACKOFF_MS", CFG_INT, OFF(mixpanel_backoff_ms), 10, 60000, "2000", NULL,
     "First wait after a 429/5xx from Mixpanel; it doubles up to 60 s, plus 1-5 s of jitter "
     "(scaled with this value)."},
    {"HERALD_MIXPANEL_GRACE_MS", CFG_INT, OFF(mixpanel_grace_ms), 0, 600000, "2000", NULL,
     "Events are forwarded once stored at least this long, so a slower concurrent transaction "
     "on another node cannot commit a lower id behind the cursor."},
    {"HERALD_SHUTDOWN_TIMEOUT", CFG_INT, OFF(shutdown_timeout), 1, 3600, "30", NULL,
     "Seconds SIGTERM waits for in-flight requests before closing them."},
    /* email sending */
    {"HERALD_PUBLIC_URL", CFG_STR, OFF(public_url), 1, 1024, "http://127.0.0.1:8080", NULL,
     "Base URL recipients reach Herald at: unsubscribe, preference, confirmation, open and "
     "click links are built on it. Use https:// in production."},
    {"HERALD_POSTAL_ADDRESS", CFG_STR, OFF(postal_address), 0, 512, "", NULL,
     "The sender's postal address, printed in every campaign (CAN-SPAM). A campaign cannot be "
     "sent while it is empty."},
    {"HERALD_MAIL_SECRET_FILE", CFG_STR, OFF(mail_secret_file), 1, 4096, "./data/mail.key", NULL,
     "File holding the key that signs unsubscribe, preference, confirmation and click tokens; "
     "created (32 random bytes, mode 0600) on first start. Nodes sharing a database must share "
     "it. Replacing it invalidates every link already mailed."},
    {"HERALD_MAIL_FROM", CFG_STR, OFF(mail_from), 0, 320, "", NULL,
     "From address of Herald's own mails (double opt-in confirmations). Empty: "
     "`noreply@` + HERALD_DKIM_DOMAIN, else the host of HERALD_PUBLIC_URL."},
    {"HERALD_BOUNCE_DOMAIN", CFG_STR, OFF(bounce_domain), 0, 253, "", NULL,
     "Domain of the VERP Return-Path (`bounces+TOKEN@DOMAIN`) and of the "
     "`mailto:unsubscribe+TOKEN@DOMAIN` entry of List-Unsubscribe; its MX must reach "
     "HERALD_BOUNCE_LISTEN. Empty: no VERP and no mailto unsubscribe: the envelope sender is the "
     "campaign's From address (bounces go to that mailbox; report them with POST /api/bounces) "
     "and List-Unsubscribe carries only the https URL (+ One-Click)."},
    {"HERALD_SMTP_URL", CFG_SECRET, OFF(smtp_url), 0, 1024, "", NULL,
     "The relay: `smtp://host:port` (STARTTLS per HERALD_SMTP_STARTTLS) or `smtps://host:port`. "
     "Empty: nothing is sent (campaigns cannot start)."},
    {"HERALD_SMTP_USER", CFG_STR, OFF(smtp_user), 0, 256, "", NULL,
     "SMTP AUTH user name; with HERALD_SMTP_PASSWORD (or HERALD_SMTP_PASSWORD_FILE)."},
    {"HERALD_SMTP_PASSWORD", CFG_SECRET, OFF(smtp_password), 0, 1024, "", NULL,
     "SMTP AUTH password. Prefer HERALD_SMTP_PASSWORD_FILE."},
    {"HERALD_SMTP_STARTTLS", CFG_CHOICE, OFF(smtp_starttls), 0, 0, "opportunistic",
     "opportunistic|required|off",
     "STARTTLS on smtp:// relays: use it when offered, refuse to send without it, or never."},
    {"HERALD_SMTP_WORKERS", CFG_INT, OFF(smtp_workers), 1, 256, "8", NULL,
     "SMTP connections per node, each kept open and reused."},
    {"HERALD_SMTP_RATE", CFG_STR, OFF(smtp_rate), 1, 32, "off", NULL,
     "Most messages per period this node hands to the relay (`500/s`, `10000/h`), or `off`."},
    {"HERALD_SMTP_DOMAIN_RATE", CFG_STR, OFF(smtp_domain_rate), 1, 32, "off", NULL,
     "Most messages per period to one recipient domain (`60/min`), or `off`."},
    {"HERALD_SMTP_TIMEOUT_MS", CFG_INT, OFF(smtp_timeout_ms), 100, 600000, "30000", NULL,
     "Connect and per-command timeout towards the relay."},
    {"HERALD_SMTP_RETRIES", CFG_INT, OFF(smtp_retries), 0, 20, "3", NULL,
     "Retries of a message after a 4xx reply or a broken connection (exponential backoff with "
     "jitter); then it counts as failed."},
    {"HERALD_SEND_BATCH", CFG_INT, OFF(send_batch), 1, 1000, "50", NULL,
     "Recipients a sender claims from the queue at a time (one lease)."},
    {"HERALD_DKIM_KEY_FILE", CFG_STR, OFF(dkim_key_file), 0, 4096, "", NULL,
     "PEM RSA private key signing every message (rsa-sha256, relaxed/relaxed); make one with "
     "`herald dkim keygen`. With HERALD_DKIM_DOMAIN and HERALD_DKIM_SELECTOR."},
    {"HERALD_DKIM_DOMAIN", CFG_STR, OFF(dkim_domain), 0, 253, "", NULL,
     "The d= domain of the DKIM signatures."},
    {"HERALD_DKIM_SELECTOR", CFG_STR, OFF(dkim_selector), 0, 63, "herald", NULL,
     "The s= selector of the RSA signature (DNS: SELECTOR._domainkey.DOMAIN)."},
    {"HERALD_DKIM_ED25519_KEY_FILE", CFG_STR, OFF(dkim_ed25519_key_file), 0, 4096, "", NULL,
     "PEM Ed25519 private key: messages also get an ed25519-sha256 signature (RFC 8463)."},
    {"HERALD_DKIM_ED25519_SELECTOR", CFG_STR, OFF(dkim_ed25519_selector), 0, 63, "herald-ed25519",
     NULL, "The s= selector of the Ed25519 signature."},
    {"HERALD_BOUNCE_LISTEN", CFG_STR, OFF(bounce_listen), 0, 256, "", NULL,
     "`host:port` of the inbound SMTP listener that takes DSNs and complaint reports for the "
     "VERP addresses. Empty: off."},
    {"HERALD_OPTIN_TOKEN_HOURS", CFG_INT, OFF(optin_token_hours), 1, 8760, "72", NULL,
     "How long a double opt-in confirmation link stays valid."},
    {"HERALD_FORM_RATE_LIMIT", CFG_RATE, OFF(form_rate), 1, 1000000, "10/min", NULL,
     "Submissions of the public subscription form accepted per client IP."},
    {"HERALD_RATE_LIMIT_LINKS", CFG_RATE, OFF(rate_limit_links), 1, 10000000, "6000/min", NULL,
     "Requests per client IP to the recipients' signed links: open pixel, clicks, unsubscribe "
     "and preference pages. Far above HERALD_RATE_LIMIT_IP because mail providers' image "
     "proxies and one-click unsubscribes arrive for many users from a few addresses."},
    {"HERALD_IMPORT_MAX_ROWS", CFG_INT, OFF(import_max_rows), 1, 100000000, "1000000", NULL,
     "Most data rows one CSV contact import takes."},
    /* hotels: OTA channels, reservations, rates and availability, automations */
    {"HERALD_OTA_SECRET_FILE", CFG_STR, OFF(ota_secret_file), 1, 4096, "./data/ota.key", NULL,
     "File holding the AES-256 key that encrypts OTA channel credentials at rest; created "
     "(32 random bytes, mode 0600) on first start. Nodes sharing a database must share it; "
     "losing it means entering every channel's credentials again."},
    {"HERALD_OTA_RELAY_DOMAINS", CFG_STR, OFF(ota_relay_domains), 0, 4096,
     "guest.booking.com,m.expediapartnercentral.com,agoda-messaging.com,guest.airbnb.com", NULL,
     "Comma-separated domains of OTAs' relay (proxy) guest addresses: such a guest becomes a "
     "contact that may get service mail about a stay, never marketing."},
    {"HERALD_OTA_MAX_MESSAGE_BYTES", CFG_INT, OFF(ota_max_message_bytes), 1024, 67108864, "2097152",
     NULL,
     "Largest OpenTravel message accepted (pushed to Herald or pulled from a channel); larger "
     "ones are refused before parsing."},
    {"HERALD_OTA_WEBHOOK_TOLERANCE_SECONDS", CFG_INT, OFF(ota_webhook_tolerance_s), 10, 3600, "300",
     NULL,
     "Signed webhooks and HMAC-signed pushes whose timestamp is further than this from now are "
     "refused (replay protection, Standard Webhooks)."},
    {"HERALD_AUTOMATION_SEND_HOUR", CFG_INT, OFF(automation_send_hour), 0, 23, "9", NULL,
     "Hour of the day (UTC) at which a stay-triggered mail N days before arrival or after "
     "departure becomes due."},
    {"HERALD_AUTOMATION_TICK_SECONDS", CFG_INT, OFF(automation_tick_s), 1, 3600, "60", NULL,
     "How often due stay-triggered mails are moved into the sending queue."},
    {"HERALD_AUTOMATION_CLOCK_OFFSET_SECONDS", CFG_INT, OFF(automation_clock_offset_s), -315360000,
     315360000, "0", NULL,
     "Rehearsals and tests only: the automation scheduler runs this many seconds ahead of (or "
     "behind) the wall clock, so a pre-arrival rule can be watched firing without waiting "
     "days. Logged as a warning when not 0."},
    /* privacy: retention and Mixpanel deletion requests */
    {"HERALD_RETENTION_EVENTS_DAYS", CFG_INT, OFF(retention_events_days), 0, 36500, "0", NULL,
     "Events older than this many days (by event time) are deleted by the daily retention job; "
     "0 keeps them."},
    {"HERALD_RETENTION_SENDS_DAYS", CFG_INT, OFF(retention_sends_days), 0, 36500, "0", NULL,
     "Sending-queue rows no longer pending and opens, clicks and bounces older than this many "
     "days are deleted by the daily retention job; 0 keeps them."},
    {"HERALD_RETENTION_RESERVATIONS_DAYS", CFG_INT, OFF(retention_reservations_days), 0, 36500, "0",
     NULL,
     "OTA reservations (with their revisions) whose departure is more than this many days ago "
     "are deleted by the daily retention job; 0 keeps them."},
    {"HERALD_RETENTION_DEAD_LETTERS_DAYS", CFG_INT, OFF(retention_dead_letters_days), 0, 36500, "0",
     NULL,
     "Dead letters older than this many days are deleted by the daily retention job; 0 "
     "keeps them."},
    {"HERALD_RETENTION_SCHEDULE", CFG_STR, OFF(retention_schedule), 1, 100, "17 3 * * *", NULL,
     "Cron expression (UTC) of the retention job, or `off`."},
    {"HERALD_MIXPANEL_GDPR_TOKEN", CFG_SECRET, OFF(mixpanel_gdpr_token), 0, 4096, "", NULL,
     "Mixpanel GDPR API OAuth token: with it (and HERALD_MIXPANEL_TOKEN, the project token) an "
     "erasure asks Mixpanel to delete the distinct_ids Herald forwarded. Also `_FILE`."},
    {"HERALD_MIXPANEL_GDPR_BASE_URL", CFG_STR, OFF(mixpanel_gdpr_base_url), 1, 2048,
     "https://mixpanel.com/api/app", NULL,
     "Mixpanel's GDPR API base (https://eu.mixpanel.com/api/app for EU residency)."},
    /* otapush: the partners' access class */
    {"HERALD_OTA_PUSH_RATE_LIMIT", CFG_RATE, OFF(ota_push_rate), 1, 100000000, "6000/min", NULL,
     "Requests per client IP to the OTA push and webhook endpoints (`/ota/...`, "
     "`/webhooks/ota/...`), which take no API key. A channel manager posts every hotel's "
     "reservations from a few addresses, so this sits far above HERALD_RATE_LIMIT_IP; failed "
     "authentications are also charged to the HERALD_RATE_LIMIT_IP bucket."},
    /* dashboard */
    {"HERALD_WEB_DIR", CFG_STR, OFF(web_dir), 1, 4096, "./web/dist", NULL,
     "Folder of the built dashboard (`make web` writes web/dist), served at /. When it holds no "
     "index.html, / answers 404 and the API works as usual."},
    /* hotels: rates and availability out */
    {"HERALD_OTA_DELIVERY_BACKOFF_MAX_SECONDS", CFG_INT, OFF(ota_delivery_backoff_max_s), 1, 3600,
     "300", NULL,
     "Longest wait between two tries of a channel that fails to take rate/availability updates: "
     "after an outage (5xx, 429, timeouts) the wait starts at 1 s and doubles up to this; refused "
     "credentials or a wrong endpoint wait this long at once. Pending updates never give up while "
     "their channel fails; they go, in order, once it answers again."},
};

#define CFG_COUNT (sizeof(cfg_table) / sizeof(cfg_table[0]))

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Strips matching single or double quotes around a value. */
static char *unquote(char *val)
{
    size_t vn = strlen(val);
    if (vn >= 2 && (val[0] == '"' || val[0] == '\'') && val[vn - 1] == val[0]) {
        val[vn - 1] = '\0';
        val++;
    }
    return val;
}

enum herald_err cfg_read_dotenv(const char *path, struct herald_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return HERALD_OK;
    char line[8192];
    int lineno = 0;
    enum herald_err rc = HERALD_OK;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        if (strncmp(s, "export ", 7) == 0)
            s = trim(s + 7);
        char *eq = strchr(s, '=');
        if (!eq || eq == s) {
            rc = herald_error_set(err, HERALD_ERR_CONFIG, path, "%s:%d: expected KEY=VALUE", path,
                                  lineno);
            break;
        }
        *eq = '\0';
        setenv(trim(s), unquote(trim(eq + 1)), 0);
    }
    fclose(f);
    return rc;
}

static enum herald_err parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0')
        return HERALD_ERR_INVALID;
    *out = v;
    return HERALD_OK;
}

enum herald_err cfg_parse_rate(const char *s, struct cfg_rate *out)
{
    char num[32];
    const char *slash = strchr(s, '/');
    if (!slash || slash == s || (size_t)(slash - s) >= sizeof(num))
        return HERALD_ERR_INVALID;
    memcpy(num, s, (size_t)(slash - s));
    num[slash - s] = '\0';
    long n;
    if (parse_long(num, &n) || n < 1 || n > 10000000)
        return HERALD_ERR_INVALID;
    const char *unit = slash + 1;
    /* An optional count of units: "20/2s" is 20 requests every 2 seconds. */
    long units = 1;
    if (*unit >= '1' && *unit <= '9') {
        char *end;
        units = strtol(unit, &end, 10);
        if (units < 1 || units > 86400)
            return HERALD_ERR_INVALID;
        unit = end;
    }
    int period;
    if (!strcmp(unit, "s") || !strcmp(unit, "sec") || !strcmp(unit, "second"))
        period = 1;
    else if (!strcmp(unit, "min") || !strcmp(unit, "m") || !strcmp(unit, "minute"))
        period = 60;
    else if (!strcmp(unit, "h") || !strcmp(unit, "hour"))
        period = 3600;
    else
        return HERALD_ERR_INVALID;
    if ((long)period * units > 86400)
        return HERALD_ERR_INVALID;
    out->count = (int)n;
    out->period_sec = period * (int)units;
    return HERALD_OK;
}

static enum herald_err parse_size(const char *s, long *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return HERALD_ERR_INVALID;
    while (*end == ' ')
        end++;
    double mult = 1;
    if (*end == '\0' || !strcmp(end, "B"))
        mult = 1;
    else if (!strcasecmp(end, "KiB") || !strcasecmp(end, "K") || !strcasecmp(end, "KB"))
        mult = 1024;
    else if (!strcasecmp(end, "MiB") || !strcasecmp(end, "M") || !strcasecmp(end, "MB"))
        mult = 1024 * 1024;
    else if (!strcasecmp(end, "GiB") || !strcasecmp(end, "G") || !strcasecmp(end, "GB"))
        mult = 1024.0 * 1024 * 1024;
    else
        return HERALD_ERR_INVALID;
    double bytes = v * mult;
    if (bytes > (double)INT64_MAX / 2)
        return HERALD_ERR_INVALID;
    *out = (long)bytes;
    return HERALD_OK;
}

static enum herald_err read_secret_file(const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return HERALD_ERR_IO;
    char buf[4097];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    *out = strdup(trim(buf));
    return *out ? HERALD_OK : HERALD_ERR_NOMEM;
}

static enum herald_err set_string(char **slot, const char *val)
{
    free(*slot);
    *slot = strdup(val);
    return *slot ? HERALD_OK : HERALD_ERR_NOMEM;
}

static enum herald_err apply_string(char *slot, const struct cfg_entry *e, const char *val,
                                    struct herald_error *err)
{
    if ((long)strlen(val) > e->max || (long)strlen(val) < (e->min > 0 ? e->min : 0))
        return herald_error_set(err, HERALD_ERR_CONFIG, e->env,
                                "%s: length must be %ld to %ld characters", e->env, e->min, e->max);
    return set_string((char **)slot, val);
}

static enum herald_err apply_choice(char *slot, const struct cfg_entry *e, const char *val,
                                    struct herald_error *err)
{
    size_t vl = strlen(val);
    for (const char *c = e->choices; c && *c;) {
        const char *bar = strchr(c, '|');
        size_t cl = bar ? (size_t)(bar - c) : strlen(c);
        if (cl == vl && strncmp(c, val, vl) == 0)
            return set_string((char **)slot, val);
        c = bar ? bar + 1 : NULL;
    }
    return herald_error_set(err, HERALD_ERR_CONFIG, e->env, "%s: must be one of %s, got \"%.64s\"",
                            e->env, e->choices, val);
}

static enum herald_err apply_number(char *slot, const struct cfg_entry *e, const char *val,
                                    struct herald_error *err)
{
    long n;
    if (e->type == CFG_SIZE) {
        if (parse_size(val, &n) || n < e->min || n > e->max)
            return herald_error_set(
                err, HERALD_ERR_CONFIG, e->env,
                "%s: must be a size from %ld to %ld bytes (e.g. 1MiB), got \"%.64s\"", e->env,
                e->min, e->max, val);
        *(long *)slot = n;
        return HERALD_OK;
    }
    if (parse_long(val, &n) || n < e->min || n > e->max)
        return herald_error_set(err, HERALD_ERR_CONFIG, e->env,
                                "%s: must be an integer from %ld to %ld, got \"%.64s\"", e->env,
                                e->min, e->max, val);
    *(int *)slot = (int)n;
    return HERALD_OK;
}

static enum herald_err apply_listen(struct cfg *cfg, const struct cfg_entry *e, const char *val,
                                    struct herald_error *err)
{
    const char *colon = strrchr(val, ':');
    long port;
    if (!colon || colon == val || parse_long(colon + 1, &port) || port < 0 || port > 65535)
        return herald_error_set(err, HERALD_ERR_CONFIG, e->env,
                                "%s: must be HOST:PORT (e.g. 127.0.0.1:8080), got \"%.64s\"",
                                e->env, val);
    free(cfg->listen_host);
    cfg->listen_host = strndup(val, (size_t)(colon - val));
    cfg->listen_port = (int)port;
    return cfg->listen_host ? HERALD_OK : HERALD_ERR_NOMEM;
}

/* Parses `val` for entry `e` and stores it in cfg; the error names the variable. */
static enum herald_err cfg_apply(struct cfg *cfg, const struct cfg_entry *e, const char *val,
                                 struct herald_error *err)
{
    char *slot = (char *)cfg + e->offset;
    switch (e->type) {
    case CFG_STR:
    case CFG_SECRET:
        return apply_string(slot, e, val, err);
    case CFG_CHOICE:
        return apply_choice(slot, e, val, err);
    case CFG_INT:
    case CFG_SIZE:
        return apply_number(slot, e, val, err);
    case CFG_RATE:
        if (cfg_parse_rate(val, (struct cfg_rate *)slot))
            return herald_error_set(err, HERALD_ERR_CONFIG, e->env,
                                    "%s: must look like 100/min, 10/s or 5000/h, got \"%.64s\"",
                                    e->env, val);
        return HERALD_OK;
    case CFG_LOGLEVEL: {
        int level = log_level_parse(val);
        if (level < 0)
            return herald_error_set(err, HERALD_ERR_CONFIG, e->env,
                                    "%s: must be debug, info, warn or error, got \"%.64s\"", e->env,
                                    val);
        *(int *)slot = level;
        return HERALD_OK;
    }
    case CFG_LISTEN:
        return apply_listen(cfg, e, val, err);
    }
    return herald_error_set(err, HERALD_ERR_INTERNAL, e->env, NULL);
}

/* Loads one entry: its _FILE secret, else the environment, else the default. */
static enum herald_err load_entry(struct cfg *cfg, const struct cfg_entry *e,
                                  struct herald_error *err)
{
    const char *val = getenv(e->env);
    char *from_file = NULL;
    if (e->type == CFG_SECRET) {
        char fenv[128];
        snprintf(fenv, sizeof(fenv), "%s_FILE", e->env);
        const char *path = getenv(fenv);
        if (path && *path) {
            if (read_secret_file(path, &from_file))
                return herald_error_set(err, HERALD_ERR_CONFIG, fenv, "%s: cannot read %s", fenv,
                                        path);
            val = from_file;
        }
    }
    enum herald_err rc = cfg_apply(cfg, e, val ? val : e->def, err);
    free(from_file);
    return rc;
}

/* Rules that span several variables. */
static enum herald_err check_combinations(const struct cfg *cfg, struct herald_error *err)
{
    if (cfg->db_pool_min > cfg->db_pool_max)
        return herald_error_set(err, HERALD_ERR_CONFIG, "HERALD_DB_POOL_MIN",
                                "HERALD_DB_POOL_MIN (%d) must not exceed HERALD_DB_POOL_MAX (%d)",
                                cfg->db_pool_min, cfg->db_pool_max);
    if ((*cfg->tls_cert_file != '\0') != (*cfg->tls_key_file != '\0'))
        return herald_error_set(err, HERALD_ERR_CONFIG, "HERALD_TLS_KEY_FILE",
                                "HERALD_TLS_CERT_FILE and HERALD_TLS_KEY_FILE go together");
    if (strncmp(cfg->database_url, "sqlite:", 7) != 0 &&
        strncmp(cfg->database_url, "postgres://", 11) != 0 &&
        strncmp(cfg->database_url, "postgresql://", 13) != 0)
        return herald_error_set(err, HERALD_ERR_CONFIG, "HERALD_DATABASE_URL",
                                "HERALD_DATABASE_URL: must start with sqlite: or postgres://");
    if (*cfg->backup_s3_url &&
        (!*cfg->backup_s3_access_key_file || !*cfg->backup_s3_secret_key_file))
        return herald_error_set(err, HERALD_ERR_CONFIG, "HERALD_BACKUP_S3_URL",
                                "HERALD_BACKUP_S3_URL needs HERALD_BACKUP_S3_ACCESS_KEY_FILE and "
                                "HERALD_BACKUP_S3_SECRET_KEY_FILE");
    return HERALD_OK;
}

/* Upstream base URLs must be https:// (http:// only with the test switch). */
static enum herald_err check_upstream_url(const struct cfg *cfg, const char *env, const char *url,
                                          struct herald_error *err)
{
    if (strncmp(url, "https://", 8) == 0)
        return HERALD_OK;
    if (strncmp(url, "http://", 7) != 0)
        return herald_error_set(err, HERALD_ERR_CONFIG, env, "%s: must start with https://", env);
    if (strcmp(cfg->allow_insecure_upstream, "true") == 0)
        return HERALD_OK;
    return herald_error_set(err, HERALD_ERR_CONFIG, env,
                            "%s: http:// would send API keys and personal data in clear; use "
                            "https:// (HERALD_ALLOW_INSECURE_UPSTREAM=true allows http:// for "
                            "tests and local fakes only)",
                            env);
}

/* The rules of the sync hardening block (issue 7). */
static enum herald_err check_sync_hardening(const struct cfg *cfg, struct herald_error *err)
{
    enum herald_err rc =
        check_upstream_url(cfg, "HERALD_LEMLIST_BASE_URL", cfg->lemlist_base_url, err);
    if (rc)
        return rc;
    rc = check_upstream_url(cfg, "HERALD_SMARTLEAD_BASE_URL", cfg->smartlead_base_url, err);
    if (rc)
        return rc;
    rc = check_upstream_url(cfg, "HERALD_MIXPANEL_BASE_URL", cfg->mixpanel_base_url, err);
    if (rc)
        return rc;
    rc = check_upstream_url(cfg, "HERALD_MIXPANEL_GDPR_BASE_URL", cfg->mixpanel_gdpr_base_url,
                            err); /* privacy */
    if (rc)
        return rc;
    if (cfg->mixpanel_hash_emails && strlen(cfg->mixpanel_hash_secret) < 16)
        return herald_error_set(err, HERALD_ERR_CONFIG, "HERALD_MIXPANEL_HASH_SECRET",
                                "HERALD_MIXPANEL_HASH_SECRET (or _FILE): at least 16 characters "
                                "are required with HERALD_MIXPANEL_HASH_EMAILS=1");
    return HERALD_OK;
}

enum herald_err cfg_read(struct cfg *out, struct herald_error *err)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < CFG_COUNT; i++) {
        enum herald_err rc = load_entry(out, &cfg_table[i], err);
        if (rc)
            return rc;
    }
    enum herald_err rc = check_combinations(out, err);
    if (rc)
        return rc;
    return check_sync_hardening(out, err);
}

/* The message-buffer forms, for callers not yet on struct herald_error. */
static enum herald_err copy_message(enum herald_err rc, const struct herald_error *e, char *buf,
                                    size_t size)
{
    if (rc && size)
        snprintf(buf, size, "%s", herald_error_message(e));
    return rc;
}

enum herald_err cfg_load_dotenv(const char *path, char *err, size_t err_size)
{
    struct herald_error e;
    return copy_message(cfg_read_dotenv(path, &e), &e, err, err_size);
}

enum herald_err cfg_load(struct cfg *out, char *err, size_t err_size)
{
    struct herald_error e;
    return copy_message(cfg_read(out, &e), &e, err, err_size);
}

void cfg_free(struct cfg *cfg)
{
    for (size_t i = 0; i < CFG_COUNT; i++) {
        const struct cfg_entry *e = &cfg_table[i];
        if (e->type == CFG_STR || e->type == CFG_SECRET || e->type == CFG_CHOICE) {
            char **p = (char **)((char *)cfg + e->offset);
            free(*p);
            *p = NULL;
        }
    }
    free(cfg->listen_host);
    cfg->listen_host = NULL;
}

void cfg_write_help(FILE *out, bool markdown)
{
    if (markdown) {
        fputs("# Configuration\n\n"
              "<!-- generated by `herald --help-config --markdown`; do not edit by hand -->\n\n"
              "Herald reads its configuration from environment variables. At start-up it also "
              "reads `.env` in the working directory (or the file named by `HERALD_ENV_FILE`): "
              "`KEY=VALUE` lines that fill in variables the environment does not already set. "
              "Never commit that file. An invalid value stops start-up with a message naming "
              "the variable. Secrets marked *also `_FILE`* can be read from a file instead.\n\n"
              "| Variable | Default | Description |\n|---|---|---|\n",
              out);
    }
    for (size_t i = 0; i < CFG_COUNT; i++) {
        const struct cfg_entry *e = &cfg_table[i];
        if (markdown)
            fprintf(out, "| `%s` | `%s` | %s |\n", e->env, *e->def ? e->def : "(empty)", e->help);
        else
            fprintf(out, "%-28s default %s\n    %s\n", e->env, *e->def ? e->def : "(empty)",
                    e->help);
    }
}
