/* The store's reservations and their revisions: block
 * STMT_OTA_RESERVATIONS__BASE..STMT_OTA_RESERVATIONS__END of the statement registry and the
 * operations over those tables (store/ota_reservations.h, migration 0013). */
#include "store/ota_reservations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

#define S(id) [STMT_##id - STMT_OTA_RESERVATIONS__BASE]

/* A revision replaces the summary unless both carry a LastModifyDateTime and the summary's is
 * later (an older revision delivered late). */
#define LATEST_WINS "(CAST($8 AS BIGINT) = 0 OR current_modified_ms <= CAST($8 AS BIGINT))"

#define RES_COLS                                                                                   \
    "id, channel_id, hotel_code, res_id, status, arrival, departure, guest_email, guest_name, "    \
    "current_revision_id, revisions, created_at_ms, updated_at_ms"
#define REV_COLS                                                                                   \
    "id, reservation_id, seq, revision_key, message_kind, status, arrival, departure, rooms, "     \
    "adults, children, total, currency, language, country, booking_channel, guest_email, "         \
    "guest_given_name, guest_surname, guest_phone, consent, consent_text, comments, created_ms, "  \
    "modified_ms, received_at_ms"

const struct store_stmt_def
    store_ota_reservations_stmts[STMT_OTA_RESERVATIONS__END - STMT_OTA_RESERVATIONS__BASE] = {
        [0] = {NULL, NULL, false}, /* the block marker */
        S(OTA_RES_INSERT) = {"INSERT INTO ota_reservations (channel_id, hotel_code, res_id, "
                             "status, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, "
                             "$5) ON CONFLICT (channel_id, hotel_code, res_id) DO NOTHING "
                             "RETURNING id",
                             NULL, true},
        S(OTA_RES_FIND) = {"SELECT id, revisions, guest_email, current_modified_ms FROM "
                           "ota_reservations WHERE channel_id = $1 AND hotel_code = $2 AND "
                           "res_id = $3",
                           "SELECT id, revisions, guest_email, current_modified_ms FROM "
                           "ota_reservations WHERE "
                           "channel_id = $1 AND hotel_code = $2 AND res_id = $3 FOR UPDATE",
                           false},
        /* One more revision, which becomes the summary unless the summary is later: what the
           revision leaves out (a bare cancellation has no stay nor guest) keeps its value. $8:
           the revision's LastModifyDateTime, 0 when the message has none (then the order of
           arrival decides). One statement, one round trip on PostgreSQL. */
        S(OTA_RES_SET_LATEST) = {"UPDATE ota_reservations SET revisions = revisions + 1, "
                                 "updated_at_ms = $9, "
                                 "status = CASE WHEN " LATEST_WINS " THEN $2 ELSE status END, "
                                 "arrival = CASE WHEN " LATEST_WINS " THEN COALESCE($3, arrival) "
                                 "ELSE arrival END, "
                                 "departure = CASE WHEN " LATEST_WINS " THEN "
                                 "COALESCE($4, departure) ELSE departure END, "
                                 "guest_email = CASE WHEN " LATEST_WINS " THEN "
                                 "COALESCE($5, guest_email) ELSE guest_email END, "
                                 "guest_name = CASE WHEN " LATEST_WINS " THEN "
                                 "COALESCE($6, guest_name) ELSE guest_name END, "
                                 "current_revision_id = CASE WHEN " LATEST_WINS " THEN $7 ELSE "
                                 "current_revision_id END, "
                                 "current_modified_ms = CASE WHEN CAST($8 AS BIGINT) > "
                                 "current_modified_ms THEN CAST($8 AS BIGINT) ELSE "
                                 "current_modified_ms END WHERE id = $1",
                                 NULL, true},
        S(OTA_RES_GET) = {"SELECT " RES_COLS " FROM ota_reservations WHERE id = $1", NULL, false},
        S(OTA_RES_LIST) = {"SELECT " RES_COLS " FROM ota_reservations WHERE id > $1 "
                           "AND (CAST($2 AS TEXT) IS NULL OR hotel_code = $2) "
                           "AND (CAST($3 AS TEXT) IS NULL OR status = $3) "
                           "AND (CAST($4 AS TEXT) IS NULL OR arrival >= $4) "
                           "AND (CAST($5 AS TEXT) IS NULL OR arrival <= $5) "
                           "ORDER BY id LIMIT $6",
                           NULL, false},
        S(OTA_REV_INSERT) = {"INSERT INTO ota_reservation_revisions (reservation_id, "
                             "revision_key, seq, message_kind, status, arrival, departure, rooms, "
                             "adults, children, total, currency, created_ms, modified_ms, "
                             "received_at_ms, language, country, booking_channel, guest_email, "
                             "guest_given_name, guest_surname, guest_phone, consent, "
                             "consent_text, comments) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                             "$9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, "
                             "$22, $23, $24, $25) ON CONFLICT (reservation_id, revision_key) DO "
                             "NOTHING RETURNING id",
                             NULL, true},
        S(OTA_REV_FIND) = {"SELECT id FROM ota_reservation_revisions WHERE reservation_id = $1 "
                           "AND revision_key = $2",
                           NULL, false},
        S(OTA_REV_LIST) = {"SELECT " REV_COLS " FROM ota_reservation_revisions "
                           "WHERE reservation_id = $1 ORDER BY id",
                           NULL, false},
};

static struct store_val opt_str(const char *s)
{
    return s && *s ? SV_STR(s) : SV_NUL;
}

static enum herald_err dup_cell(const struct store_res *r, int row, int col, char **out)
{
    const char *s = store_res_text(r, row, col);
    *out = NULL;
    if (!s)
        return HERALD_OK;
    *out = strdup(s);
    return *out ? HERALD_OK : HERALD_ERR_NOMEM;
}

enum herald_err store_ota_res_upsert(struct store_conn *c, int64_t channel_id,
                                     const char *hotel_code, const char *res_id, const char *status,
                                     int64_t now_ms, struct store_ota_res_key *out)
{
    struct store_val p[] = {SV_I64(channel_id), SV_STR(hotel_code), SV_STR(res_id), SV_STR(status),
                            SV_I64(now_ms)};
    struct store_res r = {0};
    memset(out, 0, sizeof(*out));
    enum herald_err rc = store_query(c, STMT_OTA_RES_INSERT, p, 5, &r);
    out->created = !rc && r.nrows == 1;
    if (out->created)
        out->id = store_res_i64(&r, 0, 0);
    store_res_free(&r);
    if (rc || out->created)
        return rc;
    rc = store_query(c, STMT_OTA_RES_FIND, p, 3, &r);
    if (!rc && r.nrows != 1)
        rc = HERALD_ERR_DB;
    if (!rc) {
        out->id = store_res_i64(&r, 0, 0);
        out->revisions = store_res_i64(&r, 0, 1);
        const char *email = store_res_text(&r, 0, 2);
        snprintf(out->guest_email, sizeof(out->guest_email), "%s", email ? email : "");
        out->current_modified_ms = store_res_i64(&r, 0, 3);
    }
    store_res_free(&r);
    return rc;
}

enum herald_err store_ota_rev_insert(struct store_conn *c, const struct store_ota_rev *v,
                                     int64_t *id, bool *duplicate)
{
    struct store_val p[] = {SV_I64(v->reservation_id),
                            SV_STR(v->revision_key),
                            SV_I64(v->seq),
                            SV_STR(v->message_kind),
                            SV_STR(v->status),
                            opt_str(v->arrival),
                            opt_str(v->departure),
                            SV_STR(v->rooms ? v->rooms : "[]"),
                            SV_I64(v->adults),
                            SV_I64(v->children),
                            opt_str(v->total),
                            opt_str(v->currency),
                            SV_I64(v->created_ms),
                            SV_I64(v->modified_ms),
                            SV_I64(v->received_at_ms),
                            opt_str(v->language),
                            opt_str(v->country),
                            opt_str(v->booking_channel),
                            opt_str(v->guest_email),
                            opt_str(v->guest_given_name),
                            opt_str(v->guest_surname),
                            opt_str(v->guest_phone),
                            opt_str(v->consent),
                            opt_str(v->consent_text),
                            opt_str(v->comments)};
    struct store_res r = {0};
    enum herald_err rc = store_query(c, STMT_OTA_REV_INSERT, p, 25, &r);
    *duplicate = !rc && r.nrows == 0;
    if (!rc && r.nrows == 1)
        *id = store_res_i64(&r, 0, 0);
    store_res_free(&r);
    if (rc || !*duplicate)
        return rc;
    rc = store_query(c, STMT_OTA_REV_FIND, p, 2, &r);
    if (!rc && r.nrows != 1)
        rc = HERALD_ERR_DB;
    if (!rc)
        *id = store_res_i64(&r, 0, 0);
    store_res_free(&r);
    return rc;
}

enum herald_err store_ota_res_apply(struct store_conn *c, int64_t id, const struct store_ota_rev *v,
                                    const char *guest_name, int64_t order_ms, int64_t now_ms)
{
    struct store_val p[] = {SV_I64(id),
                            SV_STR(v->status),
                            opt_str(v->arrival),
                            opt_str(v->departure),
                            opt_str(v->guest_email),
                            opt_str(guest_name),
                            SV_I64(v->id),
                            SV_I64(order_ms),
                            SV_I64(now_ms)};
    struct store_res r = {0};
    enum herald_err rc = store_query(c, STMT_OTA_RES_SET_LATEST, p, 9, &r);
    store_res_free(&r);
    return rc;
}

static enum herald_err res_row(const struct store_res *r, int i, struct store_ota_res *o)
{
    memset(o, 0, sizeof(*o));
    o->id = store_res_i64(r, i, 0);
    o->channel_id = store_res_i64(r, i, 1);
    char **cols[] = {&o->hotel_code, &o->res_id,      &o->status,    &o->arrival,
                     &o->departure,  &o->guest_email, &o->guest_name};
    enum herald_err rc = HERALD_OK;
    for (int k = 0; !rc && k < 7; k++)
        rc = dup_cell(r, i, 2 + k, cols[k]);
    o->current_revision_id = store_res_i64(r, i, 9);
    o->revisions = store_res_i64(r, i, 10);
    o->created_at_ms = store_res_i64(r, i, 11);
    o->updated_at_ms = store_res_i64(r, i, 12);
    if (rc)
        store_ota_res_clear(o);
    return rc;
}

enum herald_err store_ota_res_list(struct store_conn *c, const struct store_ota_res_filter *f,
                                   struct store_ota_res **out, size_t *n)
{
    struct store_val p[] = {SV_I64(f->after_id),      opt_str(f->hotel_code), opt_str(f->status),
                            opt_str(f->arrival_from), opt_str(f->arrival_to), SV_I64(f->limit)};
    struct store_res r = {0};
    *out = NULL;
    *n = 0;
    enum herald_err rc = store_query(c, STMT_OTA_RES_LIST, p, 6, &r);
    struct store_ota_res *rows = NULL;
    if (!rc && r.nrows > 0) {
        rows = calloc((size_t)r.nrows, sizeof(*rows));
        rc = rows ? HERALD_OK : HERALD_ERR_NOMEM;
    }
    int done = 0;
    for (; !rc && done < r.nrows; done++)
        rc = res_row(&r, done, &rows[done]);
    store_res_free(&r);
    if (rc) {
        store_ota_res_free_array(rows, (size_t)done);
        return rc;
    }
    *out = rows;
    *n = (size_t)done;
    return HERALD_OK;
}

enum herald_err store_ota_res_get(struct store_conn *c, int64_t id, struct store_ota_res *out)
{
    struct store_val p[] = {SV_I64(id)};
    struct store_res r = {0};
    enum herald_err rc = store_query(c, STMT_OTA_RES_GET, p, 1, &r);
    if (!rc)
        rc = r.nrows == 1 ? res_row(&r, 0, out) : HERALD_ERR_NOT_FOUND;
    store_res_free(&r);
    return rc;
}

static enum herald_err rev_row(const struct store_res *r, int i, struct store_ota_rev *o)
{
    memset(o, 0, sizeof(*o));
    o->id = store_res_i64(r, i, 0);
    o->reservation_id = store_res_i64(r, i, 1);
    o->seq = store_res_i64(r, i, 2);
    char **a[] = {&o->revision_key, &o->message_kind, &o->status,
                  &o->arrival,      &o->departure,    &o->rooms};
    char **b[] = {&o->total,           &o->currency,    &o->language,         &o->country,
                  &o->booking_channel, &o->guest_email, &o->guest_given_name, &o->guest_surname,
                  &o->guest_phone,     &o->consent,     &o->consent_text,     &o->comments};
    enum herald_err rc = HERALD_OK;
    for (int k = 0; !rc && k < 6; k++)
        rc = dup_cell(r, i, 3 + k, a[k]);
    o->adults = store_res_i64(r, i, 9);
    o->children = store_res_i64(r, i, 10);
    for (int k = 0; !rc && k < 12; k++)
        rc = dup_cell(r, i, 11 + k, b[k]);
    o->created_ms = store_res_i64(r, i, 23);
    o->modified_ms = store_res_i64(r, i, 24);
    o->received_at_ms = store_res_i64(r, i, 25);
    if (rc)
        store_ota_rev_clear(o);
    return rc;
}

enum herald_err store_ota_rev_list(struct store_conn *c, int64_t reservation_id,
                                   struct store_ota_rev **out, size_t *n)
{
    struct store_val p[] = {SV_I64(reservation_id)};
    struct store_res r = {0};
    *out = NULL;
    *n = 0;
    enum herald_err rc = store_query(c, STMT_OTA_REV_LIST, p, 1, &r);
    struct store_ota_rev *rows = NULL;
    if (!rc && r.nrows > 0) {
        rows = calloc((size_t)r.nrows, sizeof(*rows));
        rc = rows ? HERALD_OK : HERALD_ERR_NOMEM;
    }
    int done = 0;
    for (; !rc && done < r.nrows; done++)
        rc = rev_row(&r, done, &rows[done]);
    store_res_free(&r);
    if (rc) {
        store_ota_rev_free_array(rows, (size_t)done);
        return rc;
    }
    *out = rows;
    *n = (size_t)done;
    return HERALD_OK;
}

void store_ota_res_clear(struct store_ota_res *o)
{
    if (!o)
        return;
    free(o->hotel_code);
    free(o->res_id);
    free(o->status);
    free(o->arrival);
    free(o->departure);
    free(o->guest_email);
    free(o->guest_name);
    memset(o, 0, sizeof(*o));
}

void store_ota_res_free_array(struct store_ota_res *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        store_ota_res_clear(&rows[i]);
    free(rows);
}

void store_ota_rev_clear(struct store_ota_rev *o)
{
    if (!o)
        return;
    char *all[] = {o->revision_key,     o->message_kind,  o->status,          o->arrival,
                   o->departure,        o->rooms,         o->total,           o->currency,
                   o->language,         o->country,       o->booking_channel, o->guest_email,
                   o->guest_given_name, o->guest_surname, o->guest_phone,     o->consent,
                   o->consent_text,     o->comments};
    for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
        free(all[k]);
    memset(o, 0, sizeof(*o));
}

void store_ota_rev_free_array(struct store_ota_rev *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        store_ota_rev_clear(&rows[i]);
    free(rows);
}
