/* The store's rate and availability intents and the delivery outbox: block
 * STMT_OTA_UPDATES__BASE..STMT_OTA_UPDATES__END of the statement registry and the operations over
 * those tables (migration 0015_ota_updates). */
#include "store/ota_updates.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

#define S(id) [STMT_##id - STMT_OTA_UPDATES__BASE]
#define ARI_COLS                                                                                   \
    "u.id, u.intent_id, u.channel_id, u.kind, u.hotel_code, u.room_type, u.rate_plan, "            \
    "u.date_from, u.date_to, u.weekdays, u.fields, u.payload, u.status, u.attempts, u.errors, "    \
    "u.warnings, COALESCE(u.superseded_by, 0), u.created_at_ms, u.updated_at_ms, "                 \
    "COALESCE(u.delivered_at_ms, 0)"
/* The same channel, kind, room type and rate plan as the row being inserted ($1..$4). */
#define SAME_KEY "channel_id = $1 AND kind = $2 AND room_type = $3 AND rate_plan = $4"
#define SAME_KEY_PG                                                                                \
    "channel_id = $1::bigint AND kind = $2::text AND room_type = $3::text AND rate_plan = "        \
    "$4::text"
#define LIVE "('pending', 'sending', 'delivered')"
#define ID_LIST_SQLITE "(SELECT value FROM json_each($2))"
#define ID_LIST_PG "(SELECT x::bigint FROM json_array_elements_text($2::json) AS x)"
/* The listing's channel name and the channel's delivery trouble (shown with pending rows). */
#define LIST_CHANNEL_COLS                                                                          \
    "COALESCE(c.name, ''), COALESCE(s.last_error, ''), COALESCE(s.failures, 0), "                  \
    "COALESCE(s.retry_at_ms, 0)"
/* Failed rows chosen by POST /api/ota/updates/retry: $1 channel (0: any), $2 ids (a JSON array),
 * $3 whether the ids apply. */
#define FAILED_PICK                                                                                \
    "status = 'failed' AND ($1 = 0 OR channel_id = $1) AND ($3 = 0 OR id IN (SELECT value FROM "   \
    "json_each($2)))"
#define FAILED_PICK_PG                                                                             \
    "status = 'failed' AND ($1::bigint = 0 OR channel_id = $1::bigint) AND ($3::integer = 0 OR "   \
    "id IN (SELECT x::bigint FROM json_array_elements_text($2::json) AS x))"
/* A failed row (OUTER: the table being updated) comes back only to a channel that still takes
 * updates, and not when a newer row of its key already went (or is going) out over any of its dates
 * — sending it now would put older values over newer ones — nor when a newer pending row covers it
 * whole (it would be superseded at once). A newer pending row that only overlaps it goes after it.
 */
#define OUTER "ota_ari_updates."
#define REQUEUE_OK                                                                                 \
    " AND EXISTS (SELECT 1 FROM ota_channels c WHERE c.id = " OUTER                                \
    "channel_id AND c.enabled <> 0 "                                                               \
    "AND c.takes_updates <> 0) AND NOT EXISTS (SELECT 1 FROM ota_ari_updates v WHERE "             \
    "v.channel_id = " OUTER "channel_id AND v.kind = " OUTER "kind AND v.room_type = " OUTER       \
    "room_type AND "                                                                               \
    "v.rate_plan = " OUTER "rate_plan AND v.id > " OUTER                                           \
    "id AND ((v.status IN ('sending', 'delivered') "                                               \
    "AND v.date_from <= " OUTER "date_to AND v.date_to >= " OUTER                                  \
    "date_from) OR (v.status = 'pending' "                                                         \
    "AND v.date_from <= " OUTER "date_from AND v.date_to >= " OUTER "date_to AND (" OUTER          \
    "weekdays & "                                                                                  \
    "~v.weekdays) = 0 AND (" OUTER "fields & ~v.fields) = 0)))"

const struct store_stmt_def store_ota_updates_stmts[STMT_OTA_UPDATES__END -
                                                    STMT_OTA_UPDATES__BASE] = {
    [0] = {NULL, NULL, false}, /* the block marker */
    S(ARI_INTENT_INSERT) = {"INSERT INTO ota_ari_intents (kind, hotel_code, room_type, "
                            "rate_plan, date_from, date_to, body, created_at_ms) VALUES ($1, "
                            "$2, $3, $4, $5, $6, $7, $8) RETURNING id",
                            NULL, true},
    S(ARI_UPDATE_INSERT) = {"INSERT INTO ota_ari_updates (intent_id, channel_id, kind, "
                            "hotel_code, room_type, rate_plan, date_from, date_to, weekdays, "
                            "fields, payload, created_at_ms, updated_at_ms) VALUES ($1, $2, "
                            "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
                            NULL, true},
    S(ARI_SUPERSEDE) =
        {"UPDATE ota_ari_updates SET status = 'superseded', superseded_by = $9, "
         "updated_at_ms = $10 WHERE " SAME_KEY " AND status = 'pending' AND date_from >= $5 "
         "AND date_to <= $6 AND (weekdays & ~$7) = 0 AND (fields & ~$8) = 0 AND id < $9",
         "UPDATE ota_ari_updates SET status = 'superseded', superseded_by = $9::bigint, "
         "updated_at_ms = $10::bigint WHERE " SAME_KEY_PG " AND status = 'pending' AND "
         "date_from >= $5::text AND date_to <= $6::text AND (weekdays & ~($7::integer)) = 0 "
         "AND (fields & ~($8::integer)) = 0 AND id < $9::bigint",
         true},
    S(ARI_UNCHANGED) =
        {"SELECT u.payload FROM ota_ari_updates u WHERE " SAME_KEY " AND u.date_from = $5 "
         "AND u.date_to = $6 AND u.weekdays = $7 AND u.fields = $8 AND u.status IN " LIVE
         " AND NOT EXISTS (SELECT 1 FROM ota_ari_updates v WHERE v.channel_id = u.channel_id "
         "AND v.kind = u.kind AND v.room_type = u.room_type AND v.rate_plan = u.rate_plan AND "
         "v.id > u.id AND v.status IN " LIVE " AND v.date_from <= u.date_to AND v.date_to >= "
         "u.date_from) ORDER BY u.id DESC LIMIT 1",
         "SELECT u.payload FROM ota_ari_updates u WHERE u.channel_id = $1::bigint AND u.kind = "
         "$2::text AND u.room_type = $3::text AND u.rate_plan = $4::text AND u.date_from = "
         "$5::text AND u.date_to = $6::text AND u.weekdays = $7::integer AND u.fields = "
         "$8::integer AND u.status IN " LIVE " AND NOT EXISTS (SELECT 1 FROM ota_ari_updates v "
         "WHERE v.channel_id = u.channel_id AND v.kind = u.kind AND v.room_type = u.room_type "
         "AND v.rate_plan = u.rate_plan AND v.id > u.id AND v.status IN " LIVE " AND "
         "v.date_from <= u.date_to AND v.date_to >= u.date_from) ORDER BY u.id DESC LIMIT 1",
         false},
    S(ARI_STATE_ENSURE) = {"INSERT INTO ota_ari_channels (channel_id, updated_at_ms) VALUES "
                           "($1, $2) ON CONFLICT (channel_id) DO NOTHING",
                           NULL, true},
    S(ARI_STATE_GET) = {"SELECT COALESCE(holder, ''), lease_until_ms, retry_at_ms, failures, "
                        "COALESCE(last_error, ''), kicked_at_ms FROM ota_ari_channels WHERE "
                        "channel_id = $1",
                        "SELECT COALESCE(holder, ''), lease_until_ms, retry_at_ms, failures, "
                        "COALESCE(last_error, ''), kicked_at_ms FROM ota_ari_channels WHERE "
                        "channel_id = $1 FOR UPDATE",
                        true},
    S(ARI_STATE_SAVE) = {"UPDATE ota_ari_channels SET holder = NULLIF($2, ''), lease_until_ms "
                         "= $3, retry_at_ms = $4, failures = $5, last_error = NULLIF($6, ''), "
                         "updated_at_ms = $7, kicked_at_ms = $8 WHERE channel_id = $1",
                         "UPDATE ota_ari_channels SET holder = NULLIF($2::text, ''), "
                         "lease_until_ms = $3::bigint, retry_at_ms = $4::bigint, failures = "
                         "$5::integer, last_error = NULLIF($6::text, ''), updated_at_ms = "
                         "$7::bigint, kicked_at_ms = $8::bigint WHERE channel_id = $1::bigint",
                         true},
    S(ARI_KICK) = {"UPDATE ota_ari_channels SET kicked_at_ms = $2 WHERE channel_id = $1 AND "
                   "(kicked_at_ms = 0 OR kicked_at_ms < $3)",
                   NULL, true},
    S(ARI_RESET_SENDING) = {"UPDATE ota_ari_updates SET status = 'pending' WHERE channel_id = "
                            "$1 AND status = 'sending'",
                            NULL, true},
    S(ARI_PENDING) = {"SELECT " ARI_COLS " FROM ota_ari_updates u WHERE u.channel_id = $1 AND "
                      "u.status = 'pending' ORDER BY u.id LIMIT $2",
                      NULL, false},
    /* ... and no older pending row of the same key outside [from, to] (date order per key). */
    S(ARI_PENDING_WITHIN) =
        {"SELECT " ARI_COLS " FROM ota_ari_updates u WHERE u.channel_id = $1 AND u.status = "
         "'pending' AND u.kind = $2 AND u.hotel_code = $3 AND u.date_from >= $4 AND u.date_to <= "
         "$5 AND NOT EXISTS (SELECT 1 FROM ota_ari_updates v WHERE v.channel_id = u.channel_id "
         "AND v.kind = u.kind AND v.room_type = u.room_type AND v.rate_plan = u.rate_plan AND "
         "v.id < u.id AND v.status = 'pending' AND NOT (v.date_from >= $4 AND v.date_to <= $5)) "
         "ORDER BY u.id LIMIT $6",
         "SELECT " ARI_COLS " FROM ota_ari_updates u WHERE u.channel_id = $1::bigint AND "
         "u.status = 'pending' AND u.kind = $2::text AND u.hotel_code = $3::text AND u.date_from "
         ">= $4::text AND u.date_to <= $5::text AND NOT EXISTS (SELECT 1 FROM ota_ari_updates v "
         "WHERE v.channel_id = u.channel_id AND v.kind = u.kind AND v.room_type = u.room_type AND "
         "v.rate_plan = u.rate_plan AND v.id < u.id AND v.status = 'pending' AND NOT "
         "(v.date_from >= $4::text AND v.date_to <= $5::text)) ORDER BY u.id LIMIT $6::integer",
         false},
    S(ARI_MARK_SENDING) = {"UPDATE ota_ari_updates SET status = 'sending', updated_at_ms = $3 "
                           "WHERE channel_id = $1 AND status = 'pending' AND id IN " ID_LIST_SQLITE,
                           "UPDATE ota_ari_updates SET status = 'sending', updated_at_ms = "
                           "$3::bigint WHERE channel_id = $1::bigint AND status = 'pending' AND "
                           "id IN " ID_LIST_PG,
                           true},
    S(ARI_OUTCOME) = {"UPDATE ota_ari_updates SET status = $2, attempts = attempts + 1, "
                      "errors = $3, warnings = $4, updated_at_ms = $5, delivered_at_ms = CASE "
                      "WHEN $2 = 'delivered' THEN $5 END WHERE id = $1 AND status = 'sending'",
                      "UPDATE ota_ari_updates SET status = $2::text, attempts = attempts + 1, "
                      "errors = $3::text, warnings = $4::text, updated_at_ms = $5::bigint, "
                      "delivered_at_ms = CASE WHEN $2::text = 'delivered' THEN $5::bigint END "
                      "WHERE id = $1::bigint AND status = 'sending'",
                      true},
    S(ARI_FAILED_CHANNELS) =
        {"SELECT DISTINCT channel_id FROM ota_ari_updates WHERE " FAILED_PICK
         " ORDER BY channel_id",
         "SELECT DISTINCT channel_id FROM ota_ari_updates WHERE " FAILED_PICK_PG
         " ORDER BY channel_id",
         false},
    S(ARI_REQUEUE) =
        {"UPDATE ota_ari_updates SET status = 'pending', updated_at_ms = $4 WHERE " FAILED_PICK
             REQUEUE_OK,
         "UPDATE ota_ari_updates SET status = 'pending', updated_at_ms = $4::bigint "
         "WHERE " FAILED_PICK_PG REQUEUE_OK,
         true},
    S(ARI_FAILED_COUNT) = {"SELECT COUNT(*) FROM ota_ari_updates WHERE " FAILED_PICK,
                           "SELECT COUNT(*) FROM ota_ari_updates WHERE " FAILED_PICK_PG, false},
    S(ARI_FAIL_CHANNEL) = {"UPDATE ota_ari_updates SET status = 'failed', errors = $2, "
                           "updated_at_ms = $3 WHERE channel_id = $1 AND status IN ('pending', "
                           "'sending')",
                           NULL, true},
    S(ARI_LIST) = {"SELECT " ARI_COLS ", " LIST_CHANNEL_COLS " FROM ota_ari_updates u LEFT "
                   "JOIN ota_channels c ON c.id = u.channel_id LEFT JOIN ota_ari_channels s ON "
                   "s.channel_id = u.channel_id WHERE u.id > $1 AND ($2 = '' OR "
                   "u.status = $2 OR ($2 = 'pending' AND u.status = 'sending')) AND ($3 = 0 "
                   "OR u.channel_id = $3) AND ($4 = '' OR u.hotel_code = $4) AND ($5 = '' OR "
                   "u.kind = $5) AND ($7 = 0 OR u.intent_id = $7) ORDER BY u.id LIMIT $6",
                   "SELECT " ARI_COLS ", " LIST_CHANNEL_COLS " FROM ota_ari_updates u LEFT "
                   "JOIN ota_channels c ON c.id = u.channel_id LEFT JOIN ota_ari_channels s ON "
                   "s.channel_id = u.channel_id WHERE u.id > $1::bigint AND "
                   "($2::text = '' OR u.status = $2::text OR ($2::text = 'pending' AND "
                   "u.status = 'sending')) AND ($3::bigint = 0 OR u.channel_id = $3::bigint) "
                   "AND ($4::text = '' OR u.hotel_code = $4::text) AND ($5::text = '' OR "
                   "u.kind = $5::text) AND ($7::bigint = 0 OR u.intent_id = $7::bigint) ORDER "
                   "BY u.id LIMIT $6::integer",
                   false},
};

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static char *dup_or(const char *s, const char *fallback)
{
    return strdup(s ? s : fallback);
}

void store_ari_updates_free(struct store_ari_update *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        free(rows[i].payload);
        free(rows[i].errors);
        free(rows[i].warnings);
    }
    free(rows);
}

enum herald_err store_ari_intent_insert(struct store_conn *c, const char *kind,
                                        const char *hotel_code, const char *room_type,
                                        const char *rate_plan, const char *from, const char *to,
                                        const char *body, int64_t now_ms, int64_t *id)
{
    struct store_val p[] = {SV_STR(kind), SV_STR(hotel_code), SV_STR(room_type), SV_STR(rate_plan),
                            SV_STR(from), SV_STR(to),         SV_STR(body),      SV_I64(now_ms)};
    return store_query_id(c, STMT_ARI_INTENT_INSERT, p, 8, id);
}

enum herald_err store_ari_update_insert(struct store_conn *c, const struct store_ari_update *u,
                                        int64_t now_ms, int64_t *id)
{
    struct store_val p[] = {SV_I64(u->intent_id),  SV_I64(u->channel_id), SV_STR(u->kind),
                            SV_STR(u->hotel_code), SV_STR(u->room_type),  SV_STR(u->rate_plan),
                            SV_STR(u->date_from),  SV_STR(u->date_to),    SV_I64(u->weekdays),
                            SV_I64(u->fields),     SV_STR(u->payload),    SV_I64(now_ms)};
    return store_query_id(c, STMT_ARI_UPDATE_INSERT, p, 12, id);
}

enum herald_err store_ari_supersede(struct store_conn *c, const struct store_ari_update *u,
                                    int64_t new_id, int64_t now_ms, int64_t *count)
{
    struct store_val p[] = {SV_I64(u->channel_id), SV_STR(u->kind),      SV_STR(u->room_type),
                            SV_STR(u->rate_plan),  SV_STR(u->date_from), SV_STR(u->date_to),
                            SV_I64(u->weekdays),   SV_I64(u->fields),    SV_I64(new_id),
                            SV_I64(now_ms)};
    return store_query_changes(c, STMT_ARI_SUPERSEDE, p, 10, count);
}

enum herald_err store_ari_unchanged(struct store_conn *c, const struct store_ari_update *u,
                                    bool *same)
{
    struct store_val p[] = {SV_I64(u->channel_id), SV_STR(u->kind),      SV_STR(u->room_type),
                            SV_STR(u->rate_plan),  SV_STR(u->date_from), SV_STR(u->date_to),
                            SV_I64(u->weekdays),   SV_I64(u->fields)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_ARI_UNCHANGED, p, 8, &r);
    *same = !rc && r.nrows == 1 && strcmp(store_res_text(&r, 0, 0), u->payload) == 0;
    store_res_free(&r);
    return rc;
}

enum herald_err store_ari_state_lock(struct store_conn *c, int64_t channel_id, int64_t now_ms,
                                     struct store_ari_state *out)
{
    struct store_val e[] = {SV_I64(channel_id), SV_I64(now_ms)};
    int rc = store_query_changes(c, STMT_ARI_STATE_ENSURE, e, 2, NULL);
    if (rc)
        return rc;
    struct store_val p[] = {SV_I64(channel_id)};
    struct store_res r = {0};
    rc = store_query(c, STMT_ARI_STATE_GET, p, 1, &r);
    if (!rc && r.nrows != 1)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc) {
        memset(out, 0, sizeof(*out));
        out->channel_id = channel_id;
        copy(out->holder, sizeof(out->holder), store_res_text(&r, 0, 0));
        out->lease_until_ms = store_res_i64(&r, 0, 1);
        out->retry_at_ms = store_res_i64(&r, 0, 2);
        out->failures = (int)store_res_i64(&r, 0, 3);
        copy(out->last_error, sizeof(out->last_error), store_res_text(&r, 0, 4));
        out->kicked_at_ms = store_res_i64(&r, 0, 5);
    }
    store_res_free(&r);
    return rc;
}

enum herald_err store_ari_state_save(struct store_conn *c, const struct store_ari_state *s,
                                     int64_t now_ms)
{
    struct store_val p[] = {
        SV_I64(s->channel_id),  SV_STR(s->holder),      SV_I64(s->lease_until_ms),
        SV_I64(s->retry_at_ms), SV_I64(s->failures),    SV_STR(s->last_error),
        SV_I64(now_ms),         SV_I64(s->kicked_at_ms)};
    int64_t changes = 0;
    int rc = store_query_changes(c, STMT_ARI_STATE_SAVE, p, 8, &changes);
    return rc ? rc : changes ? HERALD_OK : HERALD_ERR_NOT_FOUND;
}

enum herald_err store_ari_kick(struct store_conn *c, int64_t channel_id, int64_t now_ms,
                               int64_t stale_before_ms, bool *kicked)
{
    /* The state row is locked even when no kick is needed: a delivery job claiming the
     * channel meanwhile then waits for this transaction and sees its rows. Without the lock
     * (an UPDATE matching nothing locks nothing on PostgreSQL) a job already promised could
     * claim, find nothing yet, clear the kick and end, leaving these rows to no job. */
    struct store_ari_state st;
    int rc = store_ari_state_lock(c, channel_id, now_ms, &st);
    struct store_val p[] = {SV_I64(channel_id), SV_I64(now_ms), SV_I64(stale_before_ms)};
    int64_t changes = 0;
    if (!rc)
        rc = store_query_changes(c, STMT_ARI_KICK, p, 3, &changes);
    *kicked = changes > 0;
    return rc;
}

enum herald_err store_ari_reset_sending(struct store_conn *c, int64_t channel_id)
{
    struct store_val p[] = {SV_I64(channel_id)};
    return store_query_changes(c, STMT_ARI_RESET_SENDING, p, 1, NULL);
}

static int update_from_row(const struct store_res *r, int i, struct store_ari_update *u)
{
    memset(u, 0, sizeof(*u));
    u->id = store_res_i64(r, i, 0);
    u->intent_id = store_res_i64(r, i, 1);
    u->channel_id = store_res_i64(r, i, 2);
    copy(u->kind, sizeof(u->kind), store_res_text(r, i, 3));
    copy(u->hotel_code, sizeof(u->hotel_code), store_res_text(r, i, 4));
    copy(u->room_type, sizeof(u->room_type), store_res_text(r, i, 5));
    copy(u->rate_plan, sizeof(u->rate_plan), store_res_text(r, i, 6));
    copy(u->date_from, sizeof(u->date_from), store_res_text(r, i, 7));
    copy(u->date_to, sizeof(u->date_to), store_res_text(r, i, 8));
    u->weekdays = (int)store_res_i64(r, i, 9);
    u->fields = (int)store_res_i64(r, i, 10);
    u->payload = dup_or(store_res_text(r, i, 11), "{}");
    copy(u->status, sizeof(u->status), store_res_text(r, i, 12));
    u->attempts = (int)store_res_i64(r, i, 13);
    u->errors = dup_or(store_res_text(r, i, 14), "[]");
    u->warnings = dup_or(store_res_text(r, i, 15), "[]");
    u->superseded_by = store_res_i64(r, i, 16);
    u->created_at_ms = store_res_i64(r, i, 17);
    u->updated_at_ms = store_res_i64(r, i, 18);
    u->delivered_at_ms = store_res_i64(r, i, 19);
    if (r->ncols > 23) { /* the listing */
        copy(u->channel_name, sizeof(u->channel_name), store_res_text(r, i, 20));
        copy(u->channel_error, sizeof(u->channel_error), store_res_text(r, i, 21));
        u->channel_failures = (int)store_res_i64(r, i, 22);
        u->channel_retry_at_ms = store_res_i64(r, i, 23);
    }
    return u->payload && u->errors && u->warnings ? HERALD_OK : HERALD_ERR_NOMEM;
}

static int rows_from(const struct store_res *r, struct store_ari_update **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (r->nrows == 0)
        return HERALD_OK;
    struct store_ari_update *rows = calloc((size_t)r->nrows, sizeof(*rows));
    if (!rows)
        return HERALD_ERR_NOMEM;
    int rc = HERALD_OK;
    for (int i = 0; i < r->nrows && !rc; i++) {
        rc = update_from_row(r, i, &rows[i]);
        *n = (size_t)i + 1;
    }
    if (rc) {
        store_ari_updates_free(rows, *n);
        *n = 0;
        return rc;
    }
    *out = rows;
    return HERALD_OK;
}

enum herald_err store_ari_pending(struct store_conn *c, int64_t channel_id, int limit,
                                  struct store_ari_update **out, size_t *n)
{
    struct store_val p[] = {SV_I64(channel_id), SV_I64(limit)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_ARI_PENDING, p, 2, &r);
    if (!rc)
        rc = rows_from(&r, out, n);
    store_res_free(&r);
    return rc;
}

enum herald_err store_ari_pending_within(struct store_conn *c, int64_t channel_id, const char *kind,
                                         const char *hotel_code, const char *from, const char *to,
                                         int limit, struct store_ari_update **out, size_t *n)
{
    struct store_val p[] = {SV_I64(channel_id), SV_STR(kind), SV_STR(hotel_code),
                            SV_STR(from),       SV_STR(to),   SV_I64(limit)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_ARI_PENDING_WITHIN, p, 6, &r);
    if (!rc)
        rc = rows_from(&r, out, n);
    store_res_free(&r);
    return rc;
}

enum herald_err store_ari_mark_sending(struct store_conn *c, int64_t channel_id, const char *ids,
                                       int64_t now_ms)
{
    struct store_val p[] = {SV_I64(channel_id), SV_STR(ids), SV_I64(now_ms)};
    return store_query_changes(c, STMT_ARI_MARK_SENDING, p, 3, NULL);
}

enum herald_err store_ari_outcome(struct store_conn *c, int64_t id, const char *status,
                                  const char *errors, const char *warnings, int64_t now_ms)
{
    struct store_val p[] = {SV_I64(id), SV_STR(status), SV_STR(errors), SV_STR(warnings),
                            SV_I64(now_ms)};
    int64_t changes = 0;
    int rc = store_query_changes(c, STMT_ARI_OUTCOME, p, 5, &changes);
    return rc ? rc : changes ? HERALD_OK : HERALD_ERR_NOT_FOUND;
}

enum herald_err store_ari_failed_channels(struct store_conn *c, const struct store_ari_pick *pick,
                                          int64_t **out, size_t *n)
{
    struct store_val p[] = {SV_I64(pick->channel_id), SV_STR(pick->ids ? pick->ids : "[]"),
                            SV_I64(pick->ids != NULL)};
    struct store_res r = {0};
    *out = NULL;
    *n = 0;
    int rc = store_query(c, STMT_ARI_FAILED_CHANNELS, p, 3, &r);
    if (!rc && r.nrows > 0) {
        *out = calloc((size_t)r.nrows, sizeof(**out));
        rc = *out ? HERALD_OK : HERALD_ERR_NOMEM;
        for (int i = 0; !rc && i < r.nrows; i++)
            (*out)[i] = store_res_i64(&r, i, 0);
        *n = rc ? 0 : (size_t)r.nrows;
    }
    store_res_free(&r);
    return rc;
}

enum herald_err store_ari_requeue(struct store_conn *c, const struct store_ari_pick *pick,
                                  int64_t now_ms, int64_t *requeued, int64_t *left)
{
    struct store_val p[] = {SV_I64(pick->channel_id), SV_STR(pick->ids ? pick->ids : "[]"),
                            SV_I64(pick->ids != NULL), SV_I64(now_ms)};
    int rc = store_query_changes(c, STMT_ARI_REQUEUE, p, 4, requeued);
    struct store_res r = {0};
    if (!rc)
        rc = store_query(c, STMT_ARI_FAILED_COUNT, p, 3, &r);
    if (!rc)
        *left = r.nrows == 1 ? store_res_i64(&r, 0, 0) : 0;
    store_res_free(&r);
    return rc;
}

enum herald_err store_ari_fail_channel(struct store_conn *c, int64_t channel_id, const char *errors,
                                       int64_t now_ms)
{
    struct store_val p[] = {SV_I64(channel_id), SV_STR(errors), SV_I64(now_ms)};
    return store_query_changes(c, STMT_ARI_FAIL_CHANNEL, p, 3, NULL);
}

enum herald_err store_ari_list(struct store_conn *c, const struct store_ari_filter *f,
                               int64_t after_id, int limit, struct store_ari_update **out,
                               size_t *n)
{
    struct store_val p[] = {SV_I64(after_id),
                            SV_STR(f->status ? f->status : ""),
                            SV_I64(f->channel_id),
                            SV_STR(f->hotel_code ? f->hotel_code : ""),
                            SV_STR(f->kind ? f->kind : ""),
                            SV_I64(limit),
                            SV_I64(f->intent_id)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_ARI_LIST, p, 7, &r);
    if (!rc)
        rc = rows_from(&r, out, n);
    store_res_free(&r);
    return rc;
}
