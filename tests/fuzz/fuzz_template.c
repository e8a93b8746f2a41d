/* Merge-tag templates: compiling arbitrary text never crashes, both modes agree on validity, a
 * refusal names an offset, and a rendering in HTML mode never lets a value's markup through. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "mail/template.h"

static void render_both(const struct tmpl *t, const char *src)
{
    json_t *attrs = json_pack("{s:s, s:i, s:b, s:f, s:n, s:s}", "a", "<x7>'\"&", "n", 42, "vip", 1,
                              "r", 1.5, "z", "site", "javascript:alert(1)");
    struct tmpl_vars full = {"<x7>Ann</x7>",    "a@b.c",           attrs,
                             "https://h/u/tok", "https://h/p/tok", "<x7>camp"};
    struct tmpl_vars empty = {0};
    struct buf out;
    buf_init(&out, 64u << 20);
    if (tmpl_render(t, &full, &out) != HERALD_OK)
        abort();
    /* A value's "<x7>" comes out escaped unless the source itself holds the marker. */
    if (tmpl_get_mode(t) == TMPL_HTML && !strstr(src, "x7") && out.data && strstr(out.data, "<x7>"))
        abort();
    buf_reset(&out);
    if (tmpl_render(t, &empty, &out) != HERALD_OK || tmpl_render(t, NULL, &out) != HERALD_OK)
        abort();
    buf_free(&out);
    json_decref(attrs);
}

/* Header mode: a value never brings a line break the source did not have. */
static void check_header(const char *src)
{
    struct tmpl *t = NULL;
    if (tmpl_compile(src, TMPL_HEADER, &t, NULL) != HERALD_OK)
        abort();
    struct tmpl_vars v = {"a\r\nBcc: x", "b\n", NULL, "c\r", "d\t", "e\x01"};
    struct buf out;
    buf_init(&out, 64u << 20);
    if (tmpl_render(t, &v, &out) != HERALD_OK)
        abort();
    for (size_t i = 0; i < out.len; i++)
        if ((out.data[i] == '\r' || out.data[i] == '\n') && !strchr(src, out.data[i]))
            abort();
    buf_free(&out);
    tmpl_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *src = malloc(size + 1);
    memcpy(src, data, size);
    src[size] = '\0';
    struct tmpl *html = NULL, *text = NULL;
    struct herald_error e1 = {0}, e2 = {0};
    enum herald_err r1 = tmpl_compile(src, TMPL_HTML, &html, &e1);
    enum herald_err r2 = tmpl_compile(src, TMPL_TEXT, &text, &e2);
    if (r1 != r2 || (r1 == HERALD_OK) != (html != NULL))
        abort();
    if (r1 == HERALD_ERR_INVALID && !strstr(e1.message, " at offset "))
        abort();
    if (!r1) {
        render_both(html, src);
        render_both(text, src);
        check_header(src);
        /* No tag at all: the text comes out as it went in. */
        if (!strstr(src, "{{")) {
            struct buf out;
            buf_init(&out, 64u << 20);
            if (tmpl_render(text, NULL, &out) || out.len != strlen(src) ||
                (out.len && memcmp(out.data, src, out.len)))
                abort();
            buf_free(&out);
        }
    }
    tmpl_free(html);
    tmpl_free(text);
    free(src);
    return 0;
}
