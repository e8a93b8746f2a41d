/* Configuration: one declarative table (config.c) drives loading from the environment
 * (and an optional .env file), validation, `herald --help-config` and docs/configuration.md.
 * Secrets may also come from a file named by the variable with `_FILE` appended. */
#ifndef HERALD_BASE_CONFIG_H
#define HERALD_BASE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "base/err.h"

struct cfg_rate {
    int count;      /* requests allowed per period (and the burst) */
    int period_sec; /* 1, 60 or 3600 */
};

struct cfg {
    char *database_url;
    char *listen_host;
    int listen_port;
    int db_pool_min;
    int db_pool_max;
    char *cors_origins; /* comma-separated, may be empty */
    struct cfg_rate rate_limit;
    struct cfg_rate rate_limit_ip;
    /* HTTP hardening (issue 7) */
    struct cfg_rate rate_limit_ip_keyed;
    int http_max_connections;
    int http_per_ip_connections;
    int http_idle_timeout;
    long max_body;
    char *tls_cert_file;
    char *tls_key_file;
    int log_level;
    char *metrics_token;   /* secret */
    char *backup_key_file; /* backups: one block */
    char *backup_dir;
    char *backup_schedule;
    int backup_keep_days;
    char *backup_s3_url;
    char *backup_s3_region;
    char *backup_s3_access_key_file;
    char *backup_s3_secret_key_file;
    int http_threads;
    int writer_batch;
    int writer_flush_ms;
    int writer_cache;
    int writer_queue_max;
    char *sqlite_synchronous;
    int shutdown_timeout;
    char *lemlist_api_key; /* secret */
    char *lemlist_base_url;
    struct cfg_rate lemlist_rate;
    char *smartlead_api_key; /* secret */
    char *smartlead_base_url;
    struct cfg_rate smartlead_rate;
    int upstream_timeout_ms;
    char *sync_schedule;
    int sync_workers;
    int job_lease_seconds;
    int job_max_attempts;
    char *mixpanel_token; /* secret */
    char *mixpanel_service_account;
    char *mixpanel_secret; /* secret */
    char *mixpanel_project_id;
    char *mixpanel_base_url;
    int mixpanel_hash_emails;
    /* sync hardening (issue 7) */
    char *mixpanel_hash_secret;    /* secret; required (16+) when mixpanel_hash_emails */
    char *allow_insecure_upstream; /* "false" or "true": http:// upstream base URLs */
    int upstream_probe_seconds;    /* background /health probe interval */
    int mixpanel_batch;
    int mixpanel_backoff_ms;
    int mixpanel_grace_ms;
    char *data_dir_hint;
    /* email sending (issue 8) */
    char *public_url;
    char *postal_address;
    char *mail_secret_file;
    char *mail_from;
    char *bounce_domain;
    char *smtp_url; /* secret: may hold credentials */
    char *smtp_user;
    char *smtp_password; /* secret */
    char *smtp_starttls; /* "opportunistic", "required" or "off" */
    int smtp_workers;
    char *smtp_rate;        /* "off" or a rate */
    char *smtp_domain_rate; /* "off" or a rate, per recipient domain */
    int smtp_timeout_ms;
    int smtp_retries;
    int send_batch;
    char *dkim_key_file;
    char *dkim_domain;
    char *dkim_selector;
    char *dkim_ed25519_key_file;
    char *dkim_ed25519_selector;
    char *bounce_listen;
    int optin_token_hours;
    struct cfg_rate form_rate;
    int import_max_rows;
    struct cfg_rate rate_limit_links;
    /* hotels (OTA) */
    char *ota_secret_file;
    char *ota_relay_domains;
    int ota_max_message_bytes;
    int ota_webhook_tolerance_s;
    int automation_send_hour;
    int automation_tick_s;
    int automation_clock_offset_s;
    /* privacy */
    int retention_events_days;
    int retention_sends_days;
    int retention_reservations_days;
    int retention_dead_letters_days;
    char *retention_schedule;
    char *mixpanel_gdpr_token; /* secret */
    char *mixpanel_gdpr_base_url;
    /* otapush */
    struct cfg_rate ota_push_rate;
    /* dashboard */
    char *web_dir;
    /* hotels: rates and availability out */
    int ota_delivery_backoff_max_s;
};

/* Sets each variable of a KEY=VALUE file that the environment does not already have.
 * A missing file is fine (HERALD_OK); a malformed line is HERALD_ERR_CONFIG with the file in
 * err->field and "PATH:LINE: expected KEY=VALUE" in err->message. */
enum herald_err cfg_read_dotenv(const char *path, struct herald_error *err);
/* Fills `out` from the environment; on an invalid value returns HERALD_ERR_CONFIG with the
 * variable in err->field and a message naming it. Call cfg_free() in both cases. */
enum herald_err cfg_read(struct cfg *out, struct herald_error *err);
/* The same two with the message copied into a buffer (kept for main.c; prefer the above). */
enum herald_err cfg_load_dotenv(const char *path, char *err, size_t err_size);
enum herald_err cfg_load(struct cfg *out, char *err, size_t err_size);
void cfg_free(struct cfg *cfg);
/* Writes the table as plain help text, or as the Markdown of docs/configuration.md. */
void cfg_write_help(FILE *out, bool markdown);
/* Parses "100/min", "10/s", "5000/h", "20/2s"; 0 or HERALD_ERR_INVALID. */
enum herald_err cfg_parse_rate(const char *s, struct cfg_rate *out);

#endif
