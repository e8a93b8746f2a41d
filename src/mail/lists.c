/* Mailing lists (mail/lists.h): validation of names, opt-in modes and descriptions, and the
 * list operations, each in one transaction over store/contacts.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "mail/contacts.h"
#include "mail/lists.h"

bool mail_list_optin_valid(const char *optin)
{
    return optin && (strcmp(optin, "single") == 0 || strcmp(optin, "double") == 0);
}

/* Checks the members that are set; `creating` makes name and optin required. The trimmed
 * name goes to name_out. */
static int check_input(const struct mail_list_input *in, bool creating,
                       char name_out[MAIL_LIST_NAME_MAX + 1], struct herald_error *err)
{
    if (creating && !in->name)
        return herald_error_set(err, HERALD_ERR_INVALID, "name", "name is required");
    if (in->name) {
        size_t n;
        const char *s = mail_text_trim(in->name, &n);
        if (n == 0 || n > MAIL_LIST_NAME_MAX || !mail_text_ok(s, n, false))
            return herald_error_set(err, HERALD_ERR_INVALID, "name",
                                    "name must be 1-%d bytes of text without control characters",
                                    MAIL_LIST_NAME_MAX);
        memcpy(name_out, s, n);
        name_out[n] = '\0';
    }
    if ((creating || in->optin) && !mail_list_optin_valid(in->optin))
        return herald_error_set(err, HERALD_ERR_INVALID, "optin",
                                "optin must be \"single\" or \"double\"");
    if (in->description && (strlen(in->description) > MAIL_LIST_DESCRIPTION_MAX ||
                            !mail_text_ok(in->description, strlen(in->description), true)))
        return herald_error_set(err, HERALD_ERR_INVALID, "description",
                                "description must be at most %d bytes of text",
                                MAIL_LIST_DESCRIPTION_MAX);
    return HERALD_OK;
}

struct list_tx {
    int64_t id;
    const struct mail_list_input *in;
    const char *name;
    struct store_list *out;
    int limit;
    size_t *count;
    struct store_list **rows;
};

static int create_tx(struct store_conn *c, void *arg)
{
    struct list_tx *t = arg;
    store_list_clear(t->out);
    int64_t now = clock_now_ms();
    int rc = store_list_insert(c, t->name, t->in->optin,
                               t->in->description ? t->in->description : "", now, &t->id);
    return rc ? rc : store_list_get(c, t->id, t->out);
}

static int duplicate_name(int rc, struct herald_error *err)
{
    if (rc == HERALD_ERR_DUPLICATE)
        return herald_error_set(err, rc, "name", "a list with this name exists");
    return herald_error_set(err, rc, NULL, NULL);
}

enum herald_err mail_list_create(struct store *st, const struct mail_list_input *in,
                                 struct store_list *out, struct herald_error *err)
{
    char name[MAIL_LIST_NAME_MAX + 1];
    int rc = check_input(in, true, name, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    struct list_tx t = {.in = in, .name = name, .out = out};
    rc = store_run_tx(st, create_tx, &t);
    return rc ? duplicate_name(rc, err) : HERALD_OK;
}

static int get_tx(struct store_conn *c, void *arg)
{
    struct list_tx *t = arg;
    store_list_clear(t->out);
    return store_list_get(c, t->id, t->out);
}

enum herald_err mail_list_get(struct store *st, int64_t id, struct store_list *out)
{
    memset(out, 0, sizeof(*out));
    struct list_tx t = {.id = id, .out = out};
    return store_run_read(st, get_tx, &t);
}

static int list_tx(struct store_conn *c, void *arg)
{
    struct list_tx *t = arg;
    return store_list_list(c, t->id, t->limit, t->rows, t->count);
}

enum herald_err mail_list_list(struct store *st, int64_t after_id, int limit,
                               struct store_list **out, size_t *count)
{
    struct list_tx t = {.id = after_id, .limit = limit, .rows = out, .count = count};
    return store_run_read(st, list_tx, &t);
}

static int update_tx(struct store_conn *c, void *arg)
{
    struct list_tx *t = arg;
    store_list_clear(t->out);
    struct store_list cur;
    int rc = store_list_get(c, t->id, &cur);
    if (rc)
        return rc;
    struct store_list next = cur;
    if (t->name)
        next.name = (char *)t->name;
    if (t->in->optin)
        snprintf(next.optin, sizeof(next.optin), "%s", t->in->optin);
    if (t->in->description)
        next.description = (char *)t->in->description;
    rc = store_list_update(c, &next, clock_now_ms());
    store_list_clear(&cur);
    return rc ? rc : store_list_get(c, t->id, t->out);
}

enum herald_err mail_list_update(struct store *st, int64_t id, const struct mail_list_input *in,
                                 struct store_list *out, struct herald_error *err)
{
    char name[MAIL_LIST_NAME_MAX + 1];
    int rc = check_input(in, false, name, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    struct list_tx t = {.id = id, .in = in, .name = in->name ? name : NULL, .out = out};
    rc = store_run_tx(st, update_tx, &t);
    return rc ? duplicate_name(rc, err) : HERALD_OK;
}

static int delete_tx(struct store_conn *c, void *arg)
{
    struct list_tx *t = arg;
    return store_list_delete(c, t->id);
}

enum herald_err mail_list_delete(struct store *st, int64_t id)
{
    struct list_tx t = {.id = id};
    return store_run_tx(st, delete_tx, &t);
}
