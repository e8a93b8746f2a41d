/* The statement registry and the operations of store.h, written once over the backend table.
 * Every statement is parameterised; where the dialects differ the PostgreSQL text is given
 * beside the shared one. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "store/internal.h"
#include "store/privacy.h"

#define KEY_COLS                                                                                   \
    "id, name, prefix, secret_hash, scopes, rate_limit, created_at_ms, revoked_at_ms, "            \
    "rotated_at_ms"
#define EVENT_COLS                                                                                 \
    "id, event_key, platform, campaign_id, event_type, email, source_id, namespace, payload, "     \
    "occurred_at_ms, created_at_ms"

/* The paging cursor as a range on id (both dialects use it as an index bound); the other
   filters as "absent or equal", which no planner turns into an index choice. */
/* An event's namespace is one label or several joined with ','; a filter on one label matches
   any event whose list holds it (positional, so '_' in a label is no wildcard). */
#define NS_MEMBER "instr(',' || namespace || ',', ',' || $5 || ',') > 0"
#define NS_MEMBER_PG "strpos(',' || namespace || ',', ',' || $5 || ',') > 0"
#define EVENT_LIST(lead, member)                                                                   \
    "SELECT " EVENT_COLS " FROM event_source WHERE " lead                                          \
    "id < COALESCE(CAST($8 AS BIGINT), 9223372036854775807) AND "                                  \
    "(CAST($1 AS TEXT) IS NULL OR platform = $1) AND "                                             \
    "(CAST($2 AS TEXT) IS NULL OR campaign_id = $2) AND "                                          \
    "(CAST($3 AS TEXT) IS NULL OR event_type = $3) AND "                                           \
    "(CAST($4 AS TEXT) IS NULL OR email = $4) AND "                                                \
    "(CAST($5 AS TEXT) IS NULL OR namespace = $5 OR " member ") AND "                              \
    "(CAST($6 AS BIGINT) IS NULL OR event_time_ms >= $6) AND "                                     \
    "(CAST($7 AS BIGINT) IS NULL OR event_time_ms < $7) "                                          \
    "ORDER BY id DESC LIMIT $9"

#define JOB_COLS                                                                                   \
    "id, kind, status, params, progress, error, attempts, run_after_ms, locked_by, "               \
    "lease_until_ms, cancel_requested, created_at_ms, started_at_ms, finished_at_ms"
#define JOB_CLAIMABLE                                                                              \
    "SELECT id FROM jobs WHERE ((status = 'pending' AND run_after_ms <= $3) OR "                   \
    "(status = 'running' AND lease_until_ms < $3)) AND "                                           \
    "(',' || CAST($4 AS TEXT) || ',') LIKE ('%,' || kind || ',%') "                                \
    "ORDER BY created_at_ms, id LIMIT 1"
#define JOB_CLAIM(pick)                                                                            \
    "UPDATE jobs SET status = 'running', locked_by = $1, lease_until_ms = $2, "                    \
    "attempts = attempts + 1, started_at_ms = COALESCE(started_at_ms, $3) WHERE id = (" pick       \
    ") RETURNING " JOB_COLS
#define DL_COLS "id, job_id, kind, reason, request, payload, created_at_ms, retried_at_ms"

const struct store_stmt_def store_stmts[STMT_CORE__END] = {
    [STMT_JOB_INSERT] = {"INSERT INTO jobs (id, kind, status, params, progress, run_after_ms, "
                         "created_at_ms) VALUES ($1, $2, 'pending', $3, $4, $6, $5)",
                         NULL, true},
    [STMT_JOB_GET] = {"SELECT " JOB_COLS " FROM jobs WHERE id = $1", NULL, false},
    [STMT_JOB_LIST] = {"SELECT " JOB_COLS " FROM jobs WHERE (CAST($1 AS TEXT) IS NULL OR "
                       "status = $1) AND (CAST($2 AS BIGINT) IS NULL OR created_at_ms < $2 OR "
                       "(created_at_ms = $2 AND id < $3)) ORDER BY created_at_ms DESC, id DESC "
                       "LIMIT $4",
                       NULL, false},
    /* SQLite's BEGIN IMMEDIATE already serialises claimers; PostgreSQL nodes skip rows another
       node is claiming instead of waiting for it. */
    [STMT_JOB_CLAIM] = {JOB_CLAIM(JOB_CLAIMABLE),
                        JOB_CLAIM(JOB_CLAIMABLE " FOR UPDATE SKIP LOCKED"), true},
    [STMT_JOB_PROGRESS] = {"UPDATE jobs SET progress = $3, lease_until_ms = $4 WHERE id = $1 AND "
                           "locked_by = $2 AND status = 'running' RETURNING cancel_requested",
                           NULL, true},
    [STMT_JOB_FENCE] = {"UPDATE jobs SET lease_until_ms = $3 WHERE id = $1 AND locked_by = $2 AND "
                        "status = 'running'",
                        NULL, true},
    [STMT_JOB_FINISH] = {"UPDATE jobs SET status = $3, error = $4, progress = COALESCE($5, "
                         "progress), finished_at_ms = $6, lease_until_ms = NULL WHERE id = $1 AND "
                         "locked_by = $2 AND status = 'running'",
                         NULL, true},
    [STMT_JOB_RETRY_LATER] = {"UPDATE jobs SET status = 'pending', error = $3, run_after_ms = $4, "
                              "lease_until_ms = NULL, progress = COALESCE($5, progress) WHERE id "
                              "= $1 AND locked_by = $2 AND status = 'running'",
                              NULL, true},
    [STMT_JOB_CANCEL_PENDING] = {"UPDATE jobs SET status = 'cancelled', cancel_requested = 1, "
                                 "finished_at_ms = $2 WHERE id = $1 AND status = 'pending'",
                                 NULL, true},
    [STMT_JOB_CANCEL_RUNNING] = {"UPDATE jobs SET cancel_requested = 1 WHERE id = $1 AND status = "
                                 "'running'",
                                 NULL, true},
    [STMT_JOB_QUEUE_STATS] = {"SELECT status, COUNT(*), MIN(created_at_ms) FROM jobs WHERE status "
                              "IN ('pending', 'running') GROUP BY status",
                              NULL, false},
    [STMT_JOB_REQUEUE] = {"UPDATE jobs SET status = 'pending', attempts = 0, error = NULL, "
                          "run_after_ms = $2, finished_at_ms = NULL, cancel_requested = 0, "
                          "locked_by = NULL, lease_until_ms = NULL WHERE id = $1 AND status = "
                          "'failed'",
                          NULL, true},
    [STMT_DEAD_LETTER_INSERT] = {"INSERT INTO dead_letters (job_id, kind, reason, request, "
                                 "payload, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
                                 NULL, true},
    [STMT_DEAD_LETTER_LIST] = {"SELECT " DL_COLS " FROM dead_letters WHERE (CAST($1 AS BIGINT) IS "
                               "NULL OR id < $1) ORDER BY id DESC LIMIT $2",
                               NULL, false},
    [STMT_DEAD_LETTER_GET] = {"SELECT " DL_COLS " FROM dead_letters WHERE id = $1", NULL, false},
    [STMT_DEAD_LETTER_RETRIED] = {"UPDATE dead_letters SET retried_at_ms = $2 WHERE id = $1", NULL,
                                  true},
    /* Leadership and position of a forwarder in one row: the holder renews its lease; another
       node takes over only once it lapses. */
    [STMT_FWD_ACQUIRE] = {"INSERT INTO forward_cursors (name, last_id, holder, lease_until_ms, "
                          "updated_at_ms) VALUES ($1, 0, $2, $3, $4) ON CONFLICT (name) DO UPDATE "
                          "SET holder = excluded.holder, lease_until_ms = excluded.lease_until_ms "
                          "WHERE forward_cursors.holder = excluded.holder OR "
                          "forward_cursors.lease_until_ms IS NULL OR "
                          "forward_cursors.lease_until_ms < $4 RETURNING last_id",
                          NULL, true},
    [STMT_SCHED_UPSERT] =
        {"INSERT INTO schedules (name, expr, next_run_ms, updated_at_ms) VALUES "
         "($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET expr = excluded.expr, "
         "next_run_ms = CASE WHEN schedules.expr = excluded.expr THEN "
         "schedules.next_run_ms ELSE excluded.next_run_ms END, updated_at_ms = "
         "excluded.updated_at_ms",
         NULL, true},
    [STMT_SCHED_GET] = {"SELECT expr, next_run_ms, last_run_ms, last_job_id FROM schedules WHERE "
                        "name = $1",
                        NULL, false},
    /* Compare-and-set on next_run_ms: of several nodes seeing the same tick, one wins. */
    [STMT_SCHED_CLAIM] = {"UPDATE schedules SET next_run_ms = $3, last_run_ms = $4, last_job_id = "
                          "$5, updated_at_ms = $4 WHERE name = $1 AND next_run_ms = $2",
                          NULL, true},
    [STMT_FWD_ADVANCE] = {"UPDATE forward_cursors SET last_id = $4, updated_at_ms = $5, "
                          "last_forwarded_at_ms = $5 WHERE name = $1 AND holder = $2 AND "
                          "last_id = $3",
                          NULL, true},
    [STMT_FWD_STATE] = {"SELECT last_id, last_forwarded_at_ms FROM forward_cursors WHERE name = $1",
                        NULL, false},
    [STMT_EVENTS_AFTER] = {"SELECT " EVENT_COLS " FROM event_source WHERE id > $1 AND "
                           "created_at_ms <= $2 ORDER BY id LIMIT $3",
                           NULL, false},
    [STMT_EVENTS_LAG] = {"SELECT COUNT(*), MIN(created_at_ms) FROM event_source WHERE id > $1",
                         NULL, false},
    [STMT_CURSOR_GET] = {"SELECT cursor FROM sync_cursors WHERE platform = $1 AND scope = $2", NULL,
                         false},
    [STMT_CURSOR_SET] = {"INSERT INTO sync_cursors (platform, scope, cursor, updated_at_ms) VALUES "
                         "($1, $2, $3, $4) ON CONFLICT (platform, scope) DO UPDATE SET cursor = "
                         "excluded.cursor, updated_at_ms = excluded.updated_at_ms",
                         NULL, true},
    [STMT_PING] = {"SELECT 1", NULL, false},
    [STMT_KEY_INSERT] = {"INSERT INTO api_keys (id, name, prefix, secret_hash, scopes, rate_limit, "
                         "created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                         NULL, true},
    [STMT_KEY_BY_HASH] = {"SELECT " KEY_COLS " FROM api_keys WHERE secret_hash = $1", NULL, false},
    [STMT_KEY_BY_ID] = {"SELECT " KEY_COLS " FROM api_keys WHERE id = $1", NULL, false},
    [STMT_KEY_LIST] = {"SELECT " KEY_COLS " FROM api_keys ORDER BY created_at_ms, id", NULL, false},
    [STMT_KEY_PAGE] = {"SELECT " KEY_COLS " FROM api_keys WHERE created_at_ms > $1 OR "
                       "(created_at_ms = $1 AND id > $2) ORDER BY created_at_ms, id LIMIT $3",
                       NULL, false},
    [STMT_KEY_REVOKE] = {"UPDATE api_keys SET revoked_at_ms = $2 WHERE id = $1 AND revoked_at_ms "
                         "IS NULL",
                         NULL, true},
    [STMT_KEY_ROTATE] = {"UPDATE api_keys SET secret_hash = $2, prefix = $3, rotated_at_ms = $4 "
                         "WHERE id = $1 AND revoked_at_ms IS NULL",
                         NULL, true},
    [STMT_KEY_COUNT_ACTIVE] = {"SELECT COUNT(*) FROM api_keys WHERE revoked_at_ms IS NULL", NULL,
                               false},
    [STMT_EVENT_INSERT] =
        {"INSERT INTO event_source (event_key, platform, campaign_id, event_type, "
         "email, source_id, namespace, payload, occurred_at_ms, event_time_ms, "
         "created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
         "ON CONFLICT (event_key) DO NOTHING",
         NULL, true},
    /* One statement for a whole batch: a round trip per row would cap PostgreSQL ingest at the
       network latency. */
    [STMT_EVENT_INSERT_MANY] = {NULL,
                                "INSERT INTO event_source (event_key, platform, campaign_id, "
                                "event_type, email, source_id, namespace, payload, occurred_at_ms, "
                                "event_time_ms, created_at_ms) SELECT * FROM unnest($1::text[], "
                                "$2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
                                "$7::text[], $8::text[], $9::bigint[], $10::bigint[], "
                                "$11::bigint[]) ON CONFLICT (event_key) DO NOTHING "
                                "RETURNING event_key",
                                true},
    /* GET /api/events: one statement per way in (see store_event_list_stmt). Filters in the
       "$n IS NULL OR" form never choose an index, so each statement walks exactly the index
       its leading condition names, already in id order: no sort, stops after $9 rows. */
    [STMT_EVENT_LIST] = {EVENT_LIST("", NS_MEMBER), EVENT_LIST("", NS_MEMBER_PG), false},
    [STMT_EVENT_LIST_BY_EMAIL] = {EVENT_LIST("email = $4 AND ", NS_MEMBER),
                                  EVENT_LIST("email = $4 AND ", NS_MEMBER_PG), false},
    [STMT_EVENT_LIST_BY_CAMPAIGN] = {EVENT_LIST("campaign_id = $2 AND ", NS_MEMBER),
                                     EVENT_LIST("campaign_id = $2 AND ", NS_MEMBER_PG), false},
    [STMT_MIGRATIONS_TABLE] = {"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                               "'schema_migrations'",
                               "SELECT 1 WHERE to_regclass('schema_migrations') IS NOT NULL",
                               false},
    [STMT_MIGRATIONS_LIST] = {"SELECT version, name, applied_at_ms FROM schema_migrations ORDER BY "
                              "version",
                              NULL, false},
    [STMT_MIGRATION_RECORD] = {"INSERT INTO schema_migrations (version, name, applied_at_ms) "
                               "VALUES ($1, $2, $3)",
                               NULL, true},
    [STMT_MIGRATION_DELETE] = {"DELETE FROM schema_migrations WHERE version = $1", NULL, true},
    /* Every table of the database, from the catalogue. SQLite: the dbstat virtual table, in
       one pass (leaf cells of a table's b-tree are its rows); PostgreSQL: an exact count per
       table through query_to_xml, and the relation sizes. */
    [STMT_CATALOGUE_TABLES] =
        {"WITH s AS (SELECT name, SUM(pgsize) AS bytes, SUM(CASE WHEN pagetype = 'leaf' THEN "
         "ncell ELSE 0 END) AS cells FROM dbstat GROUP BY name) "
         "SELECT t.name, COALESCE(ts.cells, 0), COALESCE(ts.bytes, 0), "
         "COALESCE((SELECT SUM(x.bytes) FROM s x JOIN sqlite_master i ON i.name = x.name "
         "WHERE i.type = 'index' AND i.tbl_name = t.name), 0) "
         "FROM sqlite_master t LEFT JOIN s ts ON ts.name = t.name "
         "WHERE t.type = 'table' AND t.name NOT LIKE 'sqlite_%' ORDER BY t.name",
         "SELECT c.relname, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n "
         "FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint, "
         "pg_total_relation_size(c.oid) - pg_indexes_size(c.oid), pg_indexes_size(c.oid) "
         "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
         "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY c.relname",
         false},
    [STMT_CATALOGUE_INDEXES] =
        {"SELECT i.name, i.tbl_name, COALESCE((SELECT SUM(pgsize) FROM dbstat d WHERE d.name = "
         "i.name), 0) FROM sqlite_master i WHERE i.type = 'index' ORDER BY i.tbl_name, i.name",
         "SELECT i.relname, t.relname, pg_relation_size(i.oid) FROM pg_index x "
         "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
         "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = current_schema() "
         "ORDER BY t.relname, i.relname",
         false},
};

const struct store_stmt_def *store_stmt_def(enum store_stmt id)
{
    static const struct {
        enum store_stmt base;
        const struct store_stmt_def *defs;
    } blocks[] = {
        {STMT_PRIVACY__BASE, store_privacy_stmts},
        {STMT_AUTOMATIONS__BASE, store_automations_stmts},
        {STMT_OTA_UPDATES__BASE, store_ota_updates_stmts},
        {STMT_OTA_INBOUND__BASE, store_ota_inbound_stmts},
        {STMT_OTA_RESERVATIONS__BASE, store_ota_reservations_stmts},
        {STMT_OTA_CHANNELS__BASE, store_ota_channels_stmts},
        {STMT_IMPORTS__BASE, store_imports_stmts},
        {STMT_FEEDBACK__BASE, store_feedback_stmts},
        {STMT_CAMPAIGNS__BASE, store_campaigns_stmts},
        {STMT_TEMPLATES__BASE, store_templates_stmts},
        {STMT_CONTACTS__BASE, store_contacts_stmts},
    };
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
        if (id >= blocks[i].base)
            return &blocks[i].defs[id - blocks[i].base];
    return &store_stmts[id];
}

const char *store_stmt_sql(enum store_stmt id, enum store_dialect d)
{
    const struct store_stmt_def *def = store_stmt_def(id);
    if (d == DIALECT_POSTGRES && def->sql_postgres)
        return def->sql_postgres;
    return def->sql;
}

static void copy_field(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

static void key_from_row(const struct store_res *r, int row, struct store_key *k)
{
    copy_field(k->id, sizeof(k->id), store_res_text(r, row, 0));
    copy_field(k->name, sizeof(k->name), store_res_text(r, row, 1));
    copy_field(k->prefix, sizeof(k->prefix), store_res_text(r, row, 2));
    copy_field(k->secret_hash, sizeof(k->secret_hash), store_res_text(r, row, 3));
    copy_field(k->scopes, sizeof(k->scopes), store_res_text(r, row, 4));
    copy_field(k->rate_limit, sizeof(k->rate_limit), store_res_text(r, row, 5));
    k->created_at_ms = store_res_i64(r, row, 6);
    k->revoked_at_ms = store_res_i64(r, row, 7);
    k->rotated_at_ms = store_res_i64(r, row, 8);
}

enum herald_err store_key_insert(struct store_conn *c, const struct store_key *k)
{
    struct store_val p[] = {SV_STR(k->id),           SV_STR(k->name),
                            SV_STR(k->prefix),       SV_STR(k->secret_hash),
                            SV_STR(k->scopes),       SV_STR(*k->rate_limit ? k->rate_limit : NULL),
                            SV_I64(k->created_at_ms)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_KEY_INSERT, p, 7, &r);
    store_res_free(&r);
    return rc;
}

static int key_find(struct store_conn *c, enum store_stmt stmt, const char *arg,
                    struct store_key *out)
{
    struct store_val p[] = {SV_STR(arg)};
    struct store_res r = {0};
    int rc = store_query(c, stmt, p, 1, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc)
        key_from_row(&r, 0, out);
    store_res_free(&r);
    return rc;
}

enum herald_err store_key_find_by_hash(struct store_conn *c, const char *secret_hash,
                                       struct store_key *out)
{
    return key_find(c, STMT_KEY_BY_HASH, secret_hash, out);
}

enum herald_err store_key_find_by_id(struct store_conn *c, const char *id, struct store_key *out)
{
    return key_find(c, STMT_KEY_BY_ID, id, out);
}

static enum herald_err key_rows(struct store_conn *c, enum store_stmt stmt,
                                const struct store_val *p, int np, struct store_key **out,
                                size_t *count)
{
    struct store_res r = {0};
    int rc = store_query(c, stmt, p, np, &r);
    if (rc)
        goto done;
    *out = calloc(r.nrows ? (size_t)r.nrows : 1, sizeof(**out));
    if (!*out) {
        rc = HERALD_ERR_NOMEM;
        goto done;
    }
    for (int i = 0; i < r.nrows; i++)
        key_from_row(&r, i, &(*out)[i]);
    *count = (size_t)r.nrows;
done:
    store_res_free(&r);
    return rc;
}

enum herald_err store_key_list(struct store_conn *c, struct store_key **out, size_t *count)
{
    return key_rows(c, STMT_KEY_LIST, NULL, 0, out, count);
}

enum herald_err store_key_page(struct store_conn *c, int64_t after_ms, const char *after_id,
                               int limit, struct store_key **out, size_t *count)
{
    struct store_val p[] = {SV_I64(after_ms), SV_STR(after_id), SV_I64(limit)};
    return key_rows(c, STMT_KEY_PAGE, p, 3, out, count);
}

static int run_update(struct store_conn *c, enum store_stmt stmt, const struct store_val *p, int n)
{
    struct store_res r = {0};
    int rc = store_query(c, stmt, p, n, &r);
    if (!rc && r.changes == 0)
        rc = HERALD_ERR_NOT_FOUND;
    store_res_free(&r);
    return rc;
}

enum herald_err store_key_revoke(struct store_conn *c, const char *id, int64_t now_ms)
{
    struct store_val p[] = {SV_STR(id), SV_I64(now_ms)};
    return run_update(c, STMT_KEY_REVOKE, p, 2);
}

enum herald_err store_key_rotate(struct store_conn *c, const char *id, const char *secret_hash,
                                 const char *prefix, int64_t now_ms)
{
    struct store_val p[] = {SV_STR(id), SV_STR(secret_hash), SV_STR(prefix), SV_I64(now_ms)};
    return run_update(c, STMT_KEY_ROTATE, p, 4);
}

static int count_query(struct store_conn *c, enum store_stmt stmt, int64_t *out)
{
    struct store_res r = {0};
    int rc = store_query(c, stmt, NULL, 0, &r);
    if (!rc)
        *out = r.nrows ? store_res_i64(&r, 0, 0) : 0;
    store_res_free(&r);
    return rc;
}

enum herald_err store_key_count_active(struct store_conn *c, int64_t *count)
{
    return count_query(c, STMT_KEY_COUNT_ACTIVE, count);
}

enum herald_err store_event_insert(struct store_conn *c, const struct store_event *ev,
                                   bool *created)
{
    int64_t event_time = ev->has_occurred_at ? ev->occurred_at_ms : ev->created_at_ms;
    struct store_val p[] = {SV_STR(ev->event_key),
                            SV_STR(ev->platform),
                            SV_STR(ev->campaign_id),
                            SV_STR(ev->event_type),
                            SV_STR(ev->email),
                            SV_STR(ev->source_id),
                            SV_STR(ev->namespace_),
                            SV_STR(ev->payload),
                            ev->has_occurred_at ? SV_I64(ev->occurred_at_ms) : SV_NUL,
                            SV_I64(event_time),
                            SV_I64(ev->created_at_ms)};
    struct store_res r = {0};
    /* The count of rows inserted says whether the key was new: no RETURNING row to build
       (in SQLite RETURNING costs about as much per row as another index). */
    int rc = store_query(c, STMT_EVENT_INSERT, p, 11, &r);
    if (!rc)
        *created = r.changes > 0;
    store_res_free(&r);
    return rc;
}

/* Appends one element of a PostgreSQL array literal: NULL, or a quoted, escaped string. */
static int array_text(struct buf *b, const char *v, bool first)
{
    int rc = buf_append(b, first ? "" : ",", first ? 0 : 1);
    if (rc || !v)
        return rc ? rc : buf_append_str(b, "NULL");
    rc = buf_append(b, "\"", 1);
    for (const char *p = v; !rc && *p; p++) {
        if (*p == '"' || *p == '\\')
            rc = buf_append(b, "\\", 1);
        if (!rc)
            rc = buf_append(b, p, 1);
    }
    return rc ? rc : buf_append(b, "\"", 1);
}

static int array_int(struct buf *b, bool has, int64_t v, bool first)
{
    if (!has)
        return buf_printf(b, "%sNULL", first ? "" : ",");
    return buf_printf(b, "%s%" PRId64, first ? "" : ",", v);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int insert_many_postgres(struct store_conn *c, const struct store_event *const *evs,
                                size_t n, bool *created)
{
    enum { COLS = 11 };
    struct buf arr[COLS];
    int rc = HERALD_OK;
    for (int k = 0; k < COLS; k++) {
        buf_init(&arr[k], (size_t)1 << 30);
        rc = rc ? rc : buf_append(&arr[k], "{", 1);
    }
    for (size_t i = 0; !rc && i < n; i++) {
        const struct store_event *e = evs[i];
        bool first = i == 0;
        const char *texts[] = {e->event_key, e->platform,  e->campaign_id, e->event_type,
                               e->email,     e->source_id, e->namespace_,  e->payload};
        for (int k = 0; !rc && k < 8; k++)
            rc = array_text(&arr[k], texts[k], first);
        int64_t event_time = e->has_occurred_at ? e->occurred_at_ms : e->created_at_ms;
        rc = rc ? rc : array_int(&arr[8], e->has_occurred_at, e->occurred_at_ms, first);
        rc = rc ? rc : array_int(&arr[9], true, event_time, first);
        rc = rc ? rc : array_int(&arr[10], true, e->created_at_ms, first);
    }
    struct store_val p[COLS];
    for (int k = 0; !rc && k < COLS; k++) {
        rc = buf_append(&arr[k], "}", 1);
        p[k] = SV_STR(arr[k].data);
    }
    struct store_res r = {0};
    const char **inserted = NULL;
    bool *claimed = NULL;
    if (!rc)
        rc = store_query(c, STMT_EVENT_INSERT_MANY, p, COLS, &r);
    if (!rc && r.nrows > 0 &&
        (!(inserted = malloc((size_t)r.nrows * sizeof(*inserted))) ||
         !(claimed = calloc((size_t)r.nrows, sizeof(*claimed)))))
        rc = HERALD_ERR_NOMEM;
    if (!rc) {
        /* RETURNING names each inserted key once; a key repeated within the batch was
           created by its first occurrence only. */
        for (int i = 0; i < r.nrows; i++)
            inserted[i] = store_res_text(&r, i, 0);
        if (r.nrows > 1)
            qsort(inserted, (size_t)r.nrows, sizeof(*inserted), cmp_str);
        for (size_t i = 0; i < n; i++) {
            const char **hit = r.nrows ? bsearch(&evs[i]->event_key, inserted, (size_t)r.nrows,
                                                 sizeof(*inserted), cmp_str)
                                       : NULL;
            size_t at = hit ? (size_t)(hit - inserted) : 0;
            created[i] = hit && !claimed[at];
            if (hit)
                claimed[at] = true;
        }
    }
    free(claimed);
    free(inserted);
    store_res_free(&r);
    for (int k = 0; k < COLS; k++)
        buf_free(&arr[k]);
    return rc;
}

static enum herald_err insert_many(struct store_conn *c, const struct store_event *const *evs,
                                   size_t n, bool *created)
{
    if (c->st->be->dialect == DIALECT_POSTGRES && n > 1)
        return insert_many_postgres(c, evs, n, created);
    for (size_t i = 0; i < n; i++) {
        int rc = store_event_insert(c, evs[i], &created[i]);
        if (rc)
            return rc;
    }
    return HERALD_OK;
}

/* Inserts the events whose address is not suppressed (the list is not empty). */
static enum herald_err insert_unsuppressed(struct store_conn *c,
                                           const struct store_event *const *evs, size_t n,
                                           bool *created, bool *suppressed)
{
    const struct store_event **keep = malloc(n * sizeof(*keep));
    bool *kept_created = malloc(n * sizeof(bool)), *drop = calloc(n, sizeof(bool));
    int rc = keep && kept_created && drop ? HERALD_OK : HERALD_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        drop[i] = store_suppression_hit(c->st, evs[i]->email);
        if (!drop[i])
            keep[k++] = evs[i];
    }
    if (!rc && k > 0)
        rc = insert_many(c, keep, k, kept_created);
    for (size_t i = 0, j = 0; !rc && i < n; i++) {
        created[i] = drop[i] ? false : kept_created[j++];
        if (suppressed)
            suppressed[i] = drop[i];
    }
    free(keep);
    free(kept_created);
    free(drop);
    return rc;
}

enum herald_err store_event_insert_many(struct store_conn *c, const struct store_event *const *evs,
                                        size_t n, bool *created, bool *suppressed)
{
    bool any = false;
    int rc = store_suppression_refresh(c, STORE_SUPP_MAX_AGE_MS, &any);
    if (rc)
        return rc;
    if (any)
        return insert_unsuppressed(c, evs, n, created, suppressed);
    if (suppressed)
        memset(suppressed, 0, n * sizeof(bool));
    return insert_many(c, evs, n, created);
}

/* Copies EVENT_COLS rows of a result into one allocation: the array, then every string its
   rows point to (store_events_free() is one free()). */
static int events_from_res(struct store_res *r, struct store_event **out, size_t *count)
{
    enum { FIRST_TEXT = 1, TEXT_COLS = 8 };
    size_t n = (size_t)r->nrows, text = 0;
    for (int i = 0; i < r->nrows; i++)
        for (int col = FIRST_TEXT; col < FIRST_TEXT + TEXT_COLS; col++) {
            const char *v = store_res_text(r, i, col);
            text += v ? strlen(v) + 1 : 0;
        }
    size_t slots = n ? n : 1; /* calloc(0) may answer NULL */
    struct store_event *rows = calloc(1, slots * sizeof(*rows) + text);
    if (!rows)
        return HERALD_ERR_NOMEM;
    char *next = (char *)(rows + slots);
    for (int i = 0; i < r->nrows; i++) {
        char *field[TEXT_COLS];
        for (int k = 0; k < TEXT_COLS; k++) {
            const char *v = store_res_text(r, i, FIRST_TEXT + k);
            field[k] = NULL;
            if (v) {
                size_t len = strlen(v) + 1;
                field[k] = memcpy(next, v, len);
                next += len;
            }
        }
        rows[i] = (struct store_event){
            .id = store_res_i64(r, i, 0),
            .event_key = field[0],
            .platform = field[1],
            .campaign_id = field[2],
            .event_type = field[3],
            .email = field[4],
            .source_id = field[5],
            .namespace_ = field[6],
            .payload = field[7],
            .has_occurred_at = store_res_text(r, i, 9) != NULL,
            .occurred_at_ms = store_res_i64(r, i, 9),
            .created_at_ms = store_res_i64(r, i, 10),
        };
    }
    *out = rows;
    *count = n;
    return HERALD_OK;
}

enum store_stmt store_event_list_stmt(const struct store_event_filter *f)
{
    /* An email names a handful of events, a campaign a few thousand; anything else is common
       enough among recent events that the newest-first walk meets a page of them soon. */
    if (f->email)
        return STMT_EVENT_LIST_BY_EMAIL;
    if (f->campaign_id)
        return STMT_EVENT_LIST_BY_CAMPAIGN;
    return STMT_EVENT_LIST;
}

enum herald_err store_event_list(struct store_conn *c, const struct store_event_filter *f,
                                 struct store_event **out, size_t *count)
{
    struct store_val p[] = {SV_STR(f->platform),
                            SV_STR(f->campaign_id),
                            SV_STR(f->event_type),
                            SV_STR(f->email),
                            SV_STR(f->namespace_),
                            f->has_from ? SV_I64(f->from_ms) : SV_NUL,
                            f->has_to ? SV_I64(f->to_ms) : SV_NUL,
                            f->has_before_id ? SV_I64(f->before_id) : SV_NUL,
                            SV_I64(f->limit)};
    struct store_res r = {0};
    *out = NULL;
    *count = 0;
    int rc = store_query(c, store_event_list_stmt(f), p, 9, &r);
    if (!rc)
        rc = events_from_res(&r, out, count);
    store_res_free(&r);
    return rc;
}

enum herald_err store_events_after(struct store_conn *c, int64_t after_id,
                                   int64_t created_before_ms, int limit, struct store_event **out,
                                   size_t *count)
{
    struct store_val p[] = {SV_I64(after_id), SV_I64(created_before_ms), SV_I64(limit)};
    struct store_res r = {0};
    *out = NULL;
    *count = 0;
    int rc = store_query(c, STMT_EVENTS_AFTER, p, 3, &r);
    if (!rc)
        rc = events_from_res(&r, out, count);
    store_res_free(&r);
    return rc;
}

enum herald_err store_events_lag(struct store_conn *c, int64_t after_id, int64_t *events,
                                 int64_t *oldest_created_ms)
{
    struct store_val p[] = {SV_I64(after_id)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_EVENTS_LAG, p, 1, &r);
    if (!rc) {
        *events = store_res_i64(&r, 0, 0);
        *oldest_created_ms = store_res_i64(&r, 0, 1);
    }
    store_res_free(&r);
    return rc;
}

enum herald_err store_forward_acquire(struct store_conn *c, const char *name, const char *holder,
                                      int64_t now_ms, int64_t lease_until_ms, int64_t *last_id)
{
    struct store_val p[] = {SV_STR(name), SV_STR(holder), SV_I64(lease_until_ms), SV_I64(now_ms)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_FWD_ACQUIRE, p, 4, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_CONFLICT;
    if (!rc)
        *last_id = store_res_i64(&r, 0, 0);
    store_res_free(&r);
    return rc;
}

enum herald_err store_forward_advance(struct store_conn *c, const char *name, const char *holder,
                                      int64_t from_id, int64_t to_id, int64_t now_ms)
{
    struct store_val p[] = {SV_STR(name), SV_STR(holder), SV_I64(from_id), SV_I64(to_id),
                            SV_I64(now_ms)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_FWD_ADVANCE, p, 5, &r);
    if (!rc && r.changes == 0)
        rc = HERALD_ERR_CONFLICT;
    store_res_free(&r);
    return rc;
}

enum herald_err store_forward_state(struct store_conn *c, const char *name, int64_t *last_id,
                                    int64_t *last_forwarded_ms)
{
    struct store_val p[] = {SV_STR(name)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_FWD_STATE, p, 1, &r);
    *last_id = 0;
    *last_forwarded_ms = 0;
    if (!rc && r.nrows) {
        *last_id = store_res_i64(&r, 0, 0);
        *last_forwarded_ms = store_res_i64(&r, 0, 1);
    }
    store_res_free(&r);
    return rc;
}

void store_events_free(struct store_event *rows, size_t count)
{
    (void)count; /* the rows and their strings are one allocation (events_from_res) */
    free(rows);
}

enum herald_err store_ping(struct store_conn *c)
{
    struct store_res r = {0};
    int rc = store_query(c, STMT_PING, NULL, 0, &r);
    store_res_free(&r);
    return rc;
}

/* The indexes the event queries rely on, as migration 0006 leaves them (re-created if lost). */
static const char sync_indexes_sql[] =
    "CREATE INDEX IF NOT EXISTS idx_event_source_email ON event_source (email, id);"
    "CREATE INDEX IF NOT EXISTS idx_event_source_campaign ON event_source (campaign_id, id);";

enum herald_err store_optimize(struct store_conn *c, const char *task)
{
    if (strcmp(task, "sync_indexes") == 0)
        return store_exec(c, sync_indexes_sql);
    if (strcmp(task, "analyze") == 0)
        return store_exec(c, "ANALYZE");
    if (strcmp(task, "vacuum") == 0)
        return store_exec(c, "VACUUM");
    return HERALD_ERR_INVALID;
}
