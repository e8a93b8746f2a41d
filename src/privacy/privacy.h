/* Privacy (domain, src/privacy/): what Herald holds about one address and how it goes away.
 *
 *  - sources.c: THE TABLE of sources (contact, subscriptions, events, sends, feedback, dead
 *    letters, audit entries) that export and erasure both walk; a new table group (OTA
 *    reservations) is one more entry there plus its statements in store/privacy.c.
 *  - export.c + zip.c: the export of an address as one streamed JSON document, or a ZIP of one
 *    CSV per source, read piece by piece (a page of 500 rows at a time, never the whole set).
 *  - erase.c: the `privacy_erase` job kind: every source's rows deleted or anonymised (events
 *    keep a unique salted-hash key), the address's hash on the suppression list (at once, in
 *    the request's transaction), Mixpanel's GDPR deletion for the distinct_ids Herald forwarded
 *    (mixpanel_gdpr.c), a per-table report kept in privacy_erasures.
 *  - retention.c: the `retention` job kind (daily schedule): deletes old events, sends,
 *    feedback and dead letters in bounded batches, one short transaction each.
 *  - audit.c: the append-only audit log: a batching writer for the HTTP layer's per-request
 *    entries, direct writes for exports, erasures and the CLI's key changes, and the listing.
 *
 * The suppression check every contact-creating path applies lives in the contacts domain
 * (mail/contacts.c, mail/import_job.c) over store/privacy.h. Errors: HERALD_ERR_INVALID (bad
 * address), HERALD_ERR_NOT_FOUND, HERALD_ERR_NOMEM, HERALD_ERR_UPSTREAM (Mixpanel), store
 * errors. */
#ifndef HERALD_PRIVACY_PRIVACY_H
#define HERALD_PRIVACY_PRIVACY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "jobs/jobs.h"
#include "store/privacy.h"
#include "store/store.h"

struct privacy_opts {
    struct store *st;
    struct jobs *jobs;
    /* retention, in days; 0 keeps */
    int events_days, sends_days, reservations_days, dead_letters_days;
    /* Mixpanel's GDPR API: the project token, the OAuth token, its base URL; how forwarding
     * made distinct_ids (hash_emails with hash_secret: HMAC of the address; else the address). */
    const char *mixpanel_token, *mixpanel_gdpr_token, *mixpanel_gdpr_base_url;
    bool hash_emails;
    const char *hash_secret;
    long timeout_ms;
    /* the job layer's HERALD_JOB_MAX_ATTEMPTS: the last attempt records Mixpanel's failure
     * instead of failing the job, so the erasure finishes with its ids kept */
    int max_attempts;
};
struct privacy;

/* Registers the job kinds privacy_erase and retention (before jobs_start()) and starts
 * the audit writer thread. Copies what it keeps of `o`. */
enum herald_err privacy_start(const struct privacy_opts *o, struct privacy **out);
/* Flushes the audit queue, stops the writer and frees. p may be NULL. */
void privacy_stop(struct privacy *p);

/* ---- sources (sources.c) ---- */
struct privacy_col {
    const char *name;
    char type; /* 's' text, 'i' integer, 'j' JSON text, 't' unix ms shown as an ISO time */
};
struct privacy_source {
    const char *name;  /* the export's key and CSV file name */
    const char *table; /* the erasure report's key */
    enum store_privacy_src src;
    const struct privacy_col *cols;
    int ncols;
    bool batched; /* erasure runs in steps of PRIVACY_ERASE_BATCH rows */
};
#define PRIVACY_ERASE_BATCH 500
extern const struct privacy_source privacy_sources[];
extern const size_t privacy_source_count;

/* ---- export (export.c) ---- */
enum privacy_format { PRIVACY_JSON, PRIVACY_ZIP };
struct privacy_export;
/* Prepares the export of `email` (normalised here: HERALD_ERR_INVALID). Reads nothing yet. */
enum herald_err privacy_export_open(struct store *st, const char *email, enum privacy_format f,
                                    struct privacy_export **out);
/* The next bytes of the document: how many were written, 0 at the end, -1 on a store error. */
long privacy_export_read(struct privacy_export *x, char *buf, size_t max);
void privacy_export_free(struct privacy_export *x);

/* ---- erasure (erase.c) ---- */
struct privacy_audit;
/* Records the request, puts the address's hash on the suppression list, writes the audit entry
 * `who` (action privacy.erase, subject the address) and queues the privacy_erase job, in one
 * transaction. */
enum herald_err privacy_erase_submit(struct privacy *p, const char *email,
                                     const struct privacy_audit *who, int64_t *erasure_id,
                                     char job_id[40]);
enum herald_err privacy_erasure_get(struct store *st, int64_t id, struct store_erasure *out);
/* Re-sends Mixpanel's deletion of a done erasure whose request failed (a privacy_erase job in
 * mixpanel-only mode; its report's mixpanel status becomes "retrying"). HERALD_ERR_NOT_FOUND,
 * HERALD_ERR_CONFLICT when there is nothing to re-send. */
enum herald_err privacy_erasure_retry_mixpanel(struct privacy *p, int64_t id, char job_id[40]);

/* ---- retention (retention.c) ---- */
enum herald_err privacy_retention_submit(struct privacy *p, char job_id[40]);
/* {"settings":{"eventsDays",...},"lastRunAt","lastReport"} (a new reference). */
enum herald_err privacy_retention_status(struct privacy *p, json_t **out);

/* ---- audit (audit.c) ---- */
struct privacy_audit {
    const char *actor;  /* key id, or "cli" */
    const char *action; /* "POST /api/contacts", "privacy.export", "keys.create" ... */
    const char *ip, *request_id, *subject, *detail; /* may be NULL; detail is JSON text */
    int status;                                     /* HTTP status; 0: none */
};
/* Queues an entry for the writer thread (written within ~200 ms, in batches). When the queue
 * is full the caller waits for room (up to 2 s, then the entry is logged as lost). */
void privacy_audit_enqueue(struct privacy *p, const struct privacy_audit *a);
/* Writes one entry now (its own transaction). */
enum herald_err privacy_audit_write(struct store *st, const struct privacy_audit *a);
/* Newest first, ids below before_id (0: from the newest); subject NULL for all. */
enum herald_err privacy_audit_list(struct store *st, const char *subject, int64_t before_id,
                                   int limit, struct store_audit **out, size_t *count);

/* The erasure job's Mixpanel step (mixpanel_gdpr.c): POSTs one deletion task for `ids` (a JSON
 * array of distinct_ids) and fills *out {"status":"requested","taskId"} or {"status":"failed",
 * "httpStatus","reason"}. HERALD_ERR_UPSTREAM (retry later; *out is the state to keep once the
 * attempts are spent) on a transport error, 401, 403, 429 or 5xx. */
enum herald_err privacy_mixpanel_delete(const struct privacy_opts *o, json_t *ids, json_t **out);

#endif
