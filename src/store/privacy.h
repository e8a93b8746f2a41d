/* The store's privacy tables (store/privacy.c, statement block STMT_PRIVACY; migration 0017):
 * the deployment's salt, the suppression list by address hash, the append-only audit log,
 * erasure requests and retention runs; and the per-source statements export, erasure and
 * retention run over the other table groups (contacts, subscriptions, events, send_queue,
 * mail_feedback, dead letters, audit log).
 *
 * Address hashes are hex(HMAC-SHA256(salt, address)) of an address already normalised by the
 * caller (trimmed, lowercased): the salt is random per deployment, created on first use and
 * kept in the database (so backups carry it). All functions run inside the caller's
 * transaction (store_run_tx() / store_run_read()). Errors: HERALD_ERR_NOT_FOUND,
 * HERALD_ERR_NOMEM, store errors (store.h). */
#ifndef HERALD_STORE_PRIVACY_H
#define HERALD_STORE_PRIVACY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define STORE_PRIVACY_HASH_LEN 65 /* 64 hex digits + NUL */

/* The salt (hex), created when missing (a write: call it from a write transaction first). */
enum herald_err store_privacy_salt(struct store_conn *c, char out[STORE_PRIVACY_HASH_LEN]);
/* hex(HMAC-SHA256(salt, text)). */
void store_privacy_hash(const char *salt, const char *text, char out[STORE_PRIVACY_HASH_LEN]);

/* ---- suppression list ---- */
enum herald_err store_suppression_add(struct store_conn *c, const char *addr_hash,
                                      const char *reason, int64_t now_ms);
/* Whether the normalised address `email` is suppressed (reads the salt; never creates it). */
enum herald_err store_suppressed(struct store_conn *c, const char *email, bool *out);
/* The rows of an import batch (JSON [[email, name, {attributes}], ...]) whose address is not
 * suppressed, as a new JSON text (*out, free() it; NULL when no row is left); *dropped counts
 * the others. */
enum herald_err store_suppression_filter(struct store_conn *c, const char *batch, char **out,
                                         int64_t *dropped);

/* This process's copy of the list, for the paths that must not store or forward a suppressed
 * address's data at event rates (store_event_insert_many(), the Mixpanel forwarder;
 * store/privacy_supp.c). Refresh: when the copy was last checked more than max_age_ms ago,
 * reads the list's row count (one small query, in the caller's transaction) and reloads the
 * hashes only when it changed; *any: the list is not empty. A schema without the privacy
 * tables is an empty list. The event writers pass STORE_SUPP_MAX_AGE_MS (0: every batch): a
 * transaction that starts after the erasure's suppression committed sees it. */
#define STORE_SUPP_MAX_AGE_MS 0
enum herald_err store_suppression_refresh(struct store_conn *c, int64_t max_age_ms, bool *any);
/* The same in a read transaction of its own. */
enum herald_err store_suppression_refresh_read(struct store *st, int64_t max_age_ms);
/* Whether `email` (trimmed and lowercased here) is on the copy; hashes only when the copy is
 * not empty. Thread-safe. */
bool store_suppression_hit(struct store *st, const char *email);
/* The copy's version (the list's row count when last refreshed; -1: no privacy tables). */
int64_t store_suppression_version(struct store *st);

/* ---- audit log (append-only) ---- */
struct store_audit {
    int64_t id, at_ms;
    char *actor, *action, *ip, *request_id, *subject, *detail; /* ip..detail may be NULL */
    int64_t status;                                            /* 0: none */
    bool subject_hashed;
};
enum herald_err store_audit_insert(struct store_conn *c, const struct store_audit *a);
/* n entries in one statement, ids in array order. */
enum herald_err store_audit_insert_many(struct store_conn *c, const struct store_audit *rows,
                                        size_t n);
/* Newest first, ids below before_id (0: from the newest); `subject` NULL for all. */
enum herald_err store_audit_list(struct store_conn *c, const char *subject, int64_t before_id,
                                 int limit, struct store_audit **out, size_t *count);
void store_audits_free(struct store_audit *rows, size_t count);

/* ---- erasure requests ---- */
struct store_erasure {
    int64_t id;
    char *email; /* NULL once done */
    char addr_hash[STORE_PRIVACY_HASH_LEN];
    char job_id[40];
    char status[8];     /* pending, done */
    char *report;       /* JSON or NULL */
    char *mixpanel_ids; /* JSON array or NULL (not collected yet; cleared once Mixpanel took
                           them, kept while its deletion request has failed) */
    int64_t created_at_ms, finished_at_ms;
};
void store_erasure_clear(struct store_erasure *e);
enum herald_err store_erasure_insert(struct store_conn *c, const char *email, const char *addr_hash,
                                     int64_t now_ms, int64_t *id);
enum herald_err store_erasure_set_job(struct store_conn *c, int64_t id, const char *job_id);
enum herald_err store_erasure_get(struct store_conn *c, int64_t id, struct store_erasure *out);
enum herald_err store_erasure_set_ids(struct store_conn *c, int64_t id, const char *ids_json);
/* Done: the report kept, the address forgotten; the collected ids too unless keep_ids (Mixpanel
 * has not accepted their deletion yet, so a retry can re-send them). */
enum herald_err store_erasure_finish(struct store_conn *c, int64_t id, const char *report,
                                     int64_t now_ms, bool keep_ids);
/* A done erasure whose report is still `was` and whose ids are kept: the report becomes
 * `report`, the ids are forgotten unless keep_ids. HERALD_ERR_CONFLICT when either changed. */
enum herald_err store_erasure_set_mixpanel(struct store_conn *c, int64_t id, const char *was,
                                           const char *report, bool keep_ids);

/* ---- sources: what export and erasure walk ---- */
enum store_privacy_src {
    STORE_PSRC_CONTACT,
    STORE_PSRC_SUBSCRIPTIONS,
    STORE_PSRC_EVENTS,
    STORE_PSRC_SENDS,
    STORE_PSRC_FEEDBACK,
    STORE_PSRC_DEAD_LETTERS,
    STORE_PSRC_AUDIT,
    STORE_PSRC_RESERVATIONS, /* OTA reservations and their revisions (migration 0013) */
    STORE_PSRC__COUNT
};
/* Text cells, NULL for SQL NULL; the first column is the paging cursor (an integer). */
struct store_res;
struct store_privacy_rows {
    int nrows, ncols;
    char **cells;
    int64_t last_id; /* the next page's cursor: rows may have been filtered out after the query */
    bool more;       /* whether a next page may hold rows */
    struct store_res *res; /* owns the cells' text */
};
void store_privacy_rows_free(struct store_privacy_rows *r);
static inline const char *store_privacy_cell(const struct store_privacy_rows *r, int row, int col)
{
    return r->cells[row * r->ncols + col];
}
/* Up to `limit` rows of `src` held for `email` (contact_id: its contact, 0 when none), with a
 * cursor above `after`, in cursor order. */
enum herald_err store_privacy_export_page(struct store_conn *c, enum store_privacy_src src,
                                          const char *email, int64_t contact_id, int64_t after,
                                          int limit, struct store_privacy_rows *out);
/* The contact id of `email`, 0 when there is none. */
enum herald_err store_privacy_contact_id(struct store_conn *c, const char *email, int64_t *out);

/* One erasure step of `src` (at most `limit` rows): deletes or anonymises; *n counts the rows.
 * Steps are idempotent; call until *n < limit. Events keep a unique key: "erased_" + the
 * salted hash of their key. The audit log's subjects become `addr_hash`. */
enum herald_err store_privacy_erase_step(struct store_conn *c, enum store_privacy_src src,
                                         const char *email, int64_t contact_id, const char *salt,
                                         const char *addr_hash, int limit, int64_t *n);
/* Events of `email` at or below the Mixpanel forwarding cursor: *out true when any. */
enum herald_err store_privacy_forwarded(struct store_conn *c, const char *email, bool *out);

/* ---- retention ---- */
enum store_retention_kind {
    STORE_RET_EVENTS,
    STORE_RET_SENDS,
    STORE_RET_FEEDBACK,
    STORE_RET_DEAD_LETTERS,
    STORE_RET_RESERVATIONS, /* by departure date (before_ms as a date), then last update */
    STORE_RET__COUNT
};
/* Deletes at most `limit` rows of `kind` older than before_ms; *n counts them. */
enum herald_err store_retention_step(struct store_conn *c, enum store_retention_kind kind,
                                     int64_t before_ms, int limit, int64_t *n);
enum herald_err store_retention_record(struct store_conn *c, const char *job_id, const char *report,
                                       int64_t now_ms);
/* The newest run's report (*report NULL when none; free() it) and time. */
enum herald_err store_retention_last(struct store_conn *c, char **report, int64_t *at_ms);

#endif
