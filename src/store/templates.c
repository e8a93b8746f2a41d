/* The store's templates statements (block STMT_TEMPLATES__BASE..STMT_TEMPLATES__END of the
 * registry) and the operations over them: mail_templates rows, the preview's contact read. */
#include "store/templates.h"

#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

#define TPL_COLS "id, name, subject, html, text, text_generated, created_at_ms, updated_at_ms"

const struct store_stmt_def store_templates_stmts[STMT_TEMPLATES__END - STMT_TEMPLATES__BASE] = {
    [0] = {NULL, NULL, false}, /* the block marker */
    [STMT_TEMPLATE_INSERT - STMT_TEMPLATES__BASE] =
        {"INSERT INTO mail_templates (name, subject, html, text, text_generated, created_at_ms, "
         "updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
         NULL, true},
    [STMT_TEMPLATE_GET - STMT_TEMPLATES__BASE] = {"SELECT " TPL_COLS
                                                  " FROM mail_templates WHERE id = $1",
                                                  NULL, false},
    [STMT_TEMPLATE_UPDATE - STMT_TEMPLATES__BASE] =
        {"UPDATE mail_templates SET name = $2, subject = $3, html = $4, text = $5, "
         "text_generated = $6, updated_at_ms = $7 WHERE id = $1",
         NULL, true},
    [STMT_TEMPLATE_DELETE -
        STMT_TEMPLATES__BASE] = {"DELETE FROM mail_templates WHERE id = $1", NULL, true},
    [STMT_TEMPLATE_LIST - STMT_TEMPLATES__BASE] = {"SELECT " TPL_COLS
                                                   " FROM mail_templates WHERE ($1 = 0 OR id < $1) "
                                                   "ORDER BY id DESC LIMIT $2",
                                                   NULL, false},
    [STMT_TEMPLATE_TABLE_EXISTS - STMT_TEMPLATES__BASE] =
        {"SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
         "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = $1 "
         "AND table_schema = ANY (current_schemas(false))",
         false},
    [STMT_TEMPLATE_CAMPAIGN_USES -
        STMT_TEMPLATES__BASE] = {"SELECT COUNT(*) FROM campaigns WHERE template_id = $1 "
                                 "AND status NOT IN ('finished', 'cancelled')",
                                 NULL, false},
    [STMT_TEMPLATE_CONTACT_GET - STMT_TEMPLATES__BASE] = {"SELECT name, email, attributes FROM "
                                                          "contacts WHERE id = $1",
                                                          NULL, false},
};

void store_template_clear(struct store_template *t)
{
    if (!t)
        return;
    free(t->name);
    free(t->subject);
    free(t->html);
    free(t->text);
    memset(t, 0, sizeof(*t));
}

void store_templates_free(struct store_template *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        store_template_clear(&rows[i]);
    free(rows);
}

static char *tpl_dup(const struct store_res *r, int row, int col)
{
    const char *s = store_res_text(r, row, col);
    return strdup(s ? s : "");
}

static enum herald_err tpl_read_row(const struct store_res *r, int row, struct store_template *t)
{
    t->id = store_res_i64(r, row, 0);
    t->name = tpl_dup(r, row, 1);
    t->subject = tpl_dup(r, row, 2);
    t->html = tpl_dup(r, row, 3);
    t->text = tpl_dup(r, row, 4);
    t->text_generated = store_res_i64(r, row, 5) != 0;
    t->created_at_ms = store_res_i64(r, row, 6);
    t->updated_at_ms = store_res_i64(r, row, 7);
    if (!t->name || !t->subject || !t->html || !t->text) {
        store_template_clear(t);
        return HERALD_ERR_NOMEM;
    }
    return HERALD_OK;
}

enum herald_err store_template_insert(struct store_conn *c, const struct store_template *t,
                                      int64_t now_ms, int64_t *id_out)
{
    struct store_val p[] = {SV_STR(t->name), SV_STR(t->subject),        SV_STR(t->html),
                            SV_STR(t->text), SV_I64(t->text_generated), SV_I64(now_ms)};
    struct store_res r;
    int rc = store_query(c, STMT_TEMPLATE_INSERT, p, 6, &r);
    if (!rc && r.nrows != 1)
        rc = HERALD_ERR_DB;
    if (!rc)
        *id_out = store_res_i64(&r, 0, 0);
    store_res_free(&r);
    return rc;
}

enum herald_err store_template_get(struct store_conn *c, int64_t id, struct store_template *out)
{
    memset(out, 0, sizeof(*out));
    struct store_val p[] = {SV_I64(id)};
    struct store_res r;
    int rc = store_query(c, STMT_TEMPLATE_GET, p, 1, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc)
        rc = tpl_read_row(&r, 0, out);
    store_res_free(&r);
    return rc;
}

enum herald_err store_template_update(struct store_conn *c, const struct store_template *t,
                                      int64_t now_ms)
{
    struct store_val p[] = {SV_I64(t->id),   SV_STR(t->name), SV_STR(t->subject),
                            SV_STR(t->html), SV_STR(t->text), SV_I64(t->text_generated),
                            SV_I64(now_ms)};
    struct store_res r;
    int rc = store_query(c, STMT_TEMPLATE_UPDATE, p, 7, &r);
    if (!rc && r.changes == 0)
        rc = HERALD_ERR_NOT_FOUND;
    store_res_free(&r);
    return rc;
}

enum herald_err store_template_delete(struct store_conn *c, int64_t id)
{
    struct store_val p[] = {SV_I64(id)};
    struct store_res r;
    int rc = store_query(c, STMT_TEMPLATE_DELETE, p, 1, &r);
    if (!rc && r.changes == 0)
        rc = HERALD_ERR_NOT_FOUND;
    store_res_free(&r);
    return rc;
}

enum herald_err store_template_list(struct store_conn *c, int64_t before_id, int limit,
                                    struct store_template **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    struct store_val p[] = {SV_I64(before_id), SV_I64(limit)};
    struct store_res r;
    int rc = store_query(c, STMT_TEMPLATE_LIST, p, 2, &r);
    if (!rc && r.nrows > 0) {
        *out = calloc((size_t)r.nrows, sizeof(**out));
        if (!*out)
            rc = HERALD_ERR_NOMEM;
    }
    for (int i = 0; !rc && i < r.nrows; i++) {
        rc = tpl_read_row(&r, i, &(*out)[i]);
        if (!rc)
            *count = (size_t)i + 1;
    }
    store_res_free(&r);
    if (rc) {
        store_templates_free(*out, *count);
        *out = NULL;
        *count = 0;
    }
    return rc;
}

/* Whether another module's table exists yet (contacts: 0007, campaigns: 0009). */
static enum herald_err tpl_table_exists(struct store_conn *c, const char *name, bool *exists)
{
    struct store_val p[] = {SV_STR(name)};
    struct store_res r;
    int rc = store_query(c, STMT_TEMPLATE_TABLE_EXISTS, p, 1, &r);
    if (!rc)
        *exists = r.nrows > 0 && store_res_i64(&r, 0, 0) > 0;
    store_res_free(&r);
    return rc;
}

enum herald_err store_template_campaign_uses(struct store_conn *c, int64_t id, int64_t *count)
{
    *count = 0;
    bool exists = false;
    int rc = tpl_table_exists(c, "campaigns", &exists);
    if (rc || !exists)
        return rc;
    struct store_val p[] = {SV_I64(id)};
    struct store_res r;
    rc = store_query(c, STMT_TEMPLATE_CAMPAIGN_USES, p, 1, &r);
    if (!rc && r.nrows > 0)
        *count = store_res_i64(&r, 0, 0);
    store_res_free(&r);
    return rc;
}

enum herald_err store_template_contact_get(struct store_conn *c, int64_t contact_id,
                                           struct store_template_contact *out)
{
    memset(out, 0, sizeof(*out));
    bool exists = false;
    int rc = tpl_table_exists(c, "contacts", &exists);
    if (rc)
        return rc;
    if (!exists)
        return HERALD_ERR_NOT_FOUND;
    struct store_val p[] = {SV_I64(contact_id)};
    struct store_res r;
    rc = store_query(c, STMT_TEMPLATE_CONTACT_GET, p, 1, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc) {
        out->name = tpl_dup(&r, 0, 0);
        out->email = tpl_dup(&r, 0, 1);
        out->attributes = tpl_dup(&r, 0, 2);
        if (!out->name || !out->email || !out->attributes) {
            store_template_contact_clear(out);
            rc = HERALD_ERR_NOMEM;
        }
    }
    store_res_free(&r);
    return rc;
}

void store_template_contact_clear(struct store_template_contact *ct)
{
    if (!ct)
        return;
    free(ct->name);
    free(ct->email);
    free(ct->attributes);
    memset(ct, 0, sizeof(*ct));
}
