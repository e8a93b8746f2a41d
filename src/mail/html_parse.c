/* The HTML fragment parse shared by the sanitiser and the text converter: libxml2 initialised
 * once per process, the input parsed as a body's content. */
#include "mail/html_parse.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t html_once = PTHREAD_ONCE_INIT;

static void html_init(void)
{
    xmlInitParser();
}

#define HTML_PREFIX "<html><body>"

enum herald_err html_parse_fragment(const char *html, size_t len, htmlDocPtr *doc)
{
    pthread_once(&html_once, html_init);
    size_t plen = strlen(HTML_PREFIX);
    if (len > (size_t)INT32_MAX - plen)
        return HERALD_ERR_TOO_LARGE;
    char *src = malloc(plen + len + 1);
    if (!src)
        return HERALD_ERR_NOMEM;
    memcpy(src, HTML_PREFIX, plen);
    if (len)
        memcpy(src + plen, html, len);
    src[plen + len] = '\0';
    /* Text before any tag would otherwise be wrapped in an implied <p>: parsing it inside a body
     * keeps a fragment a fragment. */
    *doc = htmlReadMemory(src, (int)(plen + len), NULL, "UTF-8",
                          HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                              HTML_PARSE_COMPACT);
    free(src);
    return *doc ? HERALD_OK : HERALD_ERR_INTERNAL;
}

size_t html_utf8_len(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n;
    unsigned min;
    if (u[0] < 0x80)
        return 1;
    if (u[0] >= 0xc2 && u[0] <= 0xdf) {
        n = 2;
        min = 0x80;
    } else if (u[0] >= 0xe0 && u[0] <= 0xef) {
        n = 3;
        min = 0x800;
    } else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    unsigned cp = u[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (u[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}
