/* Rendering one recipient's message (sender_render.h): a campaign's compiled content, merge
 * tags, tracking, the footer with the postal address, list headers, VERP and DKIM. */
#include "mail/sender_render.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/template.h"
#include "mail/tracking.h"
#include "mail/transport.h"
#include "store/campaigns.h"

#define PART_MAX (8u << 20)

struct load_tx {
    int64_t id;
    struct store_campaign cp;
    char *t_subject, *t_html, *t_text;
};

static int load_tx(struct store_conn *c, void *arg)
{
    struct load_tx *t = arg;
    store_campaign_clear(&t->cp);
    free(t->t_subject);
    free(t->t_html);
    free(t->t_text);
    t->t_subject = t->t_html = t->t_text = NULL;
    int rc = store_campaign_get(c, t->id, &t->cp);
    bool snapshot = t->cp.html || t->cp.text; /* copied from the template when sending began */
    if (!rc && t->cp.template_id && !snapshot)
        rc = store_campaign_template(c, t->cp.template_id, &t->t_subject, &t->t_html, &t->t_text);
    return rc;
}

static int compile_part(const char *src, enum tmpl_mode mode, const char *field, struct tmpl **out,
                        unsigned *uses, struct herald_error *err)
{
    *out = NULL;
    if (!src || !*src)
        return HERALD_OK;
    int rc = tmpl_compile(src, mode, out, err);
    if (rc) {
        snprintf(err->field, sizeof(err->field), "%s", field);
        return rc;
    }
    *uses |= tmpl_uses(*out);
    return HERALD_OK;
}

static int content_fill(struct mail_campaign_content *m, struct load_tx *t,
                        struct herald_error *err)
{
    struct store_campaign *cp = &t->cp;
    m->campaign_id = cp->id;
    m->tracking = cp->tracking;
    if (!(m->name = strdup(cp->name)) || !(m->from_email = strdup(cp->from_email)) ||
        !(m->from_name = strdup(cp->from_name)) || !(m->reply_to = strdup(cp->reply_to)))
        return HERALD_ERR_NOMEM;
    const char *at = strrchr(cp->from_email, '@');
    snprintf(m->from_domain, sizeof(m->from_domain), "%s", at ? at + 1 : "localhost");
    const char *subject = *cp->subject || !t->t_subject ? cp->subject : t->t_subject;
    bool live = cp->template_id && !cp->html && !cp->text; /* no snapshot yet (a test send) */
    const char *html = live ? t->t_html : cp->html;
    const char *text = live ? t->t_text : cp->text;
    int rc = compile_part(subject, TMPL_HEADER, "subject", &m->subject, &m->uses, err);
    if (!rc)
        rc = compile_part(html, TMPL_HTML, "html", &m->html, &m->uses, err);
    if (!rc)
        rc = compile_part(text, TMPL_TEXT, "text", &m->text, &m->uses, err);
    if (!rc && !m->subject)
        rc = compile_part(" ", TMPL_HEADER, "subject", &m->subject, &m->uses, err);
    if (!rc && !m->html && !m->text)
        rc = herald_error_set(err, HERALD_ERR_INVALID, "html", "the campaign has no content");
    return rc;
}

enum herald_err mail_campaign_content_load(struct store *st, int64_t campaign_id,
                                           struct mail_campaign_content **out,
                                           struct herald_error *err)
{
    struct load_tx t = {.id = campaign_id};
    *out = NULL;
    int rc = store_run_read(st, load_tx, &t);
    struct mail_campaign_content *m = rc ? NULL : calloc(1, sizeof(*m));
    if (!rc && !m)
        rc = HERALD_ERR_NOMEM;
    if (!rc)
        rc = content_fill(m, &t, err);
    store_campaign_clear(&t.cp);
    free(t.t_subject);
    free(t.t_html);
    free(t.t_text);
    if (rc) {
        mail_campaign_content_free(m);
        return rc;
    }
    *out = m;
    return HERALD_OK;
}

void mail_campaign_content_free(struct mail_campaign_content *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->from_email);
    free(c->from_name);
    free(c->reply_to);
    tmpl_free(c->subject);
    tmpl_free(c->html);
    tmpl_free(c->text);
    free(c);
}

void mail_render_bufs_init(struct mail_render_bufs *b)
{
    memset(b, 0, sizeof(*b));
    buf_init(&b->subject, 64 * 1024);
    buf_init(&b->html, PART_MAX);
    buf_init(&b->html2, PART_MAX);
    buf_init(&b->text, PART_MAX);
    buf_init(&b->msg, MAIL_MESSAGE_MAX);
}

void mail_render_bufs_free(struct mail_render_bufs *b)
{
    buf_free(&b->subject);
    buf_free(&b->html);
    buf_free(&b->html2);
    buf_free(&b->text);
    buf_free(&b->msg);
}

/* The URLs and addresses of one message. */
struct links {
    char unsub_tok[MAIL_TOKEN_MAX], pref_tok[MAIL_TOKEN_MAX], bounce_tok[MAIL_TOKEN_MAX];
    char unsub_url[1200], pref_url[1200], mailto[MAIL_TOKEN_MAX + 300];
};

static void make_links(const struct mail_render_opts *o, const struct mail_campaign_content *c,
                       const struct mail_recipient *r, struct links *l, char *envelope,
                       size_t envelope_size)
{
    struct mail_token u = {MAIL_TOKEN_UNSUBSCRIBE, r->contact_id, c->campaign_id, r->list_id, 0};
    struct mail_token p = {MAIL_TOKEN_PREFERENCES, r->contact_id, 0, 0, 0};
    struct mail_token b = {MAIL_TOKEN_BOUNCE, r->contact_id, c->campaign_id, 0, 0};
    mail_token_make(o->keys, &u, NULL, l->unsub_tok);
    mail_token_make(o->keys, &p, NULL, l->pref_tok);
    mail_token_make(o->keys, &b, NULL, l->bounce_tok);
    snprintf(l->unsub_url, sizeof(l->unsub_url), "%s/unsubscribe/%s", o->public_url, l->unsub_tok);
    snprintf(l->pref_url, sizeof(l->pref_url), "%s/preferences/%s", o->public_url, l->pref_tok);
    /* Without a bounce domain nothing of ours receives mail: no mailto unsubscribe (it would
       reach the sender's own mailbox and be lost) and the From address as envelope sender. */
    l->mailto[0] = '\0';
    if (!o->bounce_domain || !*o->bounce_domain) {
        snprintf(envelope, envelope_size, "%s", c->from_email);
        return;
    }
    snprintf(l->mailto, sizeof(l->mailto), "mailto:unsubscribe+%s@%s", l->unsub_tok,
             o->bounce_domain);
    snprintf(envelope, envelope_size, "bounces+%s@%s", l->bounce_tok, o->bounce_domain);
}

static int html_footer(const struct mail_render_opts *o, const struct links *l, struct buf *out)
{
    int rc = buf_append_str(out, "<div style=\"margin-top:24px;font-size:12px;color:#666666\">");
    if (!rc)
        rc = buf_append_html(out, o->postal_address);
    if (!rc)
        rc = buf_printf(out,
                        "<br><a href=\"%s\">Unsubscribe</a> &middot; <a href=\"%s\">Email "
                        "preferences</a></div>",
                        l->unsub_url, l->pref_url);
    return rc;
}

/* Where the footer and pixel go: before the last </body>, else at the end. */
static size_t body_end(const char *html, size_t len)
{
    for (size_t i = len; i >= 7; i--)
        if (html[i - 7] == '<' && strncasecmp(html + i - 7, "</body", 6) == 0)
            return i - 7;
    return len;
}

static int render_html(const struct mail_render_opts *o, const struct mail_campaign_content *c,
                       const struct mail_recipient *r, const struct tmpl_vars *v,
                       const struct links *l, struct mail_render_bufs *b)
{
    buf_reset(&b->html);
    buf_reset(&b->html2);
    int rc = c->html ? tmpl_render(c->html, v, &b->html) : HERALD_OK;
    if (rc)
        return rc;
    const char *h = b->html.data ? b->html.data : "";
    size_t split = body_end(h, b->html.len);
    struct mail_tracking_link tl = {o->keys, o->public_url, c->campaign_id, r->contact_id};
    if (c->tracking)
        rc = mail_tracking_rewrite_links(&tl, h, split, &b->html2);
    else
        rc = buf_append(&b->html2, h, split);
    if (!rc)
        rc = html_footer(o, l, &b->html2);
    if (!rc && c->tracking)
        rc = mail_tracking_append_pixel(&tl, &b->html2);
    return rc ? rc : buf_append(&b->html2, h + split, b->html.len - split);
}

static int render_text(const struct mail_render_opts *o, const struct mail_campaign_content *c,
                       const struct tmpl_vars *v, const struct links *l, struct buf *out)
{
    buf_reset(out);
    int rc = c->text ? tmpl_render(c->text, v, out) : HERALD_OK;
    if (!rc)
        rc = buf_printf(out, "\n\n-- \n%s\nUnsubscribe: %s\nEmail preferences: %s\n",
                        o->postal_address, l->unsub_url, l->pref_url);
    return rc;
}

static int build(const struct mail_render_opts *o, const struct mail_campaign_content *c,
                 const struct mail_recipient *r, bool test, const struct links *l,
                 struct mail_render_bufs *b, struct herald_error *err)
{
    char feedback_id[64];
    snprintf(feedback_id, sizeof(feedback_id), "c%lld:herald", (long long)c->campaign_id);
    struct mime_header hdrs[] = {{"Feedback-ID", feedback_id}, {"X-Herald-Test", "1"}};
    struct mime_message m = {
        .from_email = c->from_email,
        .from_name = c->from_name,
        .to_email = r->email,
        .to_name = r->name,
        .reply_to = c->reply_to,
        .subject = b->subject.data ? b->subject.data : "",
        .html = c->html ? b->html2.data : NULL,
        .text = b->text.data,
        .message_id_domain = c->from_domain,
        .unsubscribe_url = l->unsub_url,
        .unsubscribe_mailto = l->mailto,
        .headers = hdrs,
        .n_headers = test ? 2 : 1,
    };
    buf_reset(&b->msg);
    return mail_transport_render(o->transport, &m, &b->msg, b->message_id, err);
}

enum herald_err mail_render_message(const struct mail_render_opts *o,
                                    const struct mail_campaign_content *c,
                                    const struct mail_recipient *r, bool test,
                                    struct mail_render_bufs *b, struct herald_error *err)
{
    struct links l;
    make_links(o, c, r, &l, b->envelope_from, sizeof(b->envelope_from));
    json_t *attrs = NULL;
    if ((c->uses & TMPL_USES_CONTACT) && r->attributes)
        attrs = json_loads(r->attributes, 0, NULL);
    struct tmpl_vars v = {r->name,     r->email,   json_is_object(attrs) ? attrs : NULL,
                          l.unsub_url, l.pref_url, c->name};
    buf_reset(&b->subject);
    int rc = test ? buf_append_str(&b->subject, "[Test] ") : HERALD_OK;
    if (!rc)
        rc = tmpl_render(c->subject, &v, &b->subject);
    for (size_t i = 0; !rc && i < b->subject.len; i++)
        if (b->subject.data[i] == '\r' || b->subject.data[i] == '\n')
            b->subject.data[i] = ' '; /* a value with a line break cannot end the header */
    if (!rc)
        rc = render_html(o, c, r, &v, &l, b);
    if (!rc)
        rc = render_text(o, c, &v, &l, &b->text);
    json_decref(attrs);
    return rc ? rc : build(o, c, r, test, &l, b, err);
}
