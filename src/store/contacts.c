/* The store's lists, contacts and subscriptions: the statements of block
 * STMT_CONTACTS__BASE..STMT_CONTACTS__END and the operations over them (store/contacts.h). */
#include <stdlib.h>
#include <string.h>

#include "store/contacts.h"
#include "store/internal.h"

#define S(id) [id - STMT_CONTACTS__BASE]

#define LIST_COUNT(st)                                                                             \
    "(SELECT count(*) FROM subscriptions s WHERE s.list_id = l.id AND s.status = '" st "')"
#define LIST_COLS                                                                                  \
    "l.id, l.name, l.description, l.optin, l.created_at_ms, l.updated_at_ms, " LIST_COUNT(         \
        "unconfirmed") ", " LIST_COUNT("confirmed") ", " LIST_COUNT("unsubscribed")
#define CONTACT_COLS                                                                               \
    "c.id, c.email, c.name, c.attributes, c.status, c.delivery, c.soft_bounces, "                  \
    "c.unsubscribed_at_ms, c.created_at_ms, c.updated_at_ms"
#define SUB_COLS                                                                                   \
    "s.contact_id, s.list_id, s.status, s.consent_method, s.consent_at_ms, s.consent_ip, "         \
    "s.consent_text, s.confirmed_at_ms, s.unsubscribed_at_ms, s.created_at_ms, s.updated_at_ms, "  \
    "l.name, l.optin"
/* Contacts filter: $1 after id, $2 email, $3 status, $4 query (lower-cased), $5 list, $6 limit.
 * FIND is instr() in SQLite, strpos() in PostgreSQL: a substring, no LIKE wildcards. */
#define CONTACT_LIST(FIND)                                                                         \
    "SELECT " CONTACT_COLS " FROM contacts c WHERE c.id > $1 "                                     \
    "AND (CAST($2 AS TEXT) IS NULL OR c.email = $2) "                                              \
    "AND (CAST($3 AS TEXT) IS NULL OR c.status = $3) "                                             \
    "AND (CAST($4 AS TEXT) IS NULL OR " FIND "(lower(c.email), $4) > 0 OR " FIND                   \
    "(lower(c.name), $4) > 0) "                                                                    \
    "AND (CAST($5 AS BIGINT) = 0 OR EXISTS (SELECT 1 FROM subscriptions s "                        \
    "WHERE s.contact_id = c.id AND s.list_id = $5)) ORDER BY c.id LIMIT $6"

const struct store_stmt_def store_contacts_stmts[STMT_CONTACTS__END - STMT_CONTACTS__BASE] = {
    [0] = {NULL, NULL, false}, /* the block marker */
    S(STMT_LIST_INSERT) = {"INSERT INTO mail_lists (name, optin, description, created_at_ms, "
                           "updated_at_ms) VALUES ($1, $2, $3, $4, $4) RETURNING id",
                           NULL, true},
    S(STMT_LIST_GET) = {"SELECT " LIST_COLS " FROM mail_lists l WHERE l.id = $1", NULL, false},
    S(STMT_LIST_OPTIN) = {"SELECT optin FROM mail_lists WHERE id = $1", NULL, false},
    S(STMT_LIST_LIST) = {"SELECT " LIST_COLS " FROM mail_lists l WHERE l.id > $1 ORDER BY l.id "
                         "LIMIT $2",
                         NULL, false},
    S(STMT_LIST_UPDATE) = {"UPDATE mail_lists SET name = $2, optin = $3, description = $4, "
                           "updated_at_ms = $5 WHERE id = $1",
                           NULL, true},
    S(STMT_LIST_DELETE_SUBS) = {"DELETE FROM subscriptions WHERE list_id = $1", NULL, true},
    S(STMT_LIST_DELETE) = {"DELETE FROM mail_lists WHERE id = $1", NULL, true},
    S(STMT_CONTACT_INSERT) = {"INSERT INTO contacts (email, name, attributes, status, delivery, "
                              "soft_bounces, unsubscribed_at_ms, created_at_ms, updated_at_ms) "
                              "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
                              NULL, true},
    S(STMT_CONTACT_GET) = {"SELECT " CONTACT_COLS " FROM contacts c WHERE c.id = $1", NULL, false},
    /* SQLite's write transactions are serial already (BEGIN IMMEDIATE). */
    S(STMT_CONTACT_GET_FOR_UPDATE) = {"SELECT " CONTACT_COLS " FROM contacts c WHERE c.id = $1",
                                      "SELECT " CONTACT_COLS
                                      " FROM contacts c WHERE c.id = $1 FOR UPDATE",
                                      false},
    S(STMT_CONTACT_BY_EMAIL) = {"SELECT " CONTACT_COLS " FROM contacts c WHERE c.email = $1", NULL,
                                false},
    S(STMT_CONTACT_UPDATE) = {"UPDATE contacts SET email = $2, name = $3, attributes = $4, "
                              "status = $5, delivery = $6, soft_bounces = $7, "
                              "unsubscribed_at_ms = $8, updated_at_ms = $9 WHERE id = $1",
                              NULL, true},
    S(STMT_CONTACT_DELETE_SUBS) = {"DELETE FROM subscriptions WHERE contact_id = $1", NULL, true},
    S(STMT_CONTACT_DELETE) = {"DELETE FROM contacts WHERE id = $1", NULL, true},
    S(STMT_CONTACT_LIST) = {CONTACT_LIST("instr"), CONTACT_LIST("strpos"), false},
    S(STMT_CONTACT_UNSUBSCRIBE_ALL) = {"UPDATE contacts SET unsubscribed_at_ms = "
                                       "COALESCE(unsubscribed_at_ms, $2), updated_at_ms = $2 "
                                       "WHERE id = $1",
                                       NULL, true},
    S(STMT_CONTACT_SET_DELIVERY) = {"UPDATE contacts SET delivery = $2, soft_bounces = $3, "
                                    "updated_at_ms = $4 WHERE id = $1",
                                    NULL, true},
    S(STMT_CONTACT_MAILABLE) = {"SELECT 1 FROM contacts c JOIN subscriptions s ON "
                                "s.contact_id = c.id AND s.list_id = $2 WHERE c.id = $1 AND "
                                "c.status = 'enabled' AND c.delivery = 'ok' AND "
                                "c.unsubscribed_at_ms IS NULL AND s.status = 'confirmed'",
                                NULL, false},
    /* Inserts only when both rows exist (SQLite may run without foreign keys). */
    S(STMT_SUB_UPSERT) = {"INSERT INTO subscriptions (contact_id, list_id, status, "
                          "consent_method, consent_at_ms, consent_ip, consent_text, "
                          "confirmed_at_ms, unsubscribed_at_ms, created_at_ms, updated_at_ms) "
                          "SELECT CAST($1 AS BIGINT), CAST($2 AS BIGINT), CAST($3 AS TEXT), "
                          "CAST($4 AS TEXT), CAST($5 AS BIGINT), CAST($6 AS TEXT), "
                          "CAST($7 AS TEXT), CAST($8 AS BIGINT), CAST($9 AS BIGINT), "
                          "CAST($10 AS BIGINT), CAST($10 AS BIGINT) "
                          "WHERE EXISTS (SELECT 1 FROM contacts WHERE id = $1) "
                          "AND EXISTS (SELECT 1 FROM mail_lists WHERE id = $2) "
                          "ON CONFLICT (contact_id, list_id) DO UPDATE SET "
                          "status = excluded.status, consent_method = excluded.consent_method, "
                          "consent_at_ms = excluded.consent_at_ms, "
                          "consent_ip = excluded.consent_ip, "
                          "consent_text = excluded.consent_text, "
                          "confirmed_at_ms = excluded.confirmed_at_ms, "
                          "unsubscribed_at_ms = excluded.unsubscribed_at_ms, "
                          "updated_at_ms = excluded.updated_at_ms",
                          NULL, true},
    S(STMT_SUB_GET) = {"SELECT " SUB_COLS " FROM subscriptions s JOIN mail_lists l ON "
                       "l.id = s.list_id WHERE s.contact_id = $1 AND s.list_id = $2",
                       NULL, false},
    S(STMT_SUB_LIST) = {"SELECT " SUB_COLS " FROM subscriptions s JOIN mail_lists l ON "
                        "l.id = s.list_id WHERE s.contact_id = $1 ORDER BY s.list_id",
                        NULL, false},
    S(STMT_SUB_DELETE) = {"DELETE FROM subscriptions WHERE contact_id = $1 AND list_id = $2", NULL,
                          true},
    S(STMT_SUB_CONFIRM) = {"UPDATE subscriptions SET status = 'confirmed', confirmed_at_ms = $3, "
                           "updated_at_ms = $3 WHERE contact_id = $1 AND list_id = $2 AND "
                           "status = 'unconfirmed'",
                           NULL, true},
    S(STMT_SUB_UNSUBSCRIBE) = {"UPDATE subscriptions SET status = 'unsubscribed', "
                               "unsubscribed_at_ms = $3, updated_at_ms = $3 WHERE "
                               "contact_id = $1 AND list_id = $2 AND status <> 'unsubscribed'",
                               NULL, true},
};

/* ---- shared helpers ---- */

static char *dup_cell(const struct store_res *r, int row, int col, int *failed)
{
    const char *s = store_res_text(r, row, col);
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = 1;
    return d;
}

static void copy_cell(const struct store_res *r, int row, int col, char *out, size_t cap)
{
    const char *s = store_res_text(r, row, col);
    size_t n = s ? strlen(s) : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s ? s : "", n);
    out[n] = '\0';
}

/* Runs a write; NOT_FOUND when it touched no row. */
static int write_one(struct store_conn *c, enum store_stmt id, const struct store_val *p, int n)
{
    struct store_res r = {0};
    int rc = store_query(c, id, p, n, &r);
    if (!rc && r.changes == 0)
        rc = HERALD_ERR_NOT_FOUND;
    store_res_free(&r);
    return rc;
}

typedef int (*row_fn)(const struct store_res *r, int row, void *out);

/* Reads every row of a query into a calloc'd array of `size`-byte elements. */
static int read_rows(struct store_conn *c, enum store_stmt id, const struct store_val *p, int n,
                     row_fn fn, size_t size, void (*clear)(void *), void **out, size_t *count)
{
    struct store_res r = {0};
    *out = NULL;
    *count = 0;
    int rc = store_query(c, id, p, n, &r);
    char *rows = NULL;
    if (!rc && !(rows = calloc(r.nrows ? (size_t)r.nrows : 1, size)))
        rc = HERALD_ERR_NOMEM;
    for (int i = 0; !rc && i < r.nrows; i++)
        rc = fn(&r, i, rows + (size_t)i * size);
    if (rc && rows) {
        for (int i = 0; i < r.nrows; i++)
            clear(rows + (size_t)i * size);
        free(rows);
        rows = NULL;
    }
    if (!rc) {
        *out = rows;
        *count = (size_t)r.nrows;
    }
    store_res_free(&r);
    return rc;
}

/* Reads the one row a query answers; NOT_FOUND when none. */
static int read_one(struct store_conn *c, enum store_stmt id, const struct store_val *p, int n,
                    row_fn fn, void *out)
{
    struct store_res r = {0};
    int rc = store_query(c, id, p, n, &r);
    if (!rc)
        rc = r.nrows ? fn(&r, 0, out) : HERALD_ERR_NOT_FOUND;
    store_res_free(&r);
    return rc;
}

static struct store_val opt_ms(int64_t ms)
{
    return ms ? SV_I64(ms) : SV_NUL;
}

/* ---- lists ---- */

void store_list_clear(struct store_list *l)
{
    free(l->name);
    free(l->description);
    l->name = l->description = NULL;
}

static void list_clear_v(void *p)
{
    store_list_clear(p);
}

void store_lists_free(struct store_list *rows, size_t count)
{
    for (size_t i = 0; rows && i < count; i++)
        store_list_clear(&rows[i]);
    free(rows);
}

static int list_row(const struct store_res *r, int row, void *out)
{
    struct store_list *l = out;
    int failed = 0;
    memset(l, 0, sizeof(*l));
    l->id = store_res_i64(r, row, 0);
    l->name = dup_cell(r, row, 1, &failed);
    l->description = dup_cell(r, row, 2, &failed);
    copy_cell(r, row, 3, l->optin, sizeof(l->optin));
    l->created_at_ms = store_res_i64(r, row, 4);
    l->updated_at_ms = store_res_i64(r, row, 5);
    l->unconfirmed = store_res_i64(r, row, 6);
    l->confirmed = store_res_i64(r, row, 7);
    l->unsubscribed = store_res_i64(r, row, 8);
    if (failed)
        store_list_clear(l);
    return failed ? HERALD_ERR_NOMEM : HERALD_OK;
}

enum herald_err store_list_insert(struct store_conn *c, const char *name, const char *optin,
                                  const char *description, int64_t now_ms, int64_t *id)
{
    struct store_val p[] = {SV_STR(name), SV_STR(optin), SV_STR(description), SV_I64(now_ms)};
    return store_query_id(c, STMT_LIST_INSERT, p, 4, id);
}

enum herald_err store_list_get(struct store_conn *c, int64_t id, struct store_list *out)
{
    struct store_val p[] = {SV_I64(id)};
    return read_one(c, STMT_LIST_GET, p, 1, list_row, out);
}

enum herald_err store_list_optin(struct store_conn *c, int64_t id, char optin[8])
{
    struct store_val p[] = {SV_I64(id)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_LIST_OPTIN, p, 1, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc)
        copy_cell(&r, 0, 0, optin, 8);
    store_res_free(&r);
    return rc;
}

enum herald_err store_list_list(struct store_conn *c, int64_t after_id, int limit,
                                struct store_list **out, size_t *count)
{
    struct store_val p[] = {SV_I64(after_id), SV_I64(limit)};
    return read_rows(c, STMT_LIST_LIST, p, 2, list_row, sizeof(**out), list_clear_v, (void **)out,
                     count);
}

enum herald_err store_list_update(struct store_conn *c, const struct store_list *l, int64_t now_ms)
{
    struct store_val p[] = {SV_I64(l->id), SV_STR(l->name), SV_STR(l->optin),
                            SV_STR(l->description), SV_I64(now_ms)};
    return write_one(c, STMT_LIST_UPDATE, p, 5);
}

enum herald_err store_list_delete(struct store_conn *c, int64_t id)
{
    struct store_val p[] = {SV_I64(id)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_LIST_DELETE_SUBS, p, 1, &r);
    store_res_free(&r);
    return rc ? rc : write_one(c, STMT_LIST_DELETE, p, 1);
}

/* ---- contacts ---- */

void store_contact_clear(struct store_contact *ct)
{
    free(ct->email);
    free(ct->name);
    free(ct->attributes);
    ct->email = ct->name = ct->attributes = NULL;
}

static void contact_clear_v(void *p)
{
    store_contact_clear(p);
}

void store_contacts_free(struct store_contact *rows, size_t count)
{
    for (size_t i = 0; rows && i < count; i++)
        store_contact_clear(&rows[i]);
    free(rows);
}

static int contact_row(const struct store_res *r, int row, void *out)
{
    struct store_contact *ct = out;
    int failed = 0;
    memset(ct, 0, sizeof(*ct));
    ct->id = store_res_i64(r, row, 0);
    ct->email = dup_cell(r, row, 1, &failed);
    ct->name = dup_cell(r, row, 2, &failed);
    ct->attributes = dup_cell(r, row, 3, &failed);
    copy_cell(r, row, 4, ct->status, sizeof(ct->status));
    copy_cell(r, row, 5, ct->delivery, sizeof(ct->delivery));
    ct->soft_bounces = store_res_i64(r, row, 6);
    ct->unsubscribed_at_ms = store_res_i64(r, row, 7);
    ct->created_at_ms = store_res_i64(r, row, 8);
    ct->updated_at_ms = store_res_i64(r, row, 9);
    if (failed)
        store_contact_clear(ct);
    return failed ? HERALD_ERR_NOMEM : HERALD_OK;
}

enum herald_err store_contact_insert(struct store_conn *c, const struct store_contact *ct,
                                     int64_t now_ms, int64_t *id)
{
    struct store_val p[] = {SV_STR(ct->email),
                            SV_STR(ct->name ? ct->name : ""),
                            SV_STR(ct->attributes ? ct->attributes : "{}"),
                            SV_STR(ct->status),
                            SV_STR(ct->delivery),
                            SV_I64(ct->soft_bounces),
                            opt_ms(ct->unsubscribed_at_ms),
                            SV_I64(now_ms)};
    return store_query_id(c, STMT_CONTACT_INSERT, p, 8, id);
}

enum herald_err store_contact_get(struct store_conn *c, int64_t id, struct store_contact *out)
{
    struct store_val p[] = {SV_I64(id)};
    return read_one(c, STMT_CONTACT_GET, p, 1, contact_row, out);
}

enum herald_err store_contact_get_for_update(struct store_conn *c, int64_t id,
                                             struct store_contact *out)
{
    struct store_val p[] = {SV_I64(id)};
    return read_one(c, STMT_CONTACT_GET_FOR_UPDATE, p, 1, contact_row, out);
}

enum herald_err store_contact_find_by_email(struct store_conn *c, const char *email,
                                            struct store_contact *out)
{
    struct store_val p[] = {SV_STR(email)};
    return read_one(c, STMT_CONTACT_BY_EMAIL, p, 1, contact_row, out);
}

enum herald_err store_contact_update(struct store_conn *c, const struct store_contact *ct,
                                     int64_t now_ms)
{
    struct store_val p[] = {SV_I64(ct->id),
                            SV_STR(ct->email),
                            SV_STR(ct->name ? ct->name : ""),
                            SV_STR(ct->attributes ? ct->attributes : "{}"),
                            SV_STR(ct->status),
                            SV_STR(ct->delivery),
                            SV_I64(ct->soft_bounces),
                            opt_ms(ct->unsubscribed_at_ms),
                            SV_I64(now_ms)};
    return write_one(c, STMT_CONTACT_UPDATE, p, 9);
}

enum herald_err store_contact_delete(struct store_conn *c, int64_t id)
{
    struct store_val p[] = {SV_I64(id)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_CONTACT_DELETE_SUBS, p, 1, &r);
    store_res_free(&r);
    return rc ? rc : write_one(c, STMT_CONTACT_DELETE, p, 1);
}

enum herald_err store_contact_list(struct store_conn *c, const struct store_contact_filter *f,
                                   struct store_contact **out, size_t *count)
{
    struct store_val p[] = {SV_I64(f->after_id), SV_STR(f->email),   SV_STR(f->status),
                            SV_STR(f->query),    SV_I64(f->list_id), SV_I64(f->limit)};
    return read_rows(c, STMT_CONTACT_LIST, p, 6, contact_row, sizeof(**out), contact_clear_v,
                     (void **)out, count);
}

enum herald_err store_contact_unsubscribe_all(struct store_conn *c, int64_t id, int64_t now_ms)
{
    struct store_val p[] = {SV_I64(id), SV_I64(now_ms)};
    return write_one(c, STMT_CONTACT_UNSUBSCRIBE_ALL, p, 2);
}

enum herald_err store_contact_set_delivery(struct store_conn *c, int64_t id, const char *delivery,
                                           int64_t soft_bounces, int64_t now_ms)
{
    struct store_val p[] = {SV_I64(id), SV_STR(delivery), SV_I64(soft_bounces), SV_I64(now_ms)};
    return write_one(c, STMT_CONTACT_SET_DELIVERY, p, 4);
}

enum herald_err store_contact_mailable(struct store_conn *c, int64_t contact_id, int64_t list_id,
                                       bool *mailable)
{
    struct store_val p[] = {SV_I64(contact_id), SV_I64(list_id)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_CONTACT_MAILABLE, p, 2, &r);
    *mailable = !rc && r.nrows > 0;
    store_res_free(&r);
    return rc;
}

/* ---- subscriptions ---- */

void store_subscription_clear(struct store_subscription *s)
{
    free(s->consent_ip);
    free(s->consent_text);
    free(s->list_name);
    s->consent_ip = s->consent_text = s->list_name = NULL;
}

static void sub_clear_v(void *p)
{
    store_subscription_clear(p);
}

void store_subscriptions_free(struct store_subscription *rows, size_t count)
{
    for (size_t i = 0; rows && i < count; i++)
        store_subscription_clear(&rows[i]);
    free(rows);
}

static int sub_row(const struct store_res *r, int row, void *out)
{
    struct store_subscription *s = out;
    int failed = 0;
    memset(s, 0, sizeof(*s));
    s->contact_id = store_res_i64(r, row, 0);
    s->list_id = store_res_i64(r, row, 1);
    copy_cell(r, row, 2, s->status, sizeof(s->status));
    copy_cell(r, row, 3, s->consent_method, sizeof(s->consent_method));
    s->consent_at_ms = store_res_i64(r, row, 4);
    s->consent_ip = dup_cell(r, row, 5, &failed);
    s->consent_text = dup_cell(r, row, 6, &failed);
    s->confirmed_at_ms = store_res_i64(r, row, 7);
    s->unsubscribed_at_ms = store_res_i64(r, row, 8);
    s->created_at_ms = store_res_i64(r, row, 9);
    s->updated_at_ms = store_res_i64(r, row, 10);
    s->list_name = dup_cell(r, row, 11, &failed);
    copy_cell(r, row, 12, s->list_optin, sizeof(s->list_optin));
    if (failed)
        store_subscription_clear(s);
    return failed ? HERALD_ERR_NOMEM : HERALD_OK;
}

enum herald_err store_subscription_upsert(struct store_conn *c, const struct store_subscription *s,
                                          int64_t now_ms)
{
    struct store_val p[] = {SV_I64(s->contact_id),
                            SV_I64(s->list_id),
                            SV_STR(s->status),
                            SV_STR(s->consent_method),
                            SV_I64(s->consent_at_ms),
                            SV_STR(s->consent_ip),
                            SV_STR(s->consent_text),
                            opt_ms(s->confirmed_at_ms),
                            opt_ms(s->unsubscribed_at_ms),
                            SV_I64(now_ms)};
    return write_one(c, STMT_SUB_UPSERT, p, 10);
}

enum herald_err store_subscription_get(struct store_conn *c, int64_t contact_id, int64_t list_id,
                                       struct store_subscription *out)
{
    struct store_val p[] = {SV_I64(contact_id), SV_I64(list_id)};
    return read_one(c, STMT_SUB_GET, p, 2, sub_row, out);
}

enum herald_err store_subscription_list(struct store_conn *c, int64_t contact_id,
                                        struct store_subscription **out, size_t *count)
{
    struct store_val p[] = {SV_I64(contact_id)};
    return read_rows(c, STMT_SUB_LIST, p, 1, sub_row, sizeof(**out), sub_clear_v, (void **)out,
                     count);
}

enum herald_err store_subscription_delete(struct store_conn *c, int64_t contact_id, int64_t list_id)
{
    struct store_val p[] = {SV_I64(contact_id), SV_I64(list_id)};
    return write_one(c, STMT_SUB_DELETE, p, 2);
}

/* After an UPDATE guarded by status touched nothing: why (absent, or in which state). */
static int sub_status(struct store_conn *c, int64_t contact_id, int64_t list_id, char out[16])
{
    struct store_subscription s;
    int rc = store_subscription_get(c, contact_id, list_id, &s);
    if (rc)
        return rc;
    memcpy(out, s.status, 16);
    store_subscription_clear(&s);
    return HERALD_OK;
}

enum herald_err store_subscription_confirm(struct store_conn *c, int64_t contact_id,
                                           int64_t list_id, int64_t now_ms, bool *changed)
{
    struct store_val p[] = {SV_I64(contact_id), SV_I64(list_id), SV_I64(now_ms)};
    *changed = false;
    int rc = write_one(c, STMT_SUB_CONFIRM, p, 3);
    if (rc != HERALD_ERR_NOT_FOUND) {
        *changed = !rc;
        return rc;
    }
    char status[16];
    rc = sub_status(c, contact_id, list_id, status);
    if (!rc && strcmp(status, "confirmed") != 0)
        rc = HERALD_ERR_CONFLICT;
    return rc;
}

enum herald_err store_subscription_unsubscribe(struct store_conn *c, int64_t contact_id,
                                               int64_t list_id, int64_t now_ms, bool *changed)
{
    struct store_val p[] = {SV_I64(contact_id), SV_I64(list_id), SV_I64(now_ms)};
    *changed = false;
    int rc = write_one(c, STMT_SUB_UNSUBSCRIBE, p, 3);
    if (rc != HERALD_ERR_NOT_FOUND) {
        *changed = !rc;
        return rc;
    }
    char status[16];
    return sub_status(c, contact_id, list_id, status);
}
