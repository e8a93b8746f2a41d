/* The HTML sanitiser for template and campaign bodies: libxml2's HTML parser, then an allow-list
 * walk that writes back only known-safe markup. Owned by the templates helper.
 *
 * Kept: the tags of ordinary email HTML (structure, text, lists, tables, img, a, font, center,
 * hr, br, …; the list is in sanitize.c and in docs/api.md) with the attributes of an allow-list
 * (href, src, alt, title, width, height, align, valign, bgcolor, color, border, cellpadding,
 * cellspacing, colspan, rowspan, dir, lang, class, id, name, target, rel, style, …).
 * Dropped with their content: script, style, iframe, frame(set), object, embed, applet, form,
 * input, button, select, textarea, meta, link, base, svg, math, template, noscript, title, head.
 * Unknown tags are dropped but their content kept. Every attribute not on the list goes, every
 * on* handler included. A URL attribute (href, src, background, cite, action…) survives only if,
 * after decoding entities and removing whitespace and control characters, its scheme is http,
 * https or mailto, or it has none (relative, #anchor), or it is a merge tag `{{ … }}`.
 * `style` is kept only if, once decoded and lower-cased with whitespace, comments and escapes
 * removed, it contains none of `expression(`, `javascript:`, `vbscript:`, `url(` (remote
 * images and scripts through CSS), `behavior`, `-moz-binding`, `@import`; otherwise the whole
 * attribute is dropped (no partial rewriting). Comments, processing instructions and CDATA go.
 * Merge tags `{{ … }}` in text and attribute values come through byte for byte.
 *
 * The output is serialised HTML (a fragment: no html/head/body wrapper unless the input had a
 * full document, in which case the body's content only), and sanitising it again gives the same
 * bytes. Thread-safe: each call uses its own parser context (libxml2 initialised once). */
#ifndef HERALD_MAIL_SANITIZE_H
#define HERALD_MAIL_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

#define MAIL_SANITIZE_MAX (4u * 1024u * 1024u) /* largest input and output */

/* Sanitises `len` bytes of HTML (UTF-8). On success *out is a NUL-terminated malloc'd string
 * (free()) of *out_len bytes (out_len may be NULL). HERALD_ERR_TOO_LARGE past
 * MAIL_SANITIZE_MAX, HERALD_ERR_NOMEM, HERALD_ERR_INTERNAL if libxml2 fails outright. */
enum herald_err mail_sanitize_html(const char *html, size_t len, char **out, size_t *out_len);

/* True when the URL (raw attribute text: entities are decoded, whitespace and control characters
 * ignored) has no scheme or the scheme http, https or mailto. NULL is false. */
bool mail_url_is_safe(const char *url);
/* Same, for `len` bytes (need not be NUL-terminated). */
bool mail_url_is_safe_n(const char *url, size_t len);

#endif
