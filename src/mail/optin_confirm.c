/* Double opt-in (mail/optin.h): what a confirmation token names, confirming it, and the public
 * form's signups (unconfirmed subscriptions to double opt-in lists, then the mails). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "mail/optin.h"
#include "mail/optin_internal.h"

#define FORM_LISTS_MAX 20
#define FORM_RESEND_MS (10 * 60 * 1000)

struct confirm_tx {
    struct mail_token tok;
    bool write;
    struct mail_optin_target *out;
};

/* Reads what the token names; HERALD_ERR_TOKEN_INVALID when it no longer exists, CONFLICT
 * when the subscription was unsubscribed meanwhile. With t->write, confirms it. */
static int confirm_tx(struct store_conn *c, void *arg)
{
    struct confirm_tx *t = arg;
    struct store_contact ct;
    struct store_subscription sub;
    int rc = store_contact_get(c, t->tok.contact_id, &ct);
    if (rc)
        return rc == HERALD_ERR_NOT_FOUND ? HERALD_ERR_TOKEN_INVALID : rc;
    rc = store_subscription_get(c, t->tok.contact_id, t->tok.list_id, &sub);
    if (rc) {
        store_contact_clear(&ct);
        return rc == HERALD_ERR_NOT_FOUND ? HERALD_ERR_TOKEN_INVALID : rc;
    }
    struct mail_optin_target *o = t->out;
    o->contact_id = ct.id;
    o->list_id = sub.list_id;
    snprintf(o->email, sizeof(o->email), "%s", ct.email);
    snprintf(o->list_name, sizeof(o->list_name), "%s", sub.list_name ? sub.list_name : "");
    o->confirmed = strcmp(sub.status, "confirmed") == 0;
    if (strcmp(sub.status, "unsubscribed") == 0)
        rc = HERALD_ERR_CONFLICT;
    bool changed = false;
    int64_t now = clock_now_ms();
    if (!rc && t->write)
        rc = store_subscription_confirm(c, ct.id, sub.list_id, now, &changed);
    /* A signup made after a global opt-out is a new, confirmed consent: it lifts the opt-out. */
    if (!rc && changed && ct.unsubscribed_at_ms && sub.consent_at_ms > ct.unsubscribed_at_ms) {
        ct.unsubscribed_at_ms = 0;
        rc = store_contact_update(c, &ct, now);
    }
    if (!rc && t->write)
        o->confirmed = true;
    store_contact_clear(&ct);
    store_subscription_clear(&sub);
    return rc;
}

static int run_confirm(struct mail_optin *o, const char *token, bool write,
                       struct mail_optin_target *out)
{
    memset(out, 0, sizeof(*out));
    struct confirm_tx t = {.write = write, .out = out};
    int rc =
        mail_token_parse(o->keys, MAIL_TOKEN_CONFIRM, token, NULL, clock_now_ms() / 1000, &t.tok);
    if (rc)
        return rc;
    if (t.tok.contact_id <= 0 || t.tok.list_id <= 0)
        return HERALD_ERR_TOKEN_INVALID;
    return write ? store_run_tx(o->st, confirm_tx, &t) : store_run_read(o->st, confirm_tx, &t);
}

enum herald_err mail_optin_check(struct mail_optin *o, const char *token,
                                 struct mail_optin_target *out)
{
    return run_confirm(o, token, false, out);
}

enum herald_err mail_optin_confirm(struct mail_optin *o, const char *token,
                                   struct mail_optin_target *out)
{
    int rc = run_confirm(o, token, true, out);
    if (!rc)
        log_info("subscription confirmed",
                 json_pack("{s:I, s:I}", "contact_id", (json_int_t)out->contact_id, "list_id",
                           (json_int_t)out->list_id));
    return rc;
}

struct form_tx {
    const struct mail_optin_form *f;
    char email[MAIL_EMAIL_MAX];
    char name[MAIL_CONTACT_NAME_MAX + 1];
    int64_t mails[FORM_LISTS_MAX];
    size_t nmails;
    int64_t contact_id;
    struct herald_error *err;
};

static int check_form(struct form_tx *t)
{
    const struct mail_optin_form *f = t->f;
    if (mail_email_normalize(f->email, t->email))
        return herald_error_set(t->err, HERALD_ERR_INVALID, "email",
                                "email must be a valid address");
    size_t n = 0;
    const char *s = f->name ? mail_text_trim(f->name, &n) : "";
    if (n > MAIL_CONTACT_NAME_MAX || !mail_text_ok(s, n, false))
        return herald_error_set(t->err, HERALD_ERR_INVALID, "name",
                                "name must be at most %d bytes of text on one line",
                                MAIL_CONTACT_NAME_MAX);
    memcpy(t->name, s, n);
    t->name[n] = '\0';
    if (f->consent_text && (strlen(f->consent_text) > MAIL_CONSENT_TEXT_MAX ||
                            !mail_text_ok(f->consent_text, strlen(f->consent_text), true)))
        return herald_error_set(t->err, HERALD_ERR_INVALID, "consentText",
                                "consentText must be at most %d bytes of text",
                                MAIL_CONSENT_TEXT_MAX);
    if (f->nlists == 0 || f->nlists > FORM_LISTS_MAX)
        return herald_error_set(t->err, HERALD_ERR_INVALID, "lists",
                                "name 1 to %d lists to subscribe to", FORM_LISTS_MAX);
    return HERALD_OK;
}

/* Every list named must exist and be double opt-in: anonymous signups are always confirmed
 * by mail. */
static int check_lists_tx(struct store_conn *c, struct form_tx *t)
{
    for (size_t i = 0; i < t->f->nlists; i++) {
        char optin[8] = "";
        int rc = t->f->lists[i] > 0 ? store_list_optin(c, t->f->lists[i], optin) : 0;
        if (rc && rc != HERALD_ERR_NOT_FOUND)
            return rc;
        if (strcmp(optin, "double") != 0) {
            char field[32];
            snprintf(field, sizeof(field), "lists[%zu]", i);
            return herald_error_set(t->err, HERALD_ERR_INVALID, field,
                                    "no list with this id takes signups from the form");
        }
    }
    return HERALD_OK;
}

/* True when the subscription already waits for a confirmation asked less than
 * FORM_RESEND_MS ago: the form sends no second mail then (nobody can flood an address by
 * signing it up over and over from many IPs). */
static int recently_asked(struct store_conn *c, int64_t contact_id, int64_t list_id, int64_t now,
                          bool *recent)
{
    struct store_subscription s;
    *recent = false;
    int rc = contact_id ? store_subscription_get(c, contact_id, list_id, &s) : HERALD_ERR_NOT_FOUND;
    if (rc)
        return rc == HERALD_ERR_NOT_FOUND ? HERALD_OK : rc;
    *recent = strcmp(s.status, "unconfirmed") == 0 && s.consent_at_ms > now - FORM_RESEND_MS;
    store_subscription_clear(&s);
    return HERALD_OK;
}

static int form_tx(struct store_conn *c, void *arg)
{
    struct form_tx *t = arg;
    int64_t now = clock_now_ms();
    t->nmails = 0;
    int rc = check_lists_tx(c, t);
    struct store_contact ct;
    if (!rc && !(rc = store_contact_find_by_email(c, t->email, &ct))) {
        t->contact_id = ct.id; /* an existing contact keeps its name and attributes */
        store_contact_clear(&ct);
    } else if (rc == HERALD_ERR_NOT_FOUND) {
        struct store_contact nc = {.email = t->email, .name = t->name, .attributes = "{}"};
        snprintf(nc.status, sizeof(nc.status), "enabled");
        snprintf(nc.delivery, sizeof(nc.delivery), "ok");
        rc = store_contact_insert(c, &nc, now, &t->contact_id);
    }
    struct mail_consent consent = {"form", t->f->ip, t->f->consent_text, true};
    for (size_t i = 0; !rc && i < t->f->nlists; i++) {
        bool mail = false, recent = false;
        rc = recently_asked(c, t->contact_id, t->f->lists[i], now, &recent);
        if (!rc && !recent)
            rc = mail_subscription_add_tx(c, t->contact_id, t->f->lists[i], &consent, now, &mail);
        if (!rc && mail)
            t->mails[t->nmails++] = t->f->lists[i];
    }
    return rc;
}

enum herald_err mail_optin_form_subscribe(struct mail_optin *o, const struct mail_optin_form *f,
                                          struct herald_error *err)
{
    struct form_tx t = {.f = f, .err = err};
    if (err)
        memset(err, 0, sizeof(*err));
    int rc = check_form(&t);
    if (!rc)
        rc = store_run_tx(o->st, form_tx, &t);
    if (rc == HERALD_ERR_DUPLICATE) /* the same email signed up at the same moment: now found */
        rc = store_run_tx(o->st, form_tx, &t);
    for (size_t i = 0; !rc && i < t.nmails; i++) {
        int qrc = mail_optin_queue(o, t.contact_id, t.mails[i]);
        if (qrc)
            log_error("cannot queue a confirmation mail",
                      json_pack("{s:I, s:I, s:s}", "contact_id", (json_int_t)t.contact_id,
                                "list_id", (json_int_t)t.mails[i], "error", herald_strerror(qrc)));
    }
    if (rc && err && err->code != rc)
        herald_error_set(err, rc, NULL, NULL);
    return rc;
}
