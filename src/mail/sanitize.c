/* The HTML sanitiser: libxml2's HTML parser builds the tree, an allow-list walk writes back only
 * the safe tags, attributes and URLs (the lists and URL checks live here; the parse in
 * html_parse.c is shared with html_text.c). */
#include "mail/sanitize.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "mail/html_parse.h"

/* Kept, with their allowed attributes. */
static const char *const san_tags[] = {
    "a",          "abbr",       "address", "article", "aside",  "b",      "bdi",    "bdo",
    "big",        "blockquote", "br",      "caption", "center", "cite",   "code",   "col",
    "colgroup",   "dd",         "del",     "dfn",     "div",    "dl",     "dt",     "em",
    "figcaption", "figure",     "font",    "footer",  "h1",     "h2",     "h3",     "h4",
    "h5",         "h6",         "header",  "hr",      "i",      "img",    "ins",    "kbd",
    "li",         "main",       "mark",    "nav",     "ol",     "p",      "pre",    "q",
    "s",          "samp",       "section", "small",   "span",   "strike", "strong", "sub",
    "sup",        "table",      "tbody",   "td",      "tfoot",  "th",     "thead",  "time",
    "tr",         "tt",         "u",       "ul",      "var",    "wbr",
};

/* Dropped with everything inside them. */
static const char *const san_drop_tags[] = {
    "applet",   "audio",    "base",   "basefont", "button", "canvas", "dialog",
    "embed",    "form",     "frame",  "frameset", "head",   "iframe", "input",
    "isindex",  "keygen",   "link",   "map",      "math",   "meta",   "noembed",
    "noframes", "noscript", "object", "optgroup", "option", "param",  "plaintext",
    "portal",   "script",   "select", "source",   "style",  "svg",    "template",
    "textarea", "title",    "track",  "video",    "xml",    "xmp",
};

static const char *const san_void_tags[] = {"br", "col", "hr", "img", "wbr"};

static const char *const san_attrs[] = {
    "abbr",        "align",  "alt",     "background", "bgcolor", "border", "cellpadding",
    "cellspacing", "cite",   "class",   "clear",      "color",   "cols",   "colspan",
    "datetime",    "dir",    "face",    "headers",    "height",  "href",   "hspace",
    "id",          "lang",   "name",    "noshade",    "nowrap",  "rel",    "reversed",
    "role",        "rows",   "rowspan", "scope",      "size",    "span",   "src",
    "start",       "style",  "summary", "target",     "title",   "type",   "valign",
    "value",       "vspace", "width",
};

static const char *const san_url_attrs[] = {"background", "cite", "href", "src"};

#define SAN_DEPTH_MAX 200
#define SAN_PASSES_MAX 4

static bool san_in(const char *const *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}

#define SAN_IN(list, name) san_in(list, sizeof list / sizeof *list, name)

static bool san_space(unsigned char c)
{
    return c <= 0x20 || c == 0x7f;
}

/* Decodes one character reference at s[*i] ('&') into *out; false when it is none we know. */
static bool san_entity(const char *s, size_t len, size_t *i, uint32_t *out)
{
    static const struct {
        const char *name;
        uint32_t cp;
    } named[] = {{"colon", ':'}, {"tab", '\t'},  {"newline", '\n'}, {"amp", '&'},
                 {"lpar", '('},  {"rpar", ')'},  {"sol", '/'},      {"period", '.'},
                 {"quot", '"'},  {"apos", '\''}, {"lt", '<'},       {"gt", '>'}};
    size_t j = *i + 1;
    if (j < len && s[j] == '#') {
        j++;
        bool hex = j < len && (s[j] == 'x' || s[j] == 'X');
        j += hex;
        uint32_t v = 0;
        size_t start = j;
        for (; j < len; j++) {
            unsigned char c = (unsigned char)s[j];
            int d = c >= '0' && c <= '9'          ? c - '0'
                    : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                  : -1;
            if (d < 0)
                break;
            v = v > 0x10ffff ? v : v * (hex ? 16 : 10) + (uint32_t)d;
        }
        if (j == start)
            return false;
        *i = j < len && s[j] == ';' ? j + 1 : j;
        *out = v;
        return true;
    }
    for (size_t k = 0; k < sizeof named / sizeof *named; k++) {
        size_t n = strlen(named[k].name);
        if (j + n <= len && strncasecmp(s + j, named[k].name, n) == 0) {
            *i = j + n < len && s[j + n] == ';' ? j + n + 1 : j + n;
            *out = named[k].cp;
            return true;
        }
    }
    return false;
}

bool mail_url_is_safe_n(const char *url, size_t len)
{
    if (!url)
        return false;
    char scheme[16];
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t c = (unsigned char)url[i];
        if (c != '&' || !san_entity(url, len, &i, &c))
            i++;
        if (c <= 0x20 || c == 0x7f)
            continue; /* browsers ignore them inside a scheme */
        if (c == ':') {
            scheme[n] = '\0';
            return n > 0 && (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0 ||
                             strcmp(scheme, "mailto") == 0);
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (n > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
        if (!ok)
            return true; /* no scheme: a relative reference ("/x", "#a", "x.html") */
        if (n + 1 >= sizeof scheme)
            return false; /* a long scheme: none of ours */
        scheme[n++] = (char)(c | 0x20);
    }
    return true; /* no ':' at all */
}

bool mail_url_is_safe(const char *url)
{
    return url && mail_url_is_safe_n(url, strlen(url));
}

/* A URL attribute holding merge tags: either one tag alone (the renderer checks its value's
 * scheme), or tags after a prefix that already fixes a safe scheme or a relative path. */
static bool san_url_with_tags(const char *v, size_t len, const char *tag)
{
    size_t pre = (size_t)(tag - v);
    if (pre == 0) {
        const char *close = strstr(tag, "}}");
        return close && (size_t)(close + 2 - v) == len && !strstr(tag + 2, "{{");
    }
    for (size_t i = 0; i < pre; i++)
        if (v[i] == ':')
            return mail_url_is_safe_n(v, pre);
    return v[0] == '/' || v[0] == '#' || v[0] == '?';
}

static bool san_url_ok(const char *v, size_t len)
{
    const char *tag = memmem(v, len, "{{", 2);
    if (tag)
        return san_url_with_tags(v, len, tag);
    return mail_url_is_safe_n(v, len);
}

/* A style attribute is kept only when, lower-cased with whitespace and comments removed, it
 * names nothing that runs code or loads a resource. Backslash escapes drop it outright. */
static bool san_style_ok(const char *v)
{
    static const char *const bad[] = {"expression(", "javascript:",  "vbscript:", "url(",
                                      "behavior",    "-moz-binding", "@import",   "<"};
    size_t len = strlen(v);
    char *norm = malloc(len + 1);
    if (!norm)
        return false;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '\\') {
            free(norm);
            return false;
        }
        if (c == '/' && i + 1 < len && v[i + 1] == '*') {
            const char *end = strstr(v + i + 2, "*/");
            i = end ? (size_t)(end - v) + 1 : len;
            continue;
        }
        if (!san_space(c))
            norm[n++] = (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
    }
    norm[n] = '\0';
    bool ok = true;
    for (size_t k = 0; ok && k < sizeof bad / sizeof *bad; k++)
        ok = strstr(norm, bad[k]) == NULL;
    free(norm);
    return ok;
}

/* Trims whitespace and control characters from both ends of a URL value. */
static void san_trim(const char **v, size_t *len)
{
    while (*len && san_space((unsigned char)**v)) {
        (*v)++;
        (*len)--;
    }
    while (*len && san_space((unsigned char)(*v)[*len - 1]))
        (*len)--;
}

/* Appends text with & < > (and the quote, in an attribute) as entities, invalid UTF-8 and C0
 * controls other than tab, LF and CR replaced. */
static enum herald_err san_put_text(struct buf *out, const char *s, size_t len, char quote)
{
    enum herald_err rc = HERALD_OK;
    size_t run = 0, i = 0;
    while (!rc && i < len) {
        unsigned char c = (unsigned char)s[i];
        const char *ent = NULL;
        size_t adv = 1;
        if (c == '&')
            ent = "&amp;";
        else if (c == '<')
            ent = "&lt;";
        else if (c == '>')
            ent = "&gt;";
        else if (quote && c == (unsigned char)quote)
            ent = "&quot;";
        else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
            ent = "";
        else if (c >= 0x80 && (adv = html_utf8_len(s + i, len - i)) == 0)
            ent = "\xef\xbf\xbd";
        if (!ent) {
            i += adv;
            continue;
        }
        rc = buf_append(out, s + run, i - run);
        if (!rc)
            rc = buf_append_str(out, ent);
        i += adv ? adv : 1;
        run = i;
    }
    return rc ? rc : buf_append(out, s + run, i - run);
}

static enum herald_err san_attr(struct buf *out, const char *name, const char *value)
{
    size_t len = strlen(value);
    if (SAN_IN(san_url_attrs, name)) {
        san_trim(&value, &len);
        if (!san_url_ok(value, len))
            return HERALD_OK;
    } else if (strcmp(name, "style") == 0 && !san_style_ok(value)) {
        return HERALD_OK;
    }
    char q = memchr(value, '"', len) && !memchr(value, '\'', len) ? '\'' : '"';
    enum herald_err rc = buf_printf(out, " %s=%c", name, q);
    if (!rc)
        rc = san_put_text(out, value, len, q);
    return rc ? rc : buf_append(out, &q, 1);
}

static enum herald_err san_attrs_put(struct buf *out, xmlNode *n)
{
    enum herald_err rc = HERALD_OK;
    for (xmlAttr *a = n->properties; !rc && a; a = a->next) {
        const char *name = (const char *)a->name;
        if (a->ns || !SAN_IN(san_attrs, name))
            continue;
        xmlChar *v = xmlNodeGetContent((xmlNode *)a);
        rc = san_attr(out, name, v ? (const char *)v : "");
        xmlFree(v);
    }
    return rc;
}

static enum herald_err san_nodes(struct buf *out, xmlNode *n, int depth);

static enum herald_err san_element(struct buf *out, xmlNode *n, int depth)
{
    const char *name = (const char *)n->name;
    if (SAN_IN(san_drop_tags, name) || depth > SAN_DEPTH_MAX)
        return HERALD_OK;
    if (!SAN_IN(san_tags, name))
        return san_nodes(out, n->children, depth + 1); /* unknown: its content only */
    enum herald_err rc = buf_printf(out, "<%s", name);
    if (!rc)
        rc = san_attrs_put(out, n);
    if (!rc)
        rc = buf_append(out, ">", 1);
    if (rc || SAN_IN(san_void_tags, name))
        return rc;
    rc = san_nodes(out, n->children, depth + 1);
    return rc ? rc : buf_printf(out, "</%s>", name);
}

static enum herald_err san_nodes(struct buf *out, xmlNode *n, int depth)
{
    enum herald_err rc = HERALD_OK;
    for (; !rc && n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && n->name)
            rc = san_element(out, n, depth);
        else if (n->type == XML_TEXT_NODE && n->content)
            rc = san_put_text(out, (const char *)n->content, strlen((const char *)n->content), 0);
        /* comments, processing instructions, CDATA, DTDs: dropped */
    }
    return rc;
}

/* One pass: parse and write back the allowed part. */
static enum herald_err san_pass(const char *html, size_t len, struct buf *out)
{
    htmlDocPtr doc = NULL;
    enum herald_err rc = html_parse_fragment(html, len, &doc);
    if (rc)
        return rc;
    rc = san_nodes(out, xmlDocGetRootElement(doc), 0);
    xmlFreeDoc(doc);
    return rc;
}

enum herald_err mail_sanitize_html(const char *html, size_t len, char **out, size_t *out_len)
{
    if (len > MAIL_SANITIZE_MAX)
        return HERALD_ERR_TOO_LARGE;
    struct buf a, b;
    buf_init(&a, MAIL_SANITIZE_MAX);
    buf_init(&b, MAIL_SANITIZE_MAX);
    enum herald_err rc = san_pass(html, len, &a);
    /* The parser repairs markup (nesting, implied tags) that the walk may have made invalid by
     * dropping a tag: passes repeat until the output is stable, so saving twice changes nothing. */
    for (int pass = 1; !rc && pass < SAN_PASSES_MAX; pass++) {
        buf_reset(&b);
        rc = san_pass(a.data ? a.data : "", a.len, &b);
        if (rc)
            break;
        bool same = a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
        struct buf t = a;
        a = b;
        b = t;
        if (same)
            break;
    }
    buf_free(&b);
    if (!rc)
        rc = buf_steal(&a, out, out_len);
    buf_free(&a);
    return rc;
}
