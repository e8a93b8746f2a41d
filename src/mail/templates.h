/* Templates, the domain: validation of name, subject and bodies, the merge-tag check at save
 * time, HTML sanitising, the generated text part, CRUD over the store, and the compiled form a
 * sender renders per recipient. Owned by the templates helper.
 *
 * Errors: HERALD_ERR_INVALID with err->field naming the field ("name", "subject", "html",
 * "text") and a message (for a bad tag, the tag and its offset); HERALD_ERR_NOT_FOUND;
 * HERALD_ERR_DUPLICATE (the name is taken); HERALD_ERR_CONFLICT (delete of a template a
 * campaign still uses); HERALD_ERR_TOO_LARGE; store errors. */
#ifndef HERALD_MAIL_TEMPLATES_H
#define HERALD_MAIL_TEMPLATES_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "mail/template.h"
#include "store/templates.h"

#define MAIL_TEMPLATE_NAME_MAX 200             /* bytes */
#define MAIL_TEMPLATE_SUBJECT_MAX 998          /* bytes: one header line at most */
#define MAIL_TEMPLATE_BODY_MAX (1024u * 1024u) /* html or text, bytes */

/* ---- content shared with campaigns (inline html/text) ---- */

/* Subject, HTML and text ready to store: the HTML sanitised, the text given or generated. */
struct mail_content {
    char *subject; /* owned */
    char *html;    /* owned: sanitised ("" when no html was given) */
    char *text;    /* owned: given, or generated from html */
    bool text_generated;
};
void mail_content_clear(struct mail_content *c);

/* Validates and prepares content: subject (required: non-empty, valid UTF-8, no CR/LF, at
 * most MAIL_TEMPLATE_SUBJECT_MAX, tags valid in TEXT mode); html and text (each NULL or ""
 * when absent; at least one required; valid UTF-8; at most MAIL_TEMPLATE_BODY_MAX; tags valid).
 * The html is sanitised; the text is generated from it when absent. The fields in errors are
 * "subject", "html", "text". */
enum herald_err mail_content_prepare(const char *subject, const char *html, const char *text,
                                     struct mail_content *out, struct herald_error *err);

/* ---- compiled form, for rendering (sender, preview, test sends) ---- */
struct mail_compiled {
    struct tmpl *subject; /* TEXT mode */
    struct tmpl *html;    /* HTML mode; NULL when the html is empty */
    struct tmpl *text;    /* TEXT mode */
};
/* Compiles stored (already prepared) content. HERALD_ERR_INVALID as mail_content_prepare. */
enum herald_err mail_compile(const char *subject, const char *html, const char *text,
                             struct mail_compiled *out, struct herald_error *err);
void mail_compiled_clear(struct mail_compiled *c);
/* Renders the three parts, each appended to its buffer (html may be NULL to skip it; left
 * empty when the template has no html). Thread-safe for one compiled form. */
enum herald_err mail_compiled_render(const struct mail_compiled *c, const struct tmpl_vars *vars,
                                     struct buf *subject, struct buf *html, struct buf *text);

/* ---- templates CRUD ---- */

/* The fields of a create (all given) or a patch (NULL = unchanged; for a patch, text "" means
 * "generate it from the html again"). */
struct mail_template_input {
    const char *name;
    const char *subject;
    const char *html;
    const char *text;
};

/* Validates (name: 1..MAIL_TEMPLATE_NAME_MAX bytes of UTF-8 after trimming, no control
 * characters), prepares the content and inserts; *out is the stored row
 * (store_template_clear()). */
enum herald_err mail_template_create(struct store *st, const struct mail_template_input *in,
                                     int64_t now_ms, struct store_template *out,
                                     struct herald_error *err);
enum herald_err mail_template_get(struct store *st, int64_t id, struct store_template *out);
/* Applies the given fields (a changed html without a text regenerates a generated text; a
 * text given earlier is kept) and stores them; *out is the row after the update. */
enum herald_err mail_template_update(struct store *st, int64_t id,
                                     const struct mail_template_input *in, int64_t now_ms,
                                     struct store_template *out, struct herald_error *err);
/* HERALD_ERR_CONFLICT while a campaign not finished/cancelled uses it. */
enum herald_err mail_template_delete(struct store *st, int64_t id, struct herald_error *err);
/* Newest first; before_id 0 = from the newest; limit 1..100. store_templates_free(). */
enum herald_err mail_template_list(struct store *st, int64_t before_id, int limit,
                                   struct store_template **out, size_t *count);

/* The contact a preview renders for (owned strings; attributes a JSON object or NULL). */
struct mail_preview_contact {
    char *name;
    char *email;
    json_t *attributes;
};
void mail_preview_contact_clear(struct mail_preview_contact *pc);
/* Reads contact contact_id from the contacts table (HERALD_ERR_NOT_FOUND). */
enum herald_err mail_preview_contact_load(struct store *st, int64_t contact_id,
                                          struct mail_preview_contact *out);

/* Renders template t for one contact: subject, html, text (buffers appended to). The
 * unsubscribe and preference URLs are given by the caller (preview uses placeholders or real
 * signed links). */
enum herald_err mail_template_render(const struct store_template *t, const struct tmpl_vars *vars,
                                     struct buf *subject, struct buf *html, struct buf *text,
                                     struct herald_error *err);

#endif
