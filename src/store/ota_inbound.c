/* The store's pushed messages and webhook ids already seen: block
 * STMT_OTA_INBOUND__BASE..STMT_OTA_INBOUND__END of the statement registry and the operations over
 * table ota_inbound_seen (migration 0014). */
#include "store/ota_inbound.h"

#include "store/internal.h"

#define S(id) [STMT_##id - STMT_OTA_INBOUND__BASE]

const struct store_stmt_def
    store_ota_inbound_stmts[STMT_OTA_INBOUND__END - STMT_OTA_INBOUND__BASE] = {
        [0] = {NULL, NULL, false}, /* the block marker */
        S(OTA_SEEN_GET) = {"SELECT 1 FROM ota_inbound_seen WHERE channel_id = $1 AND kind = $2 "
                           "AND value = $3 AND expires_at_ms > $4",
                           NULL, false},
        /* A repeat touches no row (the WHERE of the upsert is false): changes = 0. */
        S(OTA_SEEN_MARK) = {"INSERT INTO ota_inbound_seen (channel_id, kind, value, seen_at_ms, "
                            "expires_at_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (channel_id, "
                            "kind, value) DO UPDATE SET seen_at_ms = excluded.seen_at_ms, "
                            "expires_at_ms = excluded.expires_at_ms WHERE "
                            "ota_inbound_seen.expires_at_ms <= excluded.seen_at_ms",
                            NULL, true},
        S(OTA_SEEN_SWEEP) = {"DELETE FROM ota_inbound_seen WHERE id IN (SELECT id FROM "
                             "ota_inbound_seen WHERE expires_at_ms <= $1 ORDER BY expires_at_ms "
                             "LIMIT $2)",
                             NULL, true},
};

enum herald_err store_ota_seen_get(struct store_conn *c, int64_t channel_id, const char *kind,
                                   const char *value, int64_t now_ms, bool *seen)
{
    struct store_val p[] = {SV_I64(channel_id), SV_STR(kind), SV_STR(value), SV_I64(now_ms)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_OTA_SEEN_GET, p, 4, &r);
    if (!rc)
        *seen = r.nrows > 0;
    store_res_free(&r);
    return rc;
}

enum herald_err store_ota_seen_mark(struct store_conn *c, int64_t channel_id, const char *kind,
                                    const char *value, int64_t now_ms, int64_t expires_ms,
                                    bool *fresh)
{
    struct store_val p[] = {SV_I64(channel_id), SV_STR(kind), SV_STR(value), SV_I64(now_ms),
                            SV_I64(expires_ms)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_OTA_SEEN_MARK, p, 5, &r);
    if (!rc)
        *fresh = r.changes > 0;
    store_res_free(&r);
    return rc;
}

enum herald_err store_ota_seen_sweep(struct store_conn *c, int64_t now_ms, int limit,
                                     int64_t *deleted)
{
    struct store_val p[] = {SV_I64(now_ms), SV_I64(limit)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_OTA_SEEN_SWEEP, p, 2, &r);
    if (!rc)
        *deleted = r.changes;
    store_res_free(&r);
    return rc;
}
