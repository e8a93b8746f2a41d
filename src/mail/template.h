/* Merge-tag templates: the small language of subjects and bodies, compiled once at save time
 * and rendered per recipient. Owned by the templates helper.
 *
 * Language: literal text with tags `{{ NAME }}` or `{{ NAME | default: "text" }}` (whitespace
 * inside the braces optional, the default in single or double quotes, no escapes inside it).
 * NAME is one of
 *   contact.name, contact.email, contact.attributes.KEY (KEY = [A-Za-z0-9_-]+, looked up in the
 *   contact's attributes JSON object: strings as is, integers/reals/booleans as text, null,
 *   objects and arrays as missing), unsubscribe_url, preferences_url, campaign.name.
 * `default` is used when the value is missing (NULL) or empty. Anything else between `{{` and
 * `}}` (an unknown name or filter, a missing `}}`) fails compilation with HERALD_ERR_INVALID and
 * a message naming the tag and its byte offset: a 400 at save time, never a blank at send time.
 *
 * Rendering: in TMPL_HTML mode every substituted value (the default text included) is
 * HTML-escaped with buf_append_html(); in addition, a contact or campaign value that starts a
 * URL attribute (href="{{ contact.attributes.site }}", src=, action=, background=) is replaced by
 * nothing unless its scheme is http, https or mailto (or it has none): a contact cannot inject a
 * javascript: link. In TMPL_TEXT mode values are copied raw.
 *
 * A compiled template is immutable: any number of threads may render it at once. Rendering
 * allocates nothing but the growth of the output buffer. */
#ifndef HERALD_MAIL_TEMPLATE_H
#define HERALD_MAIL_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

enum tmpl_mode {
    TMPL_TEXT = 0, /* subjects and plain-text parts: values raw */
    TMPL_HTML = 1, /* HTML parts: values escaped */
};

/* What a template refers to (tmpl_uses()): a sender can skip building URLs nobody renders. */
enum tmpl_use {
    TMPL_USES_UNSUBSCRIBE = 1u << 0,
    TMPL_USES_PREFERENCES = 1u << 1,
    TMPL_USES_CONTACT = 1u << 2, /* name, email or attributes */
    TMPL_USES_CAMPAIGN = 1u << 3,
};

/* The values of one rendering: borrowed pointers, any of them may be NULL (= missing). */
struct tmpl_vars {
    const char *contact_name;
    const char *contact_email;
    const json_t *contact_attributes; /* a JSON object, or NULL */
    const char *unsubscribe_url;
    const char *preferences_url;
    const char *campaign_name;
};

struct tmpl; /* opaque, immutable once compiled */

/* Compiles the NUL-terminated `src` (at most TMPL_SRC_MAX bytes). On success *out is a new
 * template (tmpl_free()). HERALD_ERR_INVALID (err filled: field "", message naming the tag and
 * its offset, e.g. `unknown tag "contact.nme" at offset 12`), HERALD_ERR_TOO_LARGE,
 * HERALD_ERR_NOMEM. */
#define TMPL_SRC_MAX (4u * 1024u * 1024u)
enum herald_err tmpl_compile(const char *src, enum tmpl_mode mode, struct tmpl **out,
                             struct herald_error *err);
/* Same, for `len` bytes that need not be NUL-terminated (NUL bytes are literal text). */
enum herald_err tmpl_compile_n(const char *src, size_t len, enum tmpl_mode mode, struct tmpl **out,
                               struct herald_error *err);
/* Compiles and frees: HERALD_OK when `src` is a valid template (the save-time check). */
enum herald_err tmpl_check(const char *src, enum tmpl_mode mode, struct herald_error *err);

/* Appends the rendering of t with vars to out. HERALD_ERR_TOO_LARGE / HERALD_ERR_NOMEM from the
 * buffer (out then holds a partial rendering). */
enum herald_err tmpl_render(const struct tmpl *t, const struct tmpl_vars *vars, struct buf *out);

/* A bit set of enum tmpl_use. */
unsigned tmpl_uses(const struct tmpl *t);
enum tmpl_mode tmpl_get_mode(const struct tmpl *t);
void tmpl_free(struct tmpl *t);

#endif
