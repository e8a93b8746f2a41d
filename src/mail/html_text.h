/* Plain text from HTML: the text part of a message whose template or campaign gives none.
 * Owned by the templates helper.
 *
 * Block elements (p, div, h1-h6, tr, table, blockquote, …) become line breaks (a blank line
 * around paragraphs and headings), br a line break, li a line starting with "- " ("1. " in an
 * ol), td/th a separating space, hr a line of dashes, a link `text (url)` (just the url when the
 * text is the url, nothing added for mailto: equal to the text or a #anchor), img its alt text;
 * script/style/head content is dropped; entities are decoded, runs of whitespace collapsed, lines
 * wrapped at 78 columns where a space allows (a longer word, e.g. a URL, stays whole). Merge tags
 * `{{ … }}` pass through unchanged (they are rendered later in TEXT mode). Output ends with one
 * newline (empty for an input with no text). Thread-safe. */
#ifndef HERALD_MAIL_HTML_TEXT_H
#define HERALD_MAIL_HTML_TEXT_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

#define MAIL_TEXT_WIDTH 78

/* Appends the text of `len` bytes of HTML to out. HERALD_ERR_TOO_LARGE / HERALD_ERR_NOMEM from the
 * buffer, HERALD_ERR_INTERNAL if libxml2 fails outright. */
enum herald_err mail_html_to_text(const char *html, size_t len, struct buf *out);

#endif
