/* The store's OTA channels (encrypted credentials) and their pull cursors: block
 * STMT_OTA_CHANNELS__BASE..STMT_OTA_CHANNELS__END of the statement registry and the operations over
 * those tables. */
#include "store/ota_channels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

#define S(id) [STMT_##id - STMT_OTA_CHANNELS__BASE]
#define CHANNEL_COLS                                                                               \
    "id, name, type, mode, hotel_code, base_url, poll_seconds, enabled, takes_updates, "           \
    "credentials, next_pull_at_ms, COALESCE(last_pull_at_ms, 0), COALESCE(last_pull_status, ''), " \
    "last_error, created_at_ms, updated_at_ms, updates_url"

const struct store_stmt_def store_ota_channels_stmts[STMT_OTA_CHANNELS__END -
                                                     STMT_OTA_CHANNELS__BASE] = {
    [0] = {NULL, NULL, false}, /* the block marker */
    S(OTA_CHANNEL_INSERT) = {"INSERT INTO ota_channels (name, type, mode, hotel_code, base_url, "
                             "poll_seconds, enabled, takes_updates, credentials, "
                             "next_pull_at_ms, created_at_ms, updated_at_ms, updates_url) "
                             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $10, $11) "
                             "RETURNING id",
                             NULL, true},
    S(OTA_CHANNEL_UPDATE) = {"UPDATE ota_channels SET name = $2, type = $3, mode = $4, "
                             "hotel_code = $5, base_url = $6, poll_seconds = $7, enabled = $8, "
                             "takes_updates = $9, credentials = $10, next_pull_at_ms = $11, "
                             "updated_at_ms = $11, updates_url = $12 WHERE id = $1",
                             NULL, true},
    S(OTA_CHANNEL_DELETE) = {"DELETE FROM ota_channels WHERE id = $1", NULL, true},
    S(OTA_CHANNEL_GET) = {"SELECT " CHANNEL_COLS " FROM ota_channels WHERE id = $1", NULL, false},
    S(OTA_CHANNEL_LIST) = {"SELECT " CHANNEL_COLS " FROM ota_channels WHERE id > $1 ORDER BY "
                           "id LIMIT $2",
                           NULL, false},
    S(OTA_CHANNEL_DUE) =
        {"SELECT id, next_pull_at_ms, poll_seconds FROM ota_channels WHERE mode = 'pull' "
         "AND enabled = 1 AND base_url <> '' AND next_pull_at_ms <= $1 "
         "ORDER BY next_pull_at_ms, id LIMIT $2",
         NULL, false},
    /* The compare-and-set: one node wins each due time, and never while the previous pull
       job of the channel is still queued or running. */
    S(OTA_CHANNEL_CLAIM_PULL) = {"UPDATE ota_channels SET next_pull_at_ms = $3, pull_job_id = "
                                 "$4 WHERE id = $1 AND next_pull_at_ms = $2 AND (pull_job_id "
                                 "IS NULL OR NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = "
                                 "ota_channels.pull_job_id AND j.status IN ('pending', "
                                 "'running')))",
                                 NULL, true},
    S(OTA_CHANNEL_PULL_RESULT) = {"UPDATE ota_channels SET last_pull_at_ms = $2, "
                                  "last_pull_status = $3, last_error = $4 WHERE id = $1",
                                  NULL, true},
};

void store_ota_channel_clear(struct store_ota_channel *ch)
{
    if (ch->credentials) {
        memset(ch->credentials, 0, strlen(ch->credentials));
        free(ch->credentials);
    }
    free(ch->last_error);
    ch->credentials = ch->last_error = NULL;
}

void store_ota_channels_free(struct store_ota_channel *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        store_ota_channel_clear(&rows[i]);
    free(rows);
}

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

static int from_row(const struct store_res *r, int row, struct store_ota_channel *out)
{
    memset(out, 0, sizeof(*out));
    out->id = store_res_i64(r, row, 0);
    copy(out->name, sizeof(out->name), store_res_text(r, row, 1));
    copy(out->type, sizeof(out->type), store_res_text(r, row, 2));
    copy(out->mode, sizeof(out->mode), store_res_text(r, row, 3));
    copy(out->hotel_code, sizeof(out->hotel_code), store_res_text(r, row, 4));
    copy(out->base_url, sizeof(out->base_url), store_res_text(r, row, 5));
    out->poll_seconds = store_res_i64(r, row, 6);
    out->enabled = store_res_i64(r, row, 7) != 0;
    out->takes_updates = store_res_i64(r, row, 8) != 0;
    const char *cred = store_res_text(r, row, 9);
    out->credentials = strdup(cred ? cred : "");
    out->next_pull_at_ms = store_res_i64(r, row, 10);
    out->last_pull_at_ms = store_res_i64(r, row, 11);
    copy(out->last_pull_status, sizeof(out->last_pull_status), store_res_text(r, row, 12));
    const char *err = store_res_text(r, row, 13);
    out->last_error = err ? strdup(err) : NULL;
    out->created_at_ms = store_res_i64(r, row, 14);
    out->updated_at_ms = store_res_i64(r, row, 15);
    copy(out->updates_url, sizeof(out->updates_url), store_res_text(r, row, 16));
    if (!out->credentials || (err && !out->last_error)) {
        store_ota_channel_clear(out);
        return HERALD_ERR_NOMEM;
    }
    return HERALD_OK;
}

enum herald_err store_ota_channel_insert(struct store_conn *c, const struct store_ota_channel *ch,
                                         int64_t now_ms, int64_t *id)
{
    struct store_val p[] = {SV_STR(ch->name),
                            SV_STR(ch->type),
                            SV_STR(ch->mode),
                            SV_STR(ch->hotel_code),
                            SV_STR(ch->base_url),
                            SV_I64(ch->poll_seconds),
                            SV_I64(ch->enabled),
                            SV_I64(ch->takes_updates),
                            SV_STR(ch->credentials ? ch->credentials : ""),
                            SV_I64(now_ms),
                            SV_STR(ch->updates_url)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_OTA_CHANNEL_INSERT, p, 11, &r);
    if (!rc)
        *id = r.nrows ? store_res_i64(&r, 0, 0) : 0;
    store_res_free(&r);
    return rc;
}

enum herald_err store_ota_channel_update(struct store_conn *c, const struct store_ota_channel *ch,
                                         int64_t now_ms)
{
    struct store_val p[] = {SV_I64(ch->id),
                            SV_STR(ch->name),
                            SV_STR(ch->type),
                            SV_STR(ch->mode),
                            SV_STR(ch->hotel_code),
                            SV_STR(ch->base_url),
                            SV_I64(ch->poll_seconds),
                            SV_I64(ch->enabled),
                            SV_I64(ch->takes_updates),
                            SV_STR(ch->credentials ? ch->credentials : ""),
                            SV_I64(now_ms),
                            SV_STR(ch->updates_url)};
    int64_t changes = 0;
    int rc = store_query_changes(c, STMT_OTA_CHANNEL_UPDATE, p, 12, &changes);
    return rc ? rc : changes ? HERALD_OK : HERALD_ERR_NOT_FOUND;
}

enum herald_err store_ota_channel_delete(struct store_conn *c, int64_t id)
{
    struct store_val p[] = {SV_I64(id)};
    int64_t changes = 0;
    int rc = store_query_changes(c, STMT_OTA_CHANNEL_DELETE, p, 1, &changes);
    return rc ? rc : changes ? HERALD_OK : HERALD_ERR_NOT_FOUND;
}

enum herald_err store_ota_channel_get(struct store_conn *c, int64_t id,
                                      struct store_ota_channel *out)
{
    struct store_val p[] = {SV_I64(id)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_OTA_CHANNEL_GET, p, 1, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc)
        rc = from_row(&r, 0, out);
    store_res_free(&r);
    return rc;
}

enum herald_err store_ota_channel_list(struct store_conn *c, int64_t after_id, int limit,
                                       struct store_ota_channel **out, size_t *n)
{
    struct store_val p[] = {SV_I64(after_id), SV_I64(limit > 0 ? limit : INT32_MAX)};
    struct store_res r = {0};
    *out = NULL;
    *n = 0;
    int rc = store_query(c, STMT_OTA_CHANNEL_LIST, p, 2, &r);
    if (!rc && r.nrows > 0 && !(*out = calloc((size_t)r.nrows, sizeof(**out))))
        rc = HERALD_ERR_NOMEM;
    for (int i = 0; !rc && i < r.nrows; i++, (*n)++)
        rc = from_row(&r, i, &(*out)[i]);
    store_res_free(&r);
    if (rc) {
        store_ota_channels_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

enum herald_err store_ota_channel_due(struct store_conn *c, int64_t now_ms,
                                      struct store_ota_due *rows, size_t max, size_t *n)
{
    struct store_val p[] = {SV_I64(now_ms), SV_I64((int64_t)max)};
    struct store_res r = {0};
    *n = 0;
    int rc = store_query(c, STMT_OTA_CHANNEL_DUE, p, 2, &r);
    for (int i = 0; !rc && i < r.nrows && *n < max; i++, (*n)++)
        rows[i] = (struct store_ota_due){store_res_i64(&r, i, 0), store_res_i64(&r, i, 1),
                                         store_res_i64(&r, i, 2)};
    store_res_free(&r);
    return rc;
}

enum herald_err store_ota_channel_claim_pull(struct store_conn *c, int64_t id, int64_t token,
                                             int64_t next_ms, const char *job_id)
{
    struct store_val p[] = {SV_I64(id), SV_I64(token), SV_I64(next_ms), SV_STR(job_id)};
    int64_t changes = 0;
    int rc = store_query_changes(c, STMT_OTA_CHANNEL_CLAIM_PULL, p, 4, &changes);
    return rc ? rc : changes ? HERALD_OK : HERALD_ERR_CONFLICT;
}

enum herald_err store_ota_channel_pull_result(struct store_conn *c, int64_t id, int64_t now_ms,
                                              const char *status, const char *error)
{
    struct store_val p[] = {SV_I64(id), SV_I64(now_ms), SV_STR(status), SV_STR(error)};
    int64_t changes = 0;
    int rc = store_query_changes(c, STMT_OTA_CHANNEL_PULL_RESULT, p, 4, &changes);
    return rc ? rc : changes ? HERALD_OK : HERALD_ERR_NOT_FOUND;
}
