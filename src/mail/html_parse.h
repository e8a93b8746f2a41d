/* Private to the templates modules (sanitize.c, html_text.c): libxml2's HTML parser set up
 * once, the fragment parse they share and a UTF-8 helper. Owned by the templates helper. */
#ifndef HERALD_MAIL_HTML_PARSE_H
#define HERALD_MAIL_HTML_PARSE_H

#include <libxml/HTMLparser.h>
#include <stddef.h>

#include "base/err.h"

/* Parses `len` bytes of HTML as the content of a body element (no network, no error output,
 * text is not wrapped in an implied <p>) into *doc (xmlFreeDoc() it). An empty input gives an
 * empty document. HERALD_ERR_NOMEM, HERALD_ERR_INTERNAL. */
enum herald_err html_parse_fragment(const char *html, size_t len, htmlDocPtr *doc);

/* Length of the valid UTF-8 sequence at s (1..4), 0 when invalid or truncated. */
size_t html_utf8_len(const char *s, size_t len);

#endif
