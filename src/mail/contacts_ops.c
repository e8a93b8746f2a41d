/* The contact operations of mail/contacts.h: create (or upsert), change, read with the
 * subscriptions, delete and the filtered listing, each in one transaction; confirmation mails
 * for double opt-in lists are queued after the commit (mail/optin.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "mail/contacts.h"
#include "mail/optin.h"

struct contact_tx {
    const struct mail_contact_input *in;
    char email[MAIL_EMAIL_MAX]; /* normalised; "" when not given */
    char name[MAIL_CONTACT_NAME_MAX + 1];
    bool upsert, created;
    bool inserting; /* create_tx took the insert path */
    int64_t id;
    int64_t mails[MAIL_CONTACT_LISTS_MAX]; /* lists whose confirmation mail is due */
    size_t nmails;
    struct herald_error *err;
};

static bool method_valid(const char *m)
{
    return m &&
           (!strcmp(m, "api") || !strcmp(m, "import") || !strcmp(m, "form") || !strcmp(m, "ota"));
}

static int check_lists(const int64_t *ids, size_t n, const char *field, struct herald_error *err)
{
    if (n > MAIL_CONTACT_LISTS_MAX)
        return herald_error_set(err, HERALD_ERR_INVALID, field, "at most %d lists",
                                MAIL_CONTACT_LISTS_MAX);
    for (size_t i = 0; i < n; i++)
        if (ids[i] <= 0) {
            char f[64];
            snprintf(f, sizeof(f), "%s[%zu]", field, i);
            return herald_error_set(err, HERALD_ERR_INVALID, f, "a list id is a positive integer");
        }
    return HERALD_OK;
}

static int check_consent(const struct mail_consent *c, struct herald_error *err)
{
    if (!method_valid(c->method))
        return herald_error_set(err, HERALD_ERR_INVALID, "consentMethod",
                                "consent method must be api, import, form or ota");
    if (c->text &&
        (strlen(c->text) > MAIL_CONSENT_TEXT_MAX || !mail_text_ok(c->text, strlen(c->text), true)))
        return herald_error_set(err, HERALD_ERR_INVALID, "consentText",
                                "consentText must be at most %d bytes of text",
                                MAIL_CONSENT_TEXT_MAX);
    return HERALD_OK;
}

/* Validates the input and fills t->email and t->name. */
static int check_input(struct contact_tx *t, bool creating)
{
    const struct mail_contact_input *in = t->in;
    if ((creating || in->email) && mail_email_normalize(in->email, t->email))
        return herald_error_set(t->err, HERALD_ERR_INVALID, "email",
                                "email must be a valid address");
    if (in->name) {
        size_t n;
        const char *s = mail_text_trim(in->name, &n);
        if (n > MAIL_CONTACT_NAME_MAX || !mail_text_ok(s, n, false))
            return herald_error_set(t->err, HERALD_ERR_INVALID, "name",
                                    "name must be at most %d bytes of text on one line",
                                    MAIL_CONTACT_NAME_MAX);
        memcpy(t->name, s, n);
        t->name[n] = '\0';
    }
    int rc = in->attributes ? mail_attributes_check(in->attributes, t->err) : HERALD_OK;
    if (!rc && in->status && !mail_contact_status_valid(in->status))
        rc = herald_error_set(t->err, HERALD_ERR_INVALID, "status",
                              "status must be \"enabled\" or \"blocklisted\"");
    if (!rc && in->delivery && strcmp(in->delivery, "ok") != 0)
        rc = herald_error_set(t->err, HERALD_ERR_INVALID, "delivery",
                              "delivery can only be set to \"ok\" (clears a bounce)");
    if (!rc)
        rc = check_lists(in->add_lists, in->nadd, "lists", t->err);
    if (!rc)
        rc = check_lists(in->remove_lists, in->nremove, "removeLists", t->err);
    if (!rc && in->nadd)
        rc = check_consent(&in->consent, t->err);
    return rc;
}

/* The stored attributes with the input's merged in (a null value removes its key). */
static int merge_attributes(const char *stored, json_t *patch, char **out, struct herald_error *err)
{
    json_t *obj = stored ? json_loads(stored, 0, NULL) : NULL;
    if (!json_is_object(obj)) {
        json_decref(obj);
        obj = json_object();
    }
    const char *key;
    json_t *value;
    json_object_foreach(patch, key, value)
    {
        if (json_is_null(value))
            json_object_del(obj, key);
        else
            json_object_set(obj, key, value);
    }
    int rc = mail_attributes_check(obj, err);
    if (!rc && !(*out = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER)))
        rc = HERALD_ERR_NOMEM;
    json_decref(obj);
    return rc;
}

/* Adds and removes the input's lists; remembers which need a confirmation mail. */
static int apply_lists(struct store_conn *c, struct contact_tx *t, int64_t now)
{
    const struct mail_contact_input *in = t->in;
    for (size_t i = 0; i < in->nremove; i++) {
        int rc = store_subscription_delete(c, t->id, in->remove_lists[i]);
        if (rc && rc != HERALD_ERR_NOT_FOUND)
            return rc;
    }
    for (size_t i = 0; i < in->nadd; i++) {
        bool mail = false;
        int rc = mail_subscription_add_tx(c, t->id, in->add_lists[i], &in->consent, now, &mail);
        if (rc == HERALD_ERR_NOT_FOUND) {
            char f[64];
            snprintf(f, sizeof(f), "lists[%zu]", i);
            return herald_error_set(t->err, HERALD_ERR_INVALID, f, "no list with id %lld",
                                    (long long)in->add_lists[i]);
        }
        if (rc)
            return rc;
        if (mail && t->nmails < MAIL_CONTACT_LISTS_MAX)
            t->mails[t->nmails++] = in->add_lists[i];
    }
    return HERALD_OK;
}

static bool same_text(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* `ct` (read from the store) with the input's columns applied; *attrs (free() it) holds the
 * merged attributes next points to, NULL when the input has none. */
static int next_columns(struct contact_tx *t, const struct store_contact *ct,
                        struct store_contact *next, char **attrs)
{
    const struct mail_contact_input *in = t->in;
    *attrs = NULL;
    if (in->attributes) {
        int rc = merge_attributes(ct->attributes, in->attributes, attrs, t->err);
        if (rc)
            return rc;
    }
    *next = *ct;
    if (t->email[0])
        next->email = t->email;
    if (in->name)
        next->name = t->name;
    if (*attrs)
        next->attributes = *attrs;
    if (in->status)
        snprintf(next->status, sizeof(next->status), "%s", in->status);
    if (in->delivery) {
        snprintf(next->delivery, sizeof(next->delivery), "ok");
        next->soft_bounces = 0;
    }
    return HERALD_OK;
}

static bool same_columns(const struct store_contact *a, const struct store_contact *b)
{
    return same_text(a->email, b->email) && same_text(a->name, b->name) &&
           same_text(a->attributes, b->attributes) && !strcmp(a->status, b->status) &&
           !strcmp(a->delivery, b->delivery) && a->soft_bounces == b->soft_bounces;
}

/* Applies the input's columns to `ct` (read from the store) and writes it, unless that changes
 * nothing (a guest's every booking upserts what is stored already): no write, and updatedAt
 * does not move. */
static int apply_columns(struct store_conn *c, struct contact_tx *t, struct store_contact *ct,
                         int64_t now)
{
    struct store_contact next;
    char *attrs;
    int rc = next_columns(t, ct, &next, &attrs);
    if (!rc && !same_columns(&next, ct))
        rc = store_contact_update(c, &next, now);
    free(attrs);
    if (rc == HERALD_ERR_DUPLICATE)
        herald_error_set(t->err, rc, "email", "another contact has this email");
    return rc;
}

/* Whether the input leaves the columns of `ct` (read without a lock) as they are. */
static bool changes_nothing(struct contact_tx *t, const struct store_contact *ct)
{
    struct store_contact next;
    char *attrs;
    bool same = next_columns(t, ct, &next, &attrs) == HERALD_OK && same_columns(&next, ct);
    free(attrs);
    return same;
}

static int update_tx(struct store_conn *c, void *arg)
{
    struct contact_tx *t = arg;
    int64_t now = clock_now_ms();
    struct store_contact ct;
    t->nmails = 0;
    int rc = store_contact_get_for_update(c, t->id, &ct);
    if (rc)
        return rc;
    rc = apply_columns(c, t, &ct, now);
    store_contact_clear(&ct);
    return rc ? rc : apply_lists(c, t, now);
}

static int insert_new(struct store_conn *c, struct contact_tx *t, int64_t now)
{
    char *attrs = NULL;
    int rc = t->in->attributes ? merge_attributes(NULL, t->in->attributes, &attrs, t->err) : 0;
    if (rc)
        return rc;
    struct store_contact ct = {
        .email = t->email, .name = t->in->name ? t->name : "", .attributes = attrs ? attrs : "{}"};
    snprintf(ct.status, sizeof(ct.status), "%s", t->in->status ? t->in->status : "enabled");
    snprintf(ct.delivery, sizeof(ct.delivery), "ok");
    rc = store_contact_insert(c, &ct, now, &t->id);
    free(attrs);
    if (rc == HERALD_ERR_DUPLICATE)
        herald_error_set(t->err, rc, "email", "a contact with this email exists");
    t->created = !rc;
    return rc ? rc : apply_lists(c, t, now);
}

static int create_tx(struct store_conn *c, void *arg)
{
    struct contact_tx *t = arg;
    struct store_contact ct;
    t->nmails = 0;
    t->created = false;
    int rc = store_contact_find_by_email(c, t->email, &ct);
    t->inserting = rc == HERALD_ERR_NOT_FOUND;
    if (rc == HERALD_ERR_NOT_FOUND)
        return insert_new(c, t, clock_now_ms());
    if (rc)
        return rc;
    t->id = ct.id;
    bool same = t->upsert && !t->in->nadd && !t->in->nremove && changes_nothing(t, &ct);
    store_contact_clear(&ct);
    if (!t->upsert)
        return herald_error_set(t->err, HERALD_ERR_DUPLICATE, "email",
                                "a contact with this email exists (use ?upsert=true)");
    /* Nothing to write: no row lock either (on PostgreSQL a returning guest's concurrent
     * bookings would queue on it). A change committed meanwhile orders after this upsert. */
    return same ? HERALD_OK : update_tx(c, t);
}

/* After the commit: one confirmation mail per double opt-in list the change left
 * unconfirmed. A failure to queue is logged; adding the list again queues another. */
static void queue_mails(struct mail_optin *optin, const struct contact_tx *t)
{
    for (size_t i = 0; optin && i < t->nmails; i++) {
        int rc = mail_optin_queue(optin, t->id, t->mails[i]);
        if (rc)
            log_error("cannot queue a confirmation mail",
                      json_pack("{s:I, s:I, s:s}", "contact_id", (json_int_t)t->id, "list_id",
                                (json_int_t)t->mails[i], "error", herald_strerror(rc)));
    }
}

static int finish(int rc, struct herald_error *err)
{
    if (rc && err && err->code != rc)
        herald_error_set(err, rc, NULL, NULL);
    return rc;
}

enum herald_err mail_contact_create(struct store *st, struct mail_optin *optin,
                                    const struct mail_contact_input *in, bool upsert, int64_t *id,
                                    bool *created, struct herald_error *err)
{
    struct contact_tx *t = calloc(1, sizeof(*t));
    if (!t)
        return HERALD_ERR_NOMEM;
    if (err)
        memset(err, 0, sizeof(*err));
    *t = (struct contact_tx){.in = in, .upsert = upsert, .err = err};
    int rc = check_input(t, true);
    if (!rc)
        rc = store_run_tx(st, create_tx, t);
    /* An upsert that lost the race to insert the same email finds it on a second run. */
    if (rc == HERALD_ERR_DUPLICATE && upsert && t->inserting) {
        if (err)
            memset(err, 0, sizeof(*err));
        rc = store_run_tx(st, create_tx, t);
    }
    if (!rc) {
        *id = t->id;
        *created = t->created;
        queue_mails(optin, t);
    }
    free(t);
    return finish(rc, err);
}

enum herald_err mail_contact_update(struct store *st, struct mail_optin *optin, int64_t id,
                                    const struct mail_contact_input *in, struct herald_error *err)
{
    struct contact_tx *t = calloc(1, sizeof(*t));
    if (!t)
        return HERALD_ERR_NOMEM;
    if (err)
        memset(err, 0, sizeof(*err));
    *t = (struct contact_tx){.in = in, .id = id, .err = err};
    int rc = check_input(t, false);
    if (!rc)
        rc = store_run_tx(st, update_tx, t);
    if (!rc)
        queue_mails(optin, t);
    free(t);
    return finish(rc, err);
}

struct read_tx {
    int64_t id;
    struct store_contact *ct;
    struct store_subscription **subs;
    size_t *nsubs;
    const struct store_contact_filter *f;
    struct store_contact **rows;
    size_t *count;
};

static int get_tx(struct store_conn *c, void *arg)
{
    struct read_tx *t = arg;
    store_contact_clear(t->ct);
    store_subscriptions_free(*t->subs, *t->nsubs);
    *t->subs = NULL;
    *t->nsubs = 0;
    int rc = store_contact_get(c, t->id, t->ct);
    return rc ? rc : store_subscription_list(c, t->id, t->subs, t->nsubs);
}

enum herald_err mail_contact_get(struct store *st, int64_t id, struct store_contact *out,
                                 struct store_subscription **subs, size_t *nsubs)
{
    memset(out, 0, sizeof(*out));
    *subs = NULL;
    *nsubs = 0;
    struct read_tx t = {.id = id, .ct = out, .subs = subs, .nsubs = nsubs};
    int rc = store_run_read(st, get_tx, &t);
    if (rc) {
        store_contact_clear(out);
        store_subscriptions_free(*subs, *nsubs);
        *subs = NULL;
        *nsubs = 0;
    }
    return rc;
}

static int delete_tx(struct store_conn *c, void *arg)
{
    struct read_tx *t = arg;
    return store_contact_delete(c, t->id);
}

enum herald_err mail_contact_delete(struct store *st, int64_t id)
{
    struct read_tx t = {.id = id};
    return store_run_tx(st, delete_tx, &t);
}

static int list_tx(struct store_conn *c, void *arg)
{
    struct read_tx *t = arg;
    store_contacts_free(*t->rows, *t->count);
    *t->rows = NULL;
    *t->count = 0;
    return store_contact_list(c, t->f, t->rows, t->count);
}

enum herald_err mail_contact_list(struct store *st, const struct store_contact_filter *f,
                                  struct store_contact **out, size_t *count,
                                  struct herald_error *err)
{
    char email[MAIL_EMAIL_MAX], query[MAIL_EMAIL_MAX + MAIL_CONTACT_NAME_MAX];
    struct store_contact_filter nf = *f;
    *out = NULL;
    *count = 0;
    if (f->email && mail_email_normalize(f->email, email))
        return herald_error_set(err, HERALD_ERR_INVALID, "email", "email must be an address");
    if (f->status && !mail_contact_status_valid(f->status))
        return herald_error_set(err, HERALD_ERR_INVALID, "status",
                                "status must be \"enabled\" or \"blocklisted\"");
    if (f->query && strlen(f->query) >= sizeof(query))
        return herald_error_set(err, HERALD_ERR_INVALID, "query", "query is too long");
    if (f->email)
        nf.email = email;
    if (f->query) {
        size_t i = 0;
        for (; f->query[i]; i++)
            query[i] =
                (char)((f->query[i] >= 'A' && f->query[i] <= 'Z') ? f->query[i] + 32 : f->query[i]);
        query[i] = '\0';
        nf.query = query;
    }
    struct read_tx t = {.f = &nf, .rows = out, .count = count};
    return finish(store_run_read(st, list_tx, &t), err);
}

enum herald_err mail_contact_upsert_tx(struct store_conn *c, const struct mail_contact_input *in,
                                       int64_t *id, bool *created, int64_t *mails, size_t *nmails,
                                       struct herald_error *err)
{
    struct contact_tx *t = calloc(1, sizeof(*t));
    if (!t)
        return HERALD_ERR_NOMEM;
    if (err)
        memset(err, 0, sizeof(*err));
    *t = (struct contact_tx){.in = in, .upsert = true, .err = err};
    int rc = check_input(t, true);
    if (!rc)
        rc = create_tx(c, t);
    if (!rc) {
        *id = t->id;
        *created = t->created;
        *nmails = t->nmails;
        memcpy(mails, t->mails, t->nmails * sizeof(*mails));
    }
    free(t);
    return finish(rc, err);
}
