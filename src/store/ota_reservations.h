/* The store's side of OTA reservations (store/ota_reservations.c, statement block
 * STMT_OTA_RESERVATIONS, migration 0013): ota_reservations (one row per channel, hotel code and
 * channel reservation id, with the latest revision's summary) and ota_reservation_revisions
 * (every distinct revision once, UNIQUE (reservation_id, revision_key)). Only ota/reservations.c
 * calls these, inside its transactions. Strings in the row structs are malloc'ed (NULL for SQL
 * NULL); free them with the matching _free. Errors: HERALD_ERR_DB / HERALD_ERR_DB_SOFT from the
 * backend, HERALD_ERR_NOT_FOUND, HERALD_ERR_NOMEM. */
#ifndef HERALD_STORE_OTA_RESERVATIONS_H
#define HERALD_STORE_OTA_RESERVATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* The summary row. */
struct store_ota_res {
    int64_t id, channel_id;
    char *hotel_code, *res_id, *status, *arrival, *departure, *guest_email, *guest_name;
    int64_t current_revision_id, revisions, created_at_ms, updated_at_ms;
};

/* One revision. On insert every pointer may be NULL or "" (both stored as NULL, except rooms:
 * "[]" and the NOT NULL text columns). */
struct store_ota_rev {
    int64_t id, reservation_id, seq;
    char *revision_key, *message_kind, *status, *arrival, *departure, *rooms;
    int64_t adults, children;
    char *total, *currency, *language, *country, *booking_channel;
    char *guest_email, *guest_given_name, *guest_surname, *guest_phone;
    char *consent, *consent_text, *comments; /* consent: "given", "refused" or NULL */
    int64_t created_ms, modified_ms, received_at_ms;
};

struct store_ota_res_key {
    int64_t id;
    bool created;                /* inserted by this call */
    int64_t revisions;           /* its revision count so far */
    char guest_email[320];       /* the summary's guest address, "" when none or created */
    int64_t current_modified_ms; /* the summary's LastModifyDateTime, 0 when none or created */
};
/* Finds the reservation (channel, hotel, res_id) (locked FOR UPDATE on PostgreSQL) or inserts
 * it with `status`. Safe against a concurrent insert of the same key (ON CONFLICT DO NOTHING,
 * then read). */
enum herald_err store_ota_res_upsert(struct store_conn *c, int64_t channel_id,
                                     const char *hotel_code, const char *res_id, const char *status,
                                     int64_t now_ms, struct store_ota_res_key *out);
/* Inserts a revision unless (reservation_id, revision_key) exists: then *duplicate is true and
 * *id is the stored revision's id. */
enum herald_err store_ota_rev_insert(struct store_conn *c, const struct store_ota_rev *rev,
                                     int64_t *id, bool *duplicate);
/* Counts one more revision and makes it the reservation's summary, unless both it and the
 * summary carry a LastModifyDateTime and the summary's is later (an older revision delivered
 * late). order_ms: the revision's LastModifyDateTime, 0 when its message has none. */
enum herald_err store_ota_res_apply(struct store_conn *c, int64_t id,
                                    const struct store_ota_rev *rev, const char *guest_name,
                                    int64_t order_ms, int64_t now_ms);

struct store_ota_res_filter {
    const char *hotel_code, *status;       /* NULL = any */
    const char *arrival_from, *arrival_to; /* "YYYY-MM-DD" inclusive, NULL = open */
    int64_t after_id;                      /* paging: ids > after_id, ascending */
    int limit;
};
/* *out is malloc'ed (free with store_ota_res_free_array). */
enum herald_err store_ota_res_list(struct store_conn *c, const struct store_ota_res_filter *f,
                                   struct store_ota_res **out, size_t *n);
enum herald_err store_ota_res_get(struct store_conn *c, int64_t id, struct store_ota_res *out);
/* The revisions of a reservation in id order; free with store_ota_rev_free_array. */
enum herald_err store_ota_rev_list(struct store_conn *c, int64_t reservation_id,
                                   struct store_ota_rev **out, size_t *n);

void store_ota_res_clear(struct store_ota_res *r);
void store_ota_res_free_array(struct store_ota_res *rows, size_t n);
void store_ota_rev_clear(struct store_ota_rev *r);
void store_ota_rev_free_array(struct store_ota_rev *rows, size_t n);

#endif
