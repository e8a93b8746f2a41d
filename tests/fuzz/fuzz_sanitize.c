/* The HTML sanitiser: arbitrary bytes never crash it, its output sanitised again is unchanged,
 * and no tag in the output is script-like, carries an on* handler or an unsafe URL; the text
 * converter runs on the same input. */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "mail/html_text.h"
#include "mail/sanitize.h"

/* Lower-cased, whitespace and control characters removed: what a browser would read. */
static char *squeeze(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] > 0x20 && s[i] != 0x7f)
            out[k++] = (char)tolower((unsigned char)s[i]);
    out[k] = '\0';
    return out;
}

/* One attribute: no handler; a URL or style value with no script scheme. */
static void check_attr(const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (nlen >= 2 && strncasecmp(name, "on", 2) == 0)
        abort();
    bool url = (nlen == 4 && strncasecmp(name, "href", 4) == 0) ||
               (nlen == 3 && strncasecmp(name, "src", 3) == 0) ||
               (nlen == 10 && strncasecmp(name, "background", 10) == 0);
    bool style = nlen == 5 && strncasecmp(name, "style", 5) == 0;
    if (!url && !style)
        return;
    char *v = squeeze(value, vlen);
    if (strncmp(v, "javascript:", 11) == 0 || strncmp(v, "vbscript:", 9) == 0 ||
        strncmp(v, "data:", 5) == 0)
        abort(); /* a URL (or style) that starts as a script */
    if (style && (strstr(v, "javascript:") || strstr(v, "expression(") || strstr(v, "url(")))
        abort();
    if (url && !strstr(v, "{{") && !mail_url_is_safe_n(value, vlen))
        abort();
    free(v);
}

/* Checks one tag of the output: s..s+n is the text between < and >. */
static void check_tag(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] != ' ')
        i++;
    char *name = squeeze(s, i);
    if (strcmp(name, "script") == 0 || strcmp(name, "iframe") == 0 || strcmp(name, "style") == 0 ||
        strcmp(name, "object") == 0 || strcmp(name, "embed") == 0 || strcmp(name, "svg") == 0 ||
        strcmp(name, "form") == 0)
        abort();
    free(name);
    while (i < n) {
        while (i < n && s[i] == ' ')
            i++;
        size_t a = i;
        while (i < n && s[i] != '=' && s[i] != ' ')
            i++;
        size_t alen = i - a, v = i, vlen = 0;
        if (i < n && s[i] == '=' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\'')) {
            char q = s[i + 1];
            const char *end = memchr(s + i + 2, q, n - i - 2);
            if (!end)
                abort(); /* an unterminated value */
            v = i + 2;
            vlen = (size_t)(end - s) - v;
            i = (size_t)(end - s) + 1;
        } else if (i < n && s[i] == '=') {
            abort(); /* values are always quoted */
        }
        if (alen)
            check_attr(s + a, alen, s + v, vlen);
    }
}

static void check_output(const char *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (out[i] != '<')
            continue;
        const char *end = memchr(out + i, '>', len - i);
        if (!end)
            abort(); /* text never holds a raw '<' */
        check_tag(out + i + 1, (size_t)(end - out - i - 1));
        i = (size_t)(end - out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *out = NULL, *again = NULL;
    size_t n = 0, n2 = 0;
    if (mail_sanitize_html((const char *)data, size, &out, &n) == HERALD_OK) {
        check_output(out, n);
        if (mail_sanitize_html(out, n, &again, &n2) != HERALD_OK || n2 != n ||
            memcmp(out, again, n) != 0)
            abort();
        free(again);
        free(out);
    }
    struct buf text;
    buf_init(&text, 64u << 20);
    mail_html_to_text((const char *)data, size, &text);
    buf_free(&text);
    return 0;
}
