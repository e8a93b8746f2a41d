/* The store's imports statements (block STMT_IMPORTS__BASE..STMT_IMPORTS__END of the registry) and
 * the operations over them: spooled upload chunks, the import's progress row, batch upserts. */
#include "store/imports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

#define S(id) [STMT_##id - STMT_IMPORTS__BASE]
#define IMPORT_COLS                                                                                \
    "id, COALESCE(job_id, ''), chunk_size, chunks, bytes, next_offset, next_line, rows_read, "     \
    "imported, updated, skipped, invalid, subscribed, invalid_lines, done, created_at_ms, "        \
    "updated_at_ms"
/* Uploads no job will read: abandoned before their job was submitted, or whose job is over. */
#define SWEPT                                                                                      \
    "SELECT u.id FROM import_uploads u WHERE (u.job_id IS NULL AND u.updated_at_ms < $1) OR "      \
    "u.job_id IN (SELECT j.id FROM jobs j WHERE j.status IN ('completed', 'cancelled'))"

const struct store_stmt_def store_imports_stmts[STMT_IMPORTS__END - STMT_IMPORTS__BASE] = {
    [0] = {NULL, NULL, false}, /* the block marker */
    S(IMPORT_CREATE) = {"INSERT INTO import_uploads (id, chunk_size, created_at_ms, updated_at_ms) "
                        "VALUES ($1, $2, $3, $3)",
                        NULL, true},
    S(IMPORT_CHUNK_PUT) = {"INSERT INTO import_chunks (upload_id, seq, data) VALUES ($1, $2, $3)",
                           NULL, true},
    S(IMPORT_TOUCH) = {"UPDATE import_uploads SET chunks = $2, updated_at_ms = $3 WHERE id = $1",
                       NULL, true},
    S(IMPORT_CHUNK_GET) = {"SELECT data FROM import_chunks WHERE upload_id = $1 AND seq = $2", NULL,
                           false},
    S(IMPORT_UPLOADED) = {"UPDATE import_uploads SET chunks = $2, bytes = $3, next_offset = $4, "
                          "next_line = $5, updated_at_ms = $6 WHERE id = $1",
                          NULL, true},
    S(IMPORT_SET_JOB) = {"UPDATE import_uploads SET job_id = $2 WHERE id = $1", NULL, true},
    S(IMPORT_GET) = {"SELECT " IMPORT_COLS " FROM import_uploads WHERE id = $1", NULL, false},
    S(IMPORT_SAVE) = {"UPDATE import_uploads SET next_offset = $2, next_line = $3, rows_read = $4, "
                      "imported = $5, updated = $6, skipped = $7, invalid = $8, subscribed = $9, "
                      "invalid_lines = $10, done = $11, updated_at_ms = $12 WHERE id = $1",
                      NULL, true},
    S(IMPORT_DELETE_CHUNKS) = {"DELETE FROM import_chunks WHERE upload_id = $1", NULL, true},
    S(IMPORT_DELETE_ROW) = {"DELETE FROM import_uploads WHERE id = $1", NULL, true},
    S(IMPORT_SWEEP_CHUNKS) = {"DELETE FROM import_chunks WHERE upload_id IN (" SWEPT ")", NULL,
                              true},
    S(IMPORT_SWEEP_ROWS) = {"DELETE FROM import_uploads WHERE id IN (" SWEPT ")", NULL, true},
    S(IMPORT_LIST_OPTIN) = {"SELECT optin FROM mail_lists WHERE id = $1", NULL, false},
    /* The batch: [[email, name, {attributes}], ...]; an empty name keeps the stored one. */
    S(IMPORT_UPDATE) =
        {"UPDATE contacts SET name = CASE WHEN b.value->>1 <> '' THEN b.value->>1 ELSE "
         "contacts.name END, attributes = json_patch(contacts.attributes, b.value->>2), "
         "updated_at_ms = $2 FROM json_each($1) AS b WHERE contacts.email = b.value->>0",
         "UPDATE contacts c SET name = CASE WHEN b.e->>1 <> '' THEN b.e->>1 ELSE c.name END, "
         "attributes = (c.attributes::jsonb || (b.e->2)::jsonb)::text, updated_at_ms = $2::bigint "
         "FROM json_array_elements($1::json) AS b(e) WHERE c.email = b.e->>0",
         true},
    S(IMPORT_INSERT) =
        {"INSERT INTO contacts (email, name, attributes, created_at_ms, updated_at_ms) SELECT "
         "b.value->>0, b.value->>1, b.value->>2, $2, $2 FROM json_each($1) AS b WHERE true "
         "ON CONFLICT (email) DO NOTHING",
         "INSERT INTO contacts (email, name, attributes, created_at_ms, updated_at_ms) SELECT "
         "b.e->>0, b.e->>1, (b.e->2)::text, $2::bigint, $2::bigint FROM "
         "json_array_elements($1::json) AS b(e) ON CONFLICT (email) DO NOTHING",
         true},
    S(IMPORT_SUBSCRIBE) =
        {"INSERT INTO subscriptions (contact_id, list_id, status, consent_method, consent_at_ms, "
         "consent_ip, consent_text, confirmed_at_ms, created_at_ms, updated_at_ms) SELECT c.id, "
         "l.id, CASE l.optin WHEN 'single' THEN 'confirmed' ELSE 'unconfirmed' END, 'import', $3, "
         "$4, $5, CASE l.optin WHEN 'single' THEN $6 END, $6, $6 FROM json_each($1) AS b JOIN "
         "contacts c ON c.email = b.value->>0 JOIN mail_lists l ON l.id IN (SELECT value FROM "
         "json_each($2)) WHERE true ON CONFLICT (contact_id, list_id) DO NOTHING",
         "INSERT INTO subscriptions (contact_id, list_id, status, consent_method, consent_at_ms, "
         "consent_ip, consent_text, confirmed_at_ms, created_at_ms, updated_at_ms) SELECT c.id, "
         "l.id, CASE l.optin WHEN 'single' THEN 'confirmed' ELSE 'unconfirmed' END, 'import', "
         "$3::bigint, $4::text, $5::text, CASE l.optin WHEN 'single' THEN $6::bigint END, "
         "$6::bigint, $6::bigint FROM json_array_elements($1::json) AS b(e) JOIN contacts c ON "
         "c.email = b.e->>0 JOIN mail_lists l ON l.id IN (SELECT x::bigint FROM "
         "json_array_elements_text($2::json) AS x) ON CONFLICT (contact_id, list_id) DO NOTHING",
         true},
};

/* A statement that must touch a row: NOT_FOUND when it touched none. */
static int run_one(struct store_conn *c, enum store_stmt id, const struct store_val *p, int n)
{
    int64_t changes = 0;
    int rc = store_query_changes(c, id, p, n, &changes);
    return rc ? rc : changes ? HERALD_OK : HERALD_ERR_NOT_FOUND;
}

void store_import_clear(struct store_import *imp)
{
    free(imp->invalid_lines);
    imp->invalid_lines = NULL;
}

enum herald_err store_import_create(struct store_conn *c, const char *id, int64_t chunk_size,
                                    int64_t now_ms)
{
    struct store_val p[] = {SV_STR(id), SV_I64(chunk_size), SV_I64(now_ms)};
    return store_query_changes(c, STMT_IMPORT_CREATE, p, 3, NULL);
}

enum herald_err store_import_chunk_put(struct store_conn *c, const char *id, int64_t seq,
                                       const char *data, int64_t now_ms)
{
    struct store_val p[] = {SV_STR(id), SV_I64(seq), SV_STR(data)};
    int rc = store_query_changes(c, STMT_IMPORT_CHUNK_PUT, p, 3, NULL);
    if (rc)
        return rc;
    struct store_val t[] = {SV_STR(id), SV_I64(seq + 1), SV_I64(now_ms)};
    return run_one(c, STMT_IMPORT_TOUCH, t, 3);
}

enum herald_err store_import_chunk_get(struct store_conn *c, const char *id, int64_t seq,
                                       char **data)
{
    struct store_val p[] = {SV_STR(id), SV_I64(seq)};
    struct store_res r = {0};
    *data = NULL;
    int rc = store_query(c, STMT_IMPORT_CHUNK_GET, p, 2, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc && !(*data = strdup(store_res_text(&r, 0, 0))))
        rc = HERALD_ERR_NOMEM;
    store_res_free(&r);
    return rc;
}

enum herald_err store_import_uploaded(struct store_conn *c, const char *id, int64_t chunks,
                                      int64_t bytes, int64_t data_offset, int64_t data_line,
                                      int64_t now_ms)
{
    struct store_val p[] = {SV_STR(id),          SV_I64(chunks),    SV_I64(bytes),
                            SV_I64(data_offset), SV_I64(data_line), SV_I64(now_ms)};
    return run_one(c, STMT_IMPORT_UPLOADED, p, 6);
}

enum herald_err store_import_set_job(struct store_conn *c, const char *id, const char *job_id)
{
    struct store_val p[] = {SV_STR(id), SV_STR(job_id)};
    return run_one(c, STMT_IMPORT_SET_JOB, p, 2);
}

static int import_from_row(const struct store_res *r, struct store_import *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", store_res_text(r, 0, 0));
    snprintf(out->job_id, sizeof(out->job_id), "%s", store_res_text(r, 0, 1));
    int64_t *nums[] = {&out->chunk_size, &out->chunks,    &out->bytes,     &out->next_offset,
                       &out->next_line,  &out->rows_read, &out->imported,  &out->updated,
                       &out->skipped,    &out->invalid,   &out->subscribed};
    for (int i = 0; i < 11; i++)
        *nums[i] = store_res_i64(r, 0, 2 + i);
    const char *lines = store_res_text(r, 0, 13);
    out->done = store_res_i64(r, 0, 14) != 0;
    out->created_at_ms = store_res_i64(r, 0, 15);
    out->updated_at_ms = store_res_i64(r, 0, 16);
    out->invalid_lines = strdup(lines ? lines : "[]");
    return out->invalid_lines ? HERALD_OK : HERALD_ERR_NOMEM;
}

enum herald_err store_import_get(struct store_conn *c, const char *id, struct store_import *out)
{
    struct store_val p[] = {SV_STR(id)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_IMPORT_GET, p, 1, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc)
        rc = import_from_row(&r, out);
    store_res_free(&r);
    return rc;
}

enum herald_err store_import_save(struct store_conn *c, const struct store_import *imp,
                                  int64_t now_ms)
{
    struct store_val p[] = {SV_STR(imp->id),           SV_I64(imp->next_offset),
                            SV_I64(imp->next_line),    SV_I64(imp->rows_read),
                            SV_I64(imp->imported),     SV_I64(imp->updated),
                            SV_I64(imp->skipped),      SV_I64(imp->invalid),
                            SV_I64(imp->subscribed),   SV_STR(imp->invalid_lines),
                            SV_I64(imp->done ? 1 : 0), SV_I64(now_ms)};
    return run_one(c, STMT_IMPORT_SAVE, p, 12);
}

enum herald_err store_import_delete(struct store_conn *c, const char *id, bool row)
{
    struct store_val p[] = {SV_STR(id)};
    int rc = store_query_changes(c, STMT_IMPORT_DELETE_CHUNKS, p, 1, NULL);
    if (!rc && row)
        rc = store_query_changes(c, STMT_IMPORT_DELETE_ROW, p, 1, NULL);
    return rc;
}

enum herald_err store_import_sweep(struct store_conn *c, int64_t idle_before_ms, int64_t *deleted)
{
    struct store_val p[] = {SV_I64(idle_before_ms)};
    int rc = store_query_changes(c, STMT_IMPORT_SWEEP_CHUNKS, p, 1, NULL);
    if (!rc)
        rc = store_query_changes(c, STMT_IMPORT_SWEEP_ROWS, p, 1, deleted);
    return rc;
}

enum herald_err store_import_list_optin(struct store_conn *c, int64_t id, char optin[8])
{
    struct store_val p[] = {SV_I64(id)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_IMPORT_LIST_OPTIN, p, 1, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc)
        snprintf(optin, 8, "%s", store_res_text(&r, 0, 0));
    store_res_free(&r);
    return rc;
}

enum herald_err store_import_update(struct store_conn *c, const char *batch, int64_t now_ms,
                                    int64_t *updated)
{
    struct store_val p[] = {SV_STR(batch), SV_I64(now_ms)};
    return store_query_changes(c, STMT_IMPORT_UPDATE, p, 2, updated);
}

enum herald_err store_import_insert(struct store_conn *c, const char *batch, int64_t now_ms,
                                    int64_t *inserted)
{
    struct store_val p[] = {SV_STR(batch), SV_I64(now_ms)};
    return store_query_changes(c, STMT_IMPORT_INSERT, p, 2, inserted);
}

enum herald_err store_import_subscribe(struct store_conn *c, const char *batch, const char *lists,
                                       int64_t consent_at_ms, const char *consent_ip,
                                       const char *consent_text, int64_t now_ms, int64_t *added)
{
    struct store_val p[] = {SV_STR(batch),      SV_STR(lists),        SV_I64(consent_at_ms),
                            SV_STR(consent_ip), SV_STR(consent_text), SV_I64(now_ms)};
    return store_query_changes(c, STMT_IMPORT_SUBSCRIBE, p, 6, added);
}
