/* Unsubscribes and preferences (unsubscribe.h): token checks, the subscription and contact
 * changes with their feedback rows and events in one transaction, and form-body decoding. */
#include "mail/unsubscribe.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/events.h"
#include "store/feedback.h"

static enum herald_err read_token(const struct mail_keyring *keys, enum mail_token_kind kind,
                                  const char *token, int64_t now_ms, struct mail_token *t)
{
    if (!token || strlen(token) >= MAIL_TOKEN_MAX)
        return HERALD_ERR_TOKEN_INVALID;
    enum herald_err rc = mail_token_parse(keys, kind, token, NULL, now_ms / 1000, t);
    if (!rc && t->contact_id <= 0)
        rc = HERALD_ERR_TOKEN_INVALID;
    return rc;
}

/* Records one unsubscribe that changed something: the feedback row and the event. `scope` is
 * the list ids it covered ("3" or "3,5"), or "all" for the global opt-out. */
static enum herald_err record_unsub(struct store_conn *c, const struct store_fb_contact *ct,
                                    int64_t campaign_id, const char *scope, const char *via,
                                    int64_t now_ms)
{
    int64_t queue_id = 0;
    char qstatus[16], source[96], detail[320];
    snprintf(detail, sizeof(detail), "%s list:%s", via, scope);
    enum herald_err rc = store_feedback_queue_row(c, campaign_id, ct->id, &queue_id, qstatus);
    if (!rc)
        rc = store_feedback_insert(c, campaign_id, ct->id, queue_id, "unsubscribe", NULL, detail,
                                   now_ms);
    if (rc)
        return rc;
    if (queue_id > 0)
        snprintf(source, sizeof(source), "%" PRId64, queue_id);
    else
        snprintf(source, sizeof(source), "pref:%" PRId64 ":%s", ct->id, scope);
    char payload[400];
    snprintf(payload, sizeof(payload), "{\"contactId\":%" PRId64 ",\"list\":\"%s\",\"via\":\"%s\"}",
             ct->id, scope, via);
    struct mail_event ev = {MAIL_EV_UNSUBSCRIBED, campaign_id, ct->email, source, now_ms, payload};
    return mail_events_insert(c, &ev, 1, now_ms);
}

static enum herald_err record_list_unsub(struct store_conn *c, const struct store_fb_contact *ct,
                                         int64_t campaign_id, int64_t list_id, const char *via,
                                         int64_t now_ms)
{
    char scope[32];
    if (list_id > 0)
        snprintf(scope, sizeof(scope), "%" PRId64, list_id);
    else
        snprintf(scope, sizeof(scope), "all");
    return record_unsub(c, ct, campaign_id, scope, via, now_ms);
}

struct unsub_op {
    struct mail_token t;
    int64_t now_ms;
    const char *via;
    struct mail_unsub_view *view; /* what the token covers (view: read only) */
    bool changed;
};

/* Appends a list's name to v->lists (", "-joined, truncated to fit). */
static void view_add_list(struct mail_unsub_view *v, const char *name)
{
    size_t used = strlen(v->lists);
    if (used + 3 < sizeof(v->lists))
        snprintf(v->lists + used, sizeof(v->lists) - used, "%s%s", used ? ", " : "", name);
    v->nlists++;
}

static void view_start(struct mail_unsub_view *v, const struct mail_token *t,
                       const struct store_fb_contact *ct)
{
    memset(v, 0, sizeof(*v));
    v->contact_id = ct->id;
    v->campaign_id = t->campaign_id;
    v->list_id = t->list_id;
    snprintf(v->email, sizeof(v->email), "%s", ct->email);
    v->already = ct->unsubscribed_at_ms != 0;
}

/* The subscriptions a list token covers: its list and, when it names a campaign, every list of
 * that campaign (the contact may have qualified through several). */
static int token_subs(struct store_conn *c, const struct mail_token *t, struct store_fb_sub **subs,
                      size_t *n)
{
    return store_feedback_token_subscriptions(c, t->contact_id, t->campaign_id, t->list_id, subs,
                                              n);
}

static int view_tx(struct store_conn *c, void *arg)
{
    struct unsub_op *op = arg;
    struct mail_unsub_view *v = op->view;
    struct store_fb_contact ct;
    int rc = store_feedback_contact_get(c, op->t.contact_id, &ct);
    if (rc)
        return rc;
    view_start(v, &op->t, &ct);
    if (op->t.list_id <= 0 || v->already)
        return HERALD_OK;
    struct store_fb_sub *subs = NULL;
    size_t n = 0;
    rc = token_subs(c, &op->t, &subs, &n);
    for (size_t i = 0; !rc && i < n; i++)
        if (strcmp(subs[i].status, "unsubscribed") != 0)
            view_add_list(v, subs[i].name);
    store_feedback_subs_free(subs, n);
    v->already = v->nlists == 0;
    return rc;
}

enum herald_err mail_unsubscribe_view(struct store *st, const struct mail_keyring *keys,
                                      const char *token, int64_t now_ms,
                                      struct mail_unsub_view *out)
{
    struct unsub_op op = {.now_ms = now_ms, .view = out};
    enum herald_err rc = read_token(keys, MAIL_TOKEN_UNSUBSCRIBE, token, now_ms, &op.t);
    return rc ? rc : store_run_read(st, view_tx, &op);
}

/* Unsubscribes from every list the token covers; one feedback row and one event name them. */
static int apply_lists(struct store_conn *c, struct unsub_op *op, const struct store_fb_contact *ct)
{
    struct store_fb_sub *subs = NULL;
    size_t n = 0, used = 0;
    char scope[256] = "";
    int rc = token_subs(c, &op->t, &subs, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        bool changed = false;
        rc = store_feedback_unsubscribe_list(c, ct->id, subs[i].list_id, op->now_ms, &changed);
        view_add_list(op->view, subs[i].name);
        if (rc || !changed)
            continue;
        op->changed = true;
        if (used + 24 < sizeof(scope))
            used += (size_t)snprintf(scope + used, sizeof(scope) - used, "%s%" PRId64,
                                     used ? "," : "", subs[i].list_id);
    }
    store_feedback_subs_free(subs, n);
    if (!rc && op->changed)
        rc = record_unsub(c, ct, op->t.campaign_id, scope, op->via, op->now_ms);
    return rc;
}

static int apply_tx(struct store_conn *c, void *arg)
{
    struct unsub_op *op = arg;
    struct store_fb_contact ct;
    op->changed = false;
    int rc = store_feedback_contact_get(c, op->t.contact_id, &ct);
    if (rc)
        return rc;
    view_start(op->view, &op->t, &ct);
    if (op->t.list_id > 0)
        rc = apply_lists(c, op, &ct);
    else {
        rc = store_feedback_set_global_unsubscribe(c, ct.id, true, op->now_ms, &op->changed);
        if (!rc && op->changed)
            rc = record_list_unsub(c, &ct, op->t.campaign_id, 0, op->via, op->now_ms);
    }
    op->view->already = !op->changed;
    return rc;
}

enum herald_err mail_unsubscribe_apply(struct store *st, const struct mail_keyring *keys,
                                       const char *token, int64_t now_ms, bool *changed,
                                       struct mail_unsub_view *out)
{
    struct mail_unsub_view scratch;
    struct unsub_op op = {.now_ms = now_ms, .via = "link", .view = out ? out : &scratch};
    enum herald_err rc = read_token(keys, MAIL_TOKEN_UNSUBSCRIBE, token, now_ms, &op.t);
    if (!rc)
        rc = store_run_tx(st, apply_tx, &op);
    if (changed)
        *changed = !rc && op.changed;
    return rc;
}

/* ---- preferences ---- */

struct prefs_op {
    struct mail_token t;
    int64_t now_ms;
    struct mail_prefs *out;
    const int64_t *keep;
    size_t nkeep;
    bool all;
};

void mail_prefs_free(struct mail_prefs *p)
{
    for (size_t i = 0; p->lists && i < p->nlists; i++) {
        free(p->lists[i].name);
        free(p->lists[i].description);
    }
    free(p->lists);
    p->lists = NULL;
    p->nlists = 0;
}

static int prefs_get_tx(struct store_conn *c, void *arg)
{
    struct prefs_op *op = arg;
    struct mail_prefs *p = op->out;
    struct store_fb_contact ct;
    mail_prefs_free(p);
    int rc = store_feedback_contact_get(c, op->t.contact_id, &ct);
    if (rc)
        return rc;
    p->contact_id = ct.id;
    snprintf(p->email, sizeof(p->email), "%s", ct.email);
    p->unsubscribed_all = ct.unsubscribed_at_ms != 0;
    struct store_fb_sub *subs = NULL;
    size_t n = 0;
    rc = store_feedback_subscriptions(c, ct.id, &subs, &n);
    if (rc)
        return rc;
    /* Same layout: take the rows over. */
    p->lists = n ? calloc(n, sizeof(*p->lists)) : NULL;
    if (n && !p->lists) {
        store_feedback_subs_free(subs, n);
        return HERALD_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        p->lists[i] =
            (struct mail_pref_list){subs[i].list_id, subs[i].name, subs[i].description, ""};
        memcpy(p->lists[i].status, subs[i].status, sizeof(p->lists[i].status));
        subs[i].name = subs[i].description = NULL;
    }
    p->nlists = n;
    store_feedback_subs_free(subs, n);
    return HERALD_OK;
}

enum herald_err mail_preferences_get(struct store *st, const struct mail_keyring *keys,
                                     const char *token, int64_t now_ms, struct mail_prefs *out)
{
    memset(out, 0, sizeof(*out));
    struct prefs_op op = {.now_ms = now_ms, .out = out};
    enum herald_err rc = read_token(keys, MAIL_TOKEN_PREFERENCES, token, now_ms, &op.t);
    if (!rc)
        rc = store_run_read(st, prefs_get_tx, &op);
    if (rc)
        mail_prefs_free(out);
    return rc;
}

static bool kept(const struct prefs_op *op, int64_t list_id)
{
    for (size_t i = 0; i < op->nkeep; i++)
        if (op->keep[i] == list_id)
            return true;
    return false;
}

/* One list of the form: unsubscribed when unticked, confirmed again when ticked again. */
static int apply_list(struct store_conn *c, const struct prefs_op *op,
                      const struct store_fb_contact *ct, const struct store_fb_sub *s)
{
    bool changed = false, keep = kept(op, s->list_id);
    bool is_unsub = strcmp(s->status, "unsubscribed") == 0;
    if (!keep && !is_unsub) {
        int rc = store_feedback_unsubscribe_list(c, ct->id, s->list_id, op->now_ms, &changed);
        return rc || !changed ? rc
                              : record_list_unsub(c, ct, 0, s->list_id, "preferences", op->now_ms);
    }
    if (keep && is_unsub)
        return store_feedback_resubscribe_list(c, ct->id, s->list_id, "preferences page",
                                               op->now_ms, &changed);
    return HERALD_OK;
}

static int prefs_apply_tx(struct store_conn *c, void *arg)
{
    struct prefs_op *op = arg;
    struct store_fb_contact ct;
    struct store_fb_sub *subs = NULL;
    size_t n = 0;
    bool changed = false;
    int rc = store_feedback_contact_get(c, op->t.contact_id, &ct);
    if (!rc)
        rc = store_feedback_subscriptions(c, ct.id, &subs, &n);
    for (size_t i = 0; !rc && i < n; i++)
        rc = apply_list(c, op, &ct, &subs[i]);
    store_feedback_subs_free(subs, n);
    if (!rc)
        rc = store_feedback_set_global_unsubscribe(c, ct.id, op->all, op->now_ms, &changed);
    if (!rc && changed && op->all)
        rc = record_list_unsub(c, &ct, 0, 0, "preferences", op->now_ms);
    return rc;
}

enum herald_err mail_preferences_apply(struct store *st, const struct mail_keyring *keys,
                                       const char *token, const int64_t *keep, size_t nkeep,
                                       bool all, int64_t now_ms)
{
    struct prefs_op op = {.now_ms = now_ms, .keep = keep, .nkeep = nkeep, .all = all};
    enum herald_err rc = read_token(keys, MAIL_TOKEN_PREFERENCES, token, now_ms, &op.t);
    return rc ? rc : store_run_tx(st, prefs_apply_tx, &op);
}

/* ---- form bodies ---- */

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Decodes body[from, to) into out (truncated to fit). */
static void form_decode(const char *body, size_t from, size_t to, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = from; i < to && n + 1 < size; i++) {
        char ch = body[i];
        if (ch == '+')
            ch = ' ';
        else if (ch == '%' && i + 2 < to && hexval(body[i + 1]) >= 0 && hexval(body[i + 2]) >= 0) {
            ch = (char)(hexval(body[i + 1]) * 16 + hexval(body[i + 2]));
            i += 2;
        }
        out[n++] = ch == '\0' ? ' ' : ch;
    }
    out[n] = '\0';
}

bool mail_form_next(const char *body, size_t len, size_t *pos, char *name, size_t name_size,
                    char *value, size_t value_size)
{
    while (*pos < len && body[*pos] == '&')
        (*pos)++;
    if (*pos >= len)
        return false;
    size_t start = *pos, end = start, eq;
    while (end < len && body[end] != '&')
        end++;
    for (eq = start; eq < end && body[eq] != '='; eq++)
        ;
    form_decode(body, start, eq, name, name_size);
    form_decode(body, eq < end ? eq + 1 : end, end, value, value_size);
    *pos = end;
    return true;
}
