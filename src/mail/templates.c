/* Templates, the domain: validating and preparing subject, HTML and text (tag check, sanitising,
 * the generated text part), CRUD over store/templates, and rendering for previews and sends. */
#include "mail/templates.h"

#include <stdlib.h>
#include <string.h>

#include "mail/html_parse.h"
#include "mail/html_text.h"
#include "mail/sanitize.h"

void mail_content_clear(struct mail_content *c)
{
    if (!c)
        return;
    free(c->subject);
    free(c->html);
    free(c->text);
    memset(c, 0, sizeof(*c));
}

/* NULL when s is valid UTF-8 without control characters (tab, LF, CR allowed when `lines`),
 * else what is wrong with it. */
static const char *tpl_text_problem(const char *s, size_t len, bool lines)
{
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && !(lines && (c == '\t' || c == '\n' || c == '\r'))) || c == 0x7f)
            return lines ? "contains a control character"
                         : "contains a line break or control "
                           "character";
        size_t n = html_utf8_len(s + i, len - i);
        if (n == 0)
            return "is not valid UTF-8";
        i += n;
    }
    return NULL;
}

/* Checks a field's merge tags, naming the field in the error. */
static enum herald_err tpl_check_tags(const char *field, const char *src, enum tmpl_mode mode,
                                      struct herald_error *err)
{
    struct herald_error e = {0};
    enum herald_err rc = tmpl_check(src, mode, &e);
    if (rc)
        return herald_error_set(err, rc, field, "%s: %s", field, herald_error_message(&e));
    return HERALD_OK;
}

static enum herald_err tpl_check_subject(const char *subject, struct herald_error *err)
{
    size_t len = subject ? strlen(subject) : 0;
    if (len == 0)
        return herald_error_set(err, HERALD_ERR_INVALID, "subject", "subject is required");
    if (len > MAIL_TEMPLATE_SUBJECT_MAX)
        return herald_error_set(err, HERALD_ERR_INVALID, "subject",
                                "subject must be at most %d bytes", MAIL_TEMPLATE_SUBJECT_MAX);
    const char *bad = tpl_text_problem(subject, len, false);
    if (bad)
        return herald_error_set(err, HERALD_ERR_INVALID, "subject", "subject %s", bad);
    return tpl_check_tags("subject", subject, TMPL_TEXT, err);
}

static enum herald_err tpl_check_body(const char *field, const char *s, enum tmpl_mode mode,
                                      struct herald_error *err)
{
    size_t len = strlen(s);
    if (len > MAIL_TEMPLATE_BODY_MAX)
        return herald_error_set(err, HERALD_ERR_INVALID, field, "%s must be at most %u bytes",
                                field, MAIL_TEMPLATE_BODY_MAX);
    const char *bad = tpl_text_problem(s, len, true);
    if (bad)
        return herald_error_set(err, HERALD_ERR_INVALID, field, "%s %s", field, bad);
    return tpl_check_tags(field, s, mode, err);
}

/* Sanitises html into out->html and, when text is empty, generates out->text from it. */
static enum herald_err tpl_bodies(const char *html, const char *text, struct mail_content *out,
                                  struct herald_error *err)
{
    enum herald_err rc = mail_sanitize_html(html, strlen(html), &out->html, NULL);
    if (rc)
        return herald_error_set(err, rc, "html", "html could not be sanitised: %s",
                                herald_strerror(rc));
    rc = tpl_check_tags("html", out->html, TMPL_HTML, err); /* a tag the parser changed */
    if (rc)
        return rc;
    if (*text) {
        out->text = strdup(text);
        return out->text ? HERALD_OK : HERALD_ERR_NOMEM;
    }
    struct buf b;
    buf_init(&b, MAIL_TEMPLATE_BODY_MAX * 2);
    rc = mail_html_to_text(out->html, strlen(out->html), &b);
    if (!rc)
        rc = buf_steal(&b, &out->text, NULL);
    buf_free(&b);
    if (!rc && !*out->text)
        rc = herald_error_set(err, HERALD_ERR_INVALID, "html",
                              "html has no text left once sanitised, and no text was given");
    if (!rc)
        rc = tpl_check_tags("text", out->text, TMPL_TEXT, err);
    out->text_generated = true;
    return rc;
}

enum herald_err mail_content_prepare(const char *subject, const char *html, const char *text,
                                     struct mail_content *out, struct herald_error *err)
{
    memset(out, 0, sizeof(*out));
    html = html ? html : "";
    text = text ? text : "";
    enum herald_err rc = tpl_check_subject(subject, err);
    if (!rc && !*html && !*text)
        rc = herald_error_set(err, HERALD_ERR_INVALID, "html", "html or text is required");
    if (!rc)
        rc = tpl_check_body("html", html, TMPL_HTML, err);
    if (!rc)
        rc = tpl_check_body("text", text, TMPL_TEXT, err);
    if (!rc) {
        out->subject = strdup(subject);
        rc = out->subject ? tpl_bodies(html, text, out, err) : HERALD_ERR_NOMEM;
    }
    if (rc)
        mail_content_clear(out);
    return rc;
}

void mail_compiled_clear(struct mail_compiled *c)
{
    if (!c)
        return;
    tmpl_free(c->subject);
    tmpl_free(c->html);
    tmpl_free(c->text);
    memset(c, 0, sizeof(*c));
}

enum herald_err mail_compile(const char *subject, const char *html, const char *text,
                             struct mail_compiled *out, struct herald_error *err)
{
    memset(out, 0, sizeof(*out));
    struct herald_error e = {0};
    const char *field = "subject";
    enum herald_err rc = tmpl_compile(subject ? subject : "", TMPL_TEXT, &out->subject, &e);
    if (!rc && html && *html) {
        field = "html";
        rc = tmpl_compile(html, TMPL_HTML, &out->html, &e);
    }
    if (!rc) {
        field = "text";
        rc = tmpl_compile(text ? text : "", TMPL_TEXT, &out->text, &e);
    }
    if (rc) {
        mail_compiled_clear(out);
        return herald_error_set(err, rc, field, "%s: %s", field, herald_error_message(&e));
    }
    return HERALD_OK;
}

enum herald_err mail_compiled_render(const struct mail_compiled *c, const struct tmpl_vars *vars,
                                     struct buf *subject, struct buf *html, struct buf *text)
{
    enum herald_err rc = tmpl_render(c->subject, vars, subject);
    if (!rc && html && c->html)
        rc = tmpl_render(c->html, vars, html);
    return rc ? rc : tmpl_render(c->text, vars, text);
}

enum herald_err mail_template_render(const struct store_template *t, const struct tmpl_vars *vars,
                                     struct buf *subject, struct buf *html, struct buf *text,
                                     struct herald_error *err)
{
    struct mail_compiled c;
    enum herald_err rc = mail_compile(t->subject, t->html, t->text, &c, err);
    if (rc)
        return rc;
    rc = mail_compiled_render(&c, vars, subject, html, text);
    mail_compiled_clear(&c);
    return rc;
}

/* ---- CRUD ---- */

/* Trims the name into *out (malloc'd) and checks it. */
static enum herald_err tpl_name(const char *name, char **out, struct herald_error *err)
{
    const char *s = name ? name : "";
    size_t len = strlen(s);
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0)
        return herald_error_set(err, HERALD_ERR_INVALID, "name", "name is required");
    if (len > MAIL_TEMPLATE_NAME_MAX)
        return herald_error_set(err, HERALD_ERR_INVALID, "name", "name must be at most %d bytes",
                                MAIL_TEMPLATE_NAME_MAX);
    const char *bad = tpl_text_problem(s, len, false);
    if (bad)
        return herald_error_set(err, HERALD_ERR_INVALID, "name", "name %s", bad);
    *out = strndup(s, len);
    return *out ? HERALD_OK : HERALD_ERR_NOMEM;
}

/* Moves prepared content into a row. */
static void tpl_take(struct store_template *t, struct mail_content *c)
{
    t->subject = c->subject;
    t->html = c->html;
    t->text = c->text;
    t->text_generated = c->text_generated;
    memset(c, 0, sizeof(*c));
}

struct tpl_insert_ctx {
    const struct store_template *row;
    int64_t now_ms, id;
};

static int tpl_insert_tx(struct store_conn *c, void *arg)
{
    struct tpl_insert_ctx *x = arg;
    return store_template_insert(c, x->row, x->now_ms, &x->id);
}

static enum herald_err tpl_duplicate(struct herald_error *err)
{
    return herald_error_set(err, HERALD_ERR_DUPLICATE, "name",
                            "a template with this name already exists");
}

enum herald_err mail_template_create(struct store *st, const struct mail_template_input *in,
                                     int64_t now_ms, struct store_template *out,
                                     struct herald_error *err)
{
    memset(out, 0, sizeof(*out));
    struct mail_content c;
    enum herald_err rc = tpl_name(in->name, &out->name, err);
    if (!rc)
        rc = mail_content_prepare(in->subject, in->html, in->text, &c, err);
    if (rc) {
        store_template_clear(out);
        return rc;
    }
    tpl_take(out, &c);
    struct tpl_insert_ctx x = {out, now_ms, 0};
    rc = store_run_tx(st, tpl_insert_tx, &x);
    if (rc) {
        store_template_clear(out);
        return rc == HERALD_ERR_DUPLICATE ? tpl_duplicate(err) : rc;
    }
    out->id = x.id;
    out->created_at_ms = out->updated_at_ms = now_ms;
    return HERALD_OK;
}

struct tpl_get_ctx {
    int64_t id;
    struct store_template *out;
};

static int tpl_get_tx(struct store_conn *c, void *arg)
{
    struct tpl_get_ctx *x = arg;
    store_template_clear(x->out);
    return store_template_get(c, x->id, x->out);
}

enum herald_err mail_template_get(struct store *st, int64_t id, struct store_template *out)
{
    memset(out, 0, sizeof(*out));
    struct tpl_get_ctx x = {id, out};
    return store_run_read(st, tpl_get_tx, &x);
}

/* The row after a patch: the given fields over the stored ones, prepared again. */
static enum herald_err tpl_patch(const struct store_template *old,
                                 const struct mail_template_input *in, struct store_template *next,
                                 struct herald_error *err)
{
    memset(next, 0, sizeof(*next));
    next->id = old->id;
    next->created_at_ms = old->created_at_ms;
    enum herald_err rc = tpl_name(in->name ? in->name : old->name, &next->name, err);
    const char *text = in->text;
    if (!text) /* a text given earlier is kept; a generated one follows the html */
        text = old->text_generated ? "" : old->text;
    struct mail_content c;
    if (!rc)
        rc = mail_content_prepare(in->subject ? in->subject : old->subject,
                                  in->html ? in->html : old->html, text, &c, err);
    if (rc) {
        store_template_clear(next);
        return rc;
    }
    tpl_take(next, &c);
    return HERALD_OK;
}

static int tpl_update_tx(struct store_conn *c, void *arg)
{
    struct tpl_insert_ctx *x = arg;
    return store_template_update(c, x->row, x->now_ms);
}

enum herald_err mail_template_update(struct store *st, int64_t id,
                                     const struct mail_template_input *in, int64_t now_ms,
                                     struct store_template *out, struct herald_error *err)
{
    struct store_template old;
    enum herald_err rc = mail_template_get(st, id, &old);
    if (!rc)
        rc = tpl_patch(&old, in, out, err);
    store_template_clear(&old);
    if (rc)
        return rc;
    /* The content is prepared outside the write transaction (sanitising is the slow part); a
     * concurrent patch of the same template is last-writer-wins, as for any PATCH. */
    struct tpl_insert_ctx x = {out, now_ms, id};
    rc = store_run_tx(st, tpl_update_tx, &x);
    if (rc) {
        store_template_clear(out);
        return rc == HERALD_ERR_DUPLICATE ? tpl_duplicate(err) : rc;
    }
    out->updated_at_ms = now_ms;
    return HERALD_OK;
}

struct tpl_delete_ctx {
    int64_t id, uses;
};

static int tpl_delete_tx(struct store_conn *c, void *arg)
{
    struct tpl_delete_ctx *x = arg;
    struct store_template t;
    int rc = store_template_get(c, x->id, &t);
    store_template_clear(&t);
    if (!rc)
        rc = store_template_campaign_uses(c, x->id, &x->uses);
    if (!rc && x->uses > 0)
        return HERALD_ERR_CONFLICT;
    return rc ? rc : store_template_delete(c, x->id);
}

enum herald_err mail_template_delete(struct store *st, int64_t id, struct herald_error *err)
{
    struct tpl_delete_ctx x = {id, 0};
    enum herald_err rc = store_run_tx(st, tpl_delete_tx, &x);
    if (rc == HERALD_ERR_CONFLICT)
        return herald_error_set(err, rc, NULL,
                                "the template is used by %lld campaign(s) not finished or "
                                "cancelled",
                                (long long)x.uses);
    return rc ? herald_error_set(err, rc, NULL, NULL) : HERALD_OK;
}

struct tpl_list_ctx {
    int64_t before_id;
    int limit;
    struct store_template **out;
    size_t *count;
};

static int tpl_list_tx(struct store_conn *c, void *arg)
{
    struct tpl_list_ctx *x = arg;
    store_templates_free(*x->out, *x->count);
    return store_template_list(c, x->before_id, x->limit, x->out, x->count);
}

enum herald_err mail_template_list(struct store *st, int64_t before_id, int limit,
                                   struct store_template **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (limit < 1 || limit > 100 || before_id < 0)
        return HERALD_ERR_INVALID;
    struct tpl_list_ctx x = {before_id, limit, out, count};
    return store_run_read(st, tpl_list_tx, &x);
}

void mail_preview_contact_clear(struct mail_preview_contact *pc)
{
    if (!pc)
        return;
    free(pc->name);
    free(pc->email);
    json_decref(pc->attributes);
    memset(pc, 0, sizeof(*pc));
}

struct tpl_contact_ctx {
    int64_t id;
    struct store_template_contact row;
};

static int tpl_contact_tx(struct store_conn *c, void *arg)
{
    struct tpl_contact_ctx *x = arg;
    store_template_contact_clear(&x->row);
    return store_template_contact_get(c, x->id, &x->row);
}

enum herald_err mail_preview_contact_load(struct store *st, int64_t contact_id,
                                          struct mail_preview_contact *out)
{
    memset(out, 0, sizeof(*out));
    struct tpl_contact_ctx x = {contact_id, {0}};
    enum herald_err rc = store_run_read(st, tpl_contact_tx, &x);
    if (rc)
        return rc;
    out->name = x.row.name;
    out->email = x.row.email;
    x.row.name = x.row.email = NULL;
    json_t *attrs = json_loads(x.row.attributes, 0, NULL);
    if (attrs && !json_is_object(attrs)) {
        json_decref(attrs);
        attrs = NULL;
    }
    out->attributes = attrs;
    store_template_contact_clear(&x.row);
    return HERALD_OK;
}
