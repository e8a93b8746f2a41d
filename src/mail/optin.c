/* Double opt-in (mail/optin.h): the module, its "optin_mail" job kind (read the subscription,
 * build the confirmation message, send it with mail_transport_send()) and the signed link. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "jobs/jobs.h"
#include "mail/optin.h"
#include "mail/optin_internal.h"
#include "mail/transport.h"

/* The host of a URL ("https://user@host:port/path" → "host"). */
static void url_host(const char *url, char *out, size_t cap)
{
    const char *s = strstr(url, "://");
    s = s ? s + 3 : url;
    const char *at = strchr(s, '@'), *slash = strchr(s, '/');
    if (at && (!slash || at < slash))
        s = at + 1;
    size_t n = strcspn(s, ":/?#");
    snprintf(out, cap, "%.*s", (int)n, s);
}

static void resolve_from(const struct mail_optin_opts *o, char *out, size_t cap)
{
    char host[256];
    if (o->mail_from && *o->mail_from) {
        snprintf(out, cap, "%s", o->mail_from);
        return;
    }
    if (o->dkim_domain && *o->dkim_domain)
        snprintf(host, sizeof(host), "%s", o->dkim_domain);
    else
        url_host(o->public_url, host, sizeof(host));
    snprintf(out, cap, "noreply@%s", host);
}

void mail_optin_link(const struct mail_optin *o, int64_t contact_id, int64_t list_id, int64_t now_s,
                     char *out, size_t cap)
{
    struct mail_token t = {.kind = MAIL_TOKEN_CONFIRM,
                           .contact_id = contact_id,
                           .list_id = list_id,
                           .expires_s = now_s + (int64_t)o->token_hours * 3600};
    char token[MAIL_TOKEN_MAX];
    mail_token_make(o->keys, &t, NULL, token);
    snprintf(out, cap, "%s/subscription/confirm/%s", o->public_url, token);
}

/* Params: {"contactId": id, "listId": id}, both positive integers. */
static int validate(void *arg, json_t *raw, json_t **out, struct jobs_problem *problem)
{
    (void)arg;
    *out = NULL;
    const char *names[] = {"contactId", "listId"};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(raw, names[i]);
        if (!json_is_integer(v) || json_integer_value(v) <= 0) {
            snprintf(problem->field, sizeof(problem->field), "%s", names[i]);
            snprintf(problem->message, sizeof(problem->message), "%s must be a positive integer",
                     names[i]);
            return HERALD_ERR_INVALID;
        }
    }
    *out = json_pack("{s:O, s:O}", "contactId", json_object_get(raw, "contactId"), "listId",
                     json_object_get(raw, "listId"));
    return *out ? HERALD_OK : HERALD_ERR_NOMEM;
}

enum herald_err mail_optin_queue(struct mail_optin *o, int64_t contact_id, int64_t list_id)
{
    json_t *params =
        json_pack("{s:I, s:I}", "contactId", (json_int_t)contact_id, "listId", (json_int_t)list_id);
    if (!params)
        return HERALD_ERR_NOMEM;
    char id[40];
    struct jobs_problem problem;
    int rc = jobs_submit(o->jobs, MAIL_OPTIN_JOB_KIND, params, id, &problem);
    json_decref(params);
    return rc;
}

struct load_tx {
    int64_t contact_id, list_id;
    struct store_contact ct;
    struct store_subscription sub;
    bool found;
};

static int load_tx(struct store_conn *c, void *arg)
{
    struct load_tx *t = arg;
    store_contact_clear(&t->ct);
    store_subscription_clear(&t->sub);
    t->found = false;
    int rc = store_contact_get(c, t->contact_id, &t->ct);
    if (!rc)
        rc = store_subscription_get(c, t->contact_id, t->list_id, &t->sub);
    t->found = !rc;
    return rc == HERALD_ERR_NOT_FOUND ? HERALD_OK : rc;
}

/* The confirmation message's two parts. */
static int build_body(const struct load_tx *t, const char *link, struct buf *text, struct buf *html)
{
    const char *list = t->sub.list_name ? t->sub.list_name : "";
    int rc = buf_printf(text,
                        "Please confirm that you want to receive \"%s\" at %s.\r\n\r\n"
                        "Confirm: %s\r\n\r\nIf you did not ask for this, ignore this mail: "
                        "nothing will be sent to you.\r\n",
                        list, t->ct.email, link);
    rc = rc ? rc : buf_append_str(html, "<p>Please confirm that you want to receive &quot;");
    rc = rc ? rc : buf_append_html(html, list);
    rc = rc ? rc : buf_append_str(html, "&quot; at ");
    rc = rc ? rc : buf_append_html(html, t->ct.email);
    rc = rc ? rc : buf_append_str(html, ".</p><p><a href=\"");
    rc = rc ? rc : buf_append_html(html, link);
    rc = rc ? rc
            : buf_append_str(html, "\">Confirm my subscription</a></p><p>If you did not ask "
                                   "for this, ignore this mail: nothing will be sent to "
                                   "you.</p>");
    return rc;
}

/* Builds and sends the mail; fails the job permanently for what a retry cannot fix. */
static int send_mail(struct jobs_ctx *ctx, struct mail_optin *o, const struct load_tx *t)
{
    struct mail_transport *tr = *o->transport;
    if (!mail_transport_configured(tr)) {
        jobs_ctx_fail(ctx, true,
                      "sending is not configured (HERALD_SMTP_URL): the confirmation "
                      "mail cannot be sent, the subscription stays unconfirmed");
        return HERALD_ERR_SENDING_NOT_CONFIGURED;
    }
    char link[1400], subject[200];
    mail_optin_link(o, t->contact_id, t->list_id, clock_now_ms() / 1000, link, sizeof(link));
    snprintf(subject, sizeof(subject), "Please confirm your subscription to %.150s",
             t->sub.list_name ? t->sub.list_name : "");
    struct buf text, html;
    buf_init(&text, 1 << 16);
    buf_init(&html, 1 << 16);
    int rc = build_body(t, link, &text, &html);
    struct mime_header auto_sub = {"Auto-Submitted", "auto-generated"};
    struct mime_message m = {.from_email = o->from,
                             .to_email = t->ct.email,
                             .to_name = t->ct.name,
                             .subject = subject,
                             .text = text.data,
                             .html = html.data,
                             .headers = &auto_sub,
                             .n_headers = 1};
    struct smtp_result res = {0};
    struct herald_error err = {0};
    if (!rc)
        rc = mail_transport_send(tr, &m, NULL, t->ct.email, &res, &err);
    if (rc == HERALD_ERR_SMTP)
        jobs_ctx_fail(ctx, res.status == SMTP_PERMANENT, "the relay refused the mail: %s",
                      res.error);
    else if (rc)
        jobs_ctx_fail(ctx, rc == HERALD_ERR_INVALID, "cannot send the mail: %s",
                      herald_error_message(&err));
    buf_free(&text);
    buf_free(&html);
    return rc;
}

/* Nothing to send when the subscription is gone or no longer waits, or when the contact may
 * not be mailed at all (blocklisted, bounced, complained). */
static bool should_send(const struct load_tx *t)
{
    return t->found && strcmp(t->sub.status, "unconfirmed") == 0 &&
           strcmp(t->ct.status, "enabled") == 0 && strcmp(t->ct.delivery, "ok") == 0;
}

static int run(struct jobs_ctx *ctx)
{
    struct mail_optin *o = jobs_ctx_arg(ctx);
    json_t *p = jobs_ctx_params(ctx);
    struct load_tx t = {
        .contact_id = (int64_t)json_integer_value(json_object_get(p, "contactId")),
        .list_id = (int64_t)json_integer_value(json_object_get(p, "listId")),
    };
    int rc = store_run_read(o->st, load_tx, &t);
    if (!rc && should_send(&t))
        rc = send_mail(ctx, o, &t);
    else if (!rc)
        log_info("no confirmation mail due",
                 json_pack("{s:s, s:I, s:I}", "job_id", jobs_ctx_id(ctx), "contact_id",
                           (json_int_t)t.contact_id, "list_id", (json_int_t)t.list_id));
    store_contact_clear(&t.ct);
    store_subscription_clear(&t.sub);
    return rc;
}

static const struct jobs_kind optin_kind = {
    .name = MAIL_OPTIN_JOB_KIND,
    .validate = validate,
    .run = run,
};

enum herald_err mail_optin_start(const struct mail_optin_opts *opts, struct mail_optin **out)
{
    struct mail_optin *o = calloc(1, sizeof(*o));
    if (!o)
        return HERALD_ERR_NOMEM;
    o->st = opts->st;
    o->jobs = opts->jobs;
    o->keys = opts->keys;
    o->token_hours = opts->token_hours;
    o->transport = opts->transport;
    snprintf(o->public_url, sizeof(o->public_url), "%s", opts->public_url);
    size_t n = strlen(o->public_url);
    while (n > 0 && o->public_url[n - 1] == '/')
        o->public_url[--n] = '\0';
    resolve_from(opts, o->from, sizeof(o->from));
    int rc = jobs_register(o->jobs, &optin_kind, o);
    if (rc) {
        free(o);
        return rc;
    }
    *out = o;
    return HERALD_OK;
}

void mail_optin_free(struct mail_optin *o)
{
    free(o);
}
