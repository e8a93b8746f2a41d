/* The merge-tag language: compiling a template's source into literal runs and tags, and
 * rendering it per recipient with no allocation beyond the output buffer. */
#include "mail/template.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/sanitize.h"

enum tmpl_var {
    TV_LITERAL, /* a run of source text */
    TV_NAME,
    TV_EMAIL,
    TV_ATTR,
    TV_UNSUBSCRIBE,
    TV_PREFERENCES,
    TV_CAMPAIGN,
};

/* Offsets point into the template's pool: literal text, and NUL-terminated keys and defaults. */
struct tmpl_part {
    enum tmpl_var var;
    size_t off, len; /* TV_LITERAL: the text; TV_ATTR: the key (NUL-terminated) */
    size_t def_off;  /* NUL-terminated default; SIZE_MAX when none */
    bool url_start;  /* HTML: the tag opens a URL attribute's value */
};

struct tmpl {
    enum tmpl_mode mode;
    unsigned uses;
    char *pool;
    size_t pool_len;
    struct tmpl_part *parts;
    size_t nparts;
};

/* Compilation state: the output under construction and where errors go. */
struct tmpl_builder {
    const char *src;
    size_t len;
    struct tmpl *t;
    size_t pool_cap, parts_cap;
    struct herald_error *err;
};

static const struct {
    const char *name;
    enum tmpl_var var;
    unsigned use;
} tmpl_names[] = {
    {"contact.name", TV_NAME, TMPL_USES_CONTACT},
    {"contact.email", TV_EMAIL, TMPL_USES_CONTACT},
    {"unsubscribe_url", TV_UNSUBSCRIBE, TMPL_USES_UNSUBSCRIBE},
    {"preferences_url", TV_PREFERENCES, TMPL_USES_PREFERENCES},
    {"campaign.name", TV_CAMPAIGN, TMPL_USES_CAMPAIGN},
};

#define TMPL_ATTR_PREFIX "contact.attributes."

static bool tmpl_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool tmpl_is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

static enum herald_err tmpl_pool_add(struct tmpl_builder *b, const char *s, size_t n, bool nul,
                                     size_t *off)
{
    size_t need = b->t->pool_len + n + (nul ? 1 : 0);
    if (need > b->pool_cap) {
        size_t cap = b->pool_cap ? b->pool_cap : 256;
        while (cap < need)
            cap *= 2;
        char *p = realloc(b->t->pool, cap);
        if (!p)
            return HERALD_ERR_NOMEM;
        b->t->pool = p;
        b->pool_cap = cap;
    }
    *off = b->t->pool_len;
    if (n)
        memcpy(b->t->pool + b->t->pool_len, s, n);
    b->t->pool_len += n;
    if (nul)
        b->t->pool[b->t->pool_len++] = '\0';
    return HERALD_OK;
}

static enum herald_err tmpl_part_add(struct tmpl_builder *b, const struct tmpl_part *p)
{
    if (b->t->nparts == b->parts_cap) {
        size_t cap = b->parts_cap ? b->parts_cap * 2 : 16;
        struct tmpl_part *np = realloc(b->t->parts, cap * sizeof *np);
        if (!np)
            return HERALD_ERR_NOMEM;
        b->t->parts = np;
        b->parts_cap = cap;
    }
    b->t->parts[b->t->nparts++] = *p;
    return HERALD_OK;
}

static enum herald_err tmpl_literal(struct tmpl_builder *b, size_t from, size_t to)
{
    if (to <= from)
        return HERALD_OK;
    struct tmpl_part p = {.var = TV_LITERAL, .len = to - from, .def_off = SIZE_MAX};
    enum herald_err rc = tmpl_pool_add(b, b->src + from, to - from, false, &p.off);
    return rc ? rc : tmpl_part_add(b, &p);
}

/* The tag's text for error messages: what lies between the braces, trimmed and shortened. */
static enum herald_err tmpl_fail(struct tmpl_builder *b, size_t at, size_t inner, size_t inner_end,
                                 const char *what)
{
    while (inner < inner_end && tmpl_is_space(b->src[inner]))
        inner++;
    while (inner_end > inner && tmpl_is_space(b->src[inner_end - 1]))
        inner_end--;
    int n = (int)(inner_end - inner > 80 ? 80 : inner_end - inner);
    return herald_error_set(b->err, HERALD_ERR_INVALID, NULL, "%s \"{{ %.*s }}\" at offset %zu",
                            what, n, b->src + inner, at);
}

static const char *const tmpl_url_attrs[] = {"href", "src",        "action", "background",
                                             "cite", "formaction", "poster", "longdesc"};

/* HTML mode: true when the source just before `at` is `NAME="` (or ') for a URL attribute. */
static bool tmpl_opens_url_attr(const char *src, size_t at)
{
    size_t i = at;
    if (i == 0 || (src[i - 1] != '"' && src[i - 1] != '\''))
        return false;
    i--;
    while (i > 0 && tmpl_is_space(src[i - 1]))
        i--;
    if (i == 0 || src[i - 1] != '=')
        return false;
    i--;
    while (i > 0 && tmpl_is_space(src[i - 1]))
        i--;
    size_t end = i;
    while (i > 0 && (tmpl_is_name_char(src[i - 1]) || src[i - 1] == ':'))
        i--;
    if (i == end || i == 0 || !tmpl_is_space(src[i - 1]))
        return false;
    for (size_t k = 0; k < sizeof tmpl_url_attrs / sizeof *tmpl_url_attrs; k++) {
        size_t n = strlen(tmpl_url_attrs[k]);
        if (end - i == n && strncasecmp(src + i, tmpl_url_attrs[k], n) == 0)
            return true;
    }
    return false;
}

/* Resolves the variable name [from, to) into p; false when unknown. */
static bool tmpl_resolve(struct tmpl_builder *b, size_t from, size_t to, struct tmpl_part *p,
                         unsigned *use)
{
    size_t n = to - from;
    const char *s = b->src + from;
    for (size_t k = 0; k < sizeof tmpl_names / sizeof *tmpl_names; k++) {
        if (strlen(tmpl_names[k].name) == n && memcmp(tmpl_names[k].name, s, n) == 0) {
            p->var = tmpl_names[k].var;
            *use = tmpl_names[k].use;
            return true;
        }
    }
    size_t plen = strlen(TMPL_ATTR_PREFIX);
    if (n <= plen || memcmp(s, TMPL_ATTR_PREFIX, plen) != 0)
        return false;
    for (size_t k = plen; k < n; k++)
        if (s[k] == '.')
            return false;
    p->var = TV_ATTR;
    p->off = from + plen; /* a source offset until tmpl_tag() copies the key */
    p->len = n - plen;
    *use = TMPL_USES_CONTACT;
    return true;
}

/* Parses `| default: "text"` starting at *i (just after the '|'). */
static enum herald_err tmpl_filter(struct tmpl_builder *b, size_t at, size_t inner, size_t close,
                                   size_t *i, struct tmpl_part *p)
{
    const char *s = b->src;
    while (*i < close && tmpl_is_space(s[*i]))
        (*i)++;
    size_t f = *i;
    while (*i < close && tmpl_is_name_char(s[*i]))
        (*i)++;
    if (*i - f != 7 || memcmp(s + f, "default", 7) != 0)
        return tmpl_fail(b, at, inner, close, *i > f ? "unknown filter in tag" : "bad tag");
    while (*i < close && tmpl_is_space(s[*i]))
        (*i)++;
    if (*i >= close || s[*i] != ':')
        return tmpl_fail(b, at, inner, close, "default needs ': \"text\"' in tag");
    (*i)++;
    while (*i < close && tmpl_is_space(s[*i]))
        (*i)++;
    if (*i >= close || (s[*i] != '"' && s[*i] != '\''))
        return tmpl_fail(b, at, inner, close, "default needs a quoted text in tag");
    char q = s[(*i)++];
    size_t d = *i;
    while (*i < close && s[*i] != q)
        (*i)++;
    if (*i >= close)
        return tmpl_fail(b, at, inner, close, "unterminated default text in tag");
    enum herald_err rc = tmpl_pool_add(b, s + d, *i - d, true, &p->def_off);
    (*i)++;
    return rc;
}

/* Finds the `}}` closing the tag opened at `at`, skipping quoted default text. */
static size_t tmpl_find_close(const char *s, size_t len, size_t from)
{
    char q = 0;
    for (size_t i = from; i + 1 < len || (q && i < len); i++) {
        if (q) {
            if (s[i] == q)
                q = 0;
        } else if (s[i] == '"' || s[i] == '\'') {
            q = s[i];
        } else if (s[i] == '}' && s[i + 1] == '}') {
            return i;
        } else if (s[i] == '{' && s[i + 1] == '{') {
            return SIZE_MAX; /* a new tag before this one closed */
        }
    }
    return SIZE_MAX;
}

/* Compiles the tag at `at` ("{{"); *next is the offset after its "}}". */
static enum herald_err tmpl_tag(struct tmpl_builder *b, size_t at, size_t *next)
{
    const char *s = b->src;
    size_t inner = at + 2, close = tmpl_find_close(s, b->len, inner);
    if (close == SIZE_MAX) {
        size_t end = inner;
        while (end < b->len && end < inner + 40 && s[end] != '\n' && s[end] != '<')
            end++;
        return tmpl_fail(b, at, inner, end, "unterminated tag");
    }
    size_t i = inner;
    while (i < close && tmpl_is_space(s[i]))
        i++;
    size_t name = i;
    while (i < close && tmpl_is_name_char(s[i]))
        i++;
    struct tmpl_part p = {.def_off = SIZE_MAX};
    unsigned use = 0;
    if (i == name)
        return tmpl_fail(b, at, inner, close, "bad tag");
    if (!tmpl_resolve(b, name, i, &p, &use))
        return tmpl_fail(b, at, inner, close, "unknown tag");
    while (i < close && tmpl_is_space(s[i]))
        i++;
    enum herald_err rc = HERALD_OK;
    if (i < close && s[i] == '|') {
        i++;
        rc = tmpl_filter(b, at, inner, close, &i, &p);
        while (!rc && i < close && tmpl_is_space(s[i]))
            i++;
    }
    if (!rc && i < close)
        rc = tmpl_fail(b, at, inner, close, "bad tag");
    if (!rc && p.var == TV_ATTR)
        rc = tmpl_pool_add(b, s + p.off, p.len, true, &p.off);
    if (rc)
        return rc;
    p.url_start = b->t->mode == TMPL_HTML && tmpl_opens_url_attr(s, at);
    b->t->uses |= use;
    *next = close + 2;
    return tmpl_part_add(b, &p);
}

enum herald_err tmpl_compile_n(const char *src, size_t len, enum tmpl_mode mode, struct tmpl **out,
                               struct herald_error *err)
{
    *out = NULL;
    if (len > TMPL_SRC_MAX)
        return herald_error_set(err, HERALD_ERR_TOO_LARGE, NULL, "template larger than %u bytes",
                                TMPL_SRC_MAX);
    struct tmpl *t = calloc(1, sizeof *t);
    if (!t)
        return HERALD_ERR_NOMEM;
    t->mode = mode;
    struct tmpl_builder b = {.src = src, .len = len, .t = t, .err = err};
    enum herald_err rc = HERALD_OK;
    size_t lit = 0, i = 0;
    while (!rc && i + 1 < len) {
        if (src[i] != '{' || src[i + 1] != '{') {
            i++;
            continue;
        }
        rc = tmpl_literal(&b, lit, i);
        if (!rc)
            rc = tmpl_tag(&b, i, &i);
        lit = i;
    }
    if (!rc)
        rc = tmpl_literal(&b, lit, len);
    if (rc) {
        tmpl_free(t);
        return rc;
    }
    *out = t;
    return HERALD_OK;
}

enum herald_err tmpl_compile(const char *src, enum tmpl_mode mode, struct tmpl **out,
                             struct herald_error *err)
{
    return tmpl_compile_n(src, strlen(src), mode, out, err);
}

enum herald_err tmpl_check(const char *src, enum tmpl_mode mode, struct herald_error *err)
{
    struct tmpl *t = NULL;
    enum herald_err rc = tmpl_compile(src, mode, &t, err);
    tmpl_free(t);
    return rc;
}

/* The value of an attribute as text: strings as they are, numbers and booleans formatted into
 * num (64 bytes), anything else missing (NULL). */
static const char *tmpl_attr_value(const json_t *attrs, const char *key, char num[64])
{
    const json_t *v = attrs && json_is_object(attrs) ? json_object_get(attrs, key) : NULL;
    if (!v)
        return NULL;
    switch (json_typeof(v)) {
    case JSON_STRING:
        return json_string_value(v);
    case JSON_INTEGER:
        snprintf(num, 64, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return num;
    case JSON_REAL:
        snprintf(num, 64, "%.15g", json_real_value(v));
        return num;
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    default:
        return NULL;
    }
}

static const char *tmpl_value(const struct tmpl *t, const struct tmpl_part *p,
                              const struct tmpl_vars *v, char num[64])
{
    const char *s = NULL;
    switch (p->var) {
    case TV_NAME:
        s = v->contact_name;
        break;
    case TV_EMAIL:
        s = v->contact_email;
        break;
    case TV_ATTR:
        s = tmpl_attr_value(v->contact_attributes, t->pool + p->off, num);
        break;
    case TV_UNSUBSCRIBE:
        s = v->unsubscribe_url;
        break;
    case TV_PREFERENCES:
        s = v->preferences_url;
        break;
    case TV_CAMPAIGN:
        s = v->campaign_name;
        break;
    case TV_LITERAL:
        break;
    }
    if ((!s || !*s) && p->def_off != SIZE_MAX)
        s = t->pool + p->def_off;
    return s ? s : "";
}

/* HTML: appends an escaped value; one that opens a URL attribute stays only with a safe
 * scheme (our own unsubscribe and preference URLs are trusted). */
static enum herald_err tmpl_put_html(struct buf *out, const struct tmpl_part *p, const char *s)
{
    size_t before = out->len;
    enum herald_err rc = buf_append_html(out, s);
    if (rc || !p->url_start || p->var == TV_UNSUBSCRIBE || p->var == TV_PREFERENCES)
        return rc;
    if (out->len > before && !mail_url_is_safe_n(out->data + before, out->len - before)) {
        out->len = before;
        out->data[before] = '\0';
    }
    return HERALD_OK;
}

enum herald_err tmpl_render(const struct tmpl *t, const struct tmpl_vars *vars, struct buf *out)
{
    static const struct tmpl_vars none;
    if (!vars)
        vars = &none;
    char num[64];
    for (size_t i = 0; i < t->nparts; i++) {
        const struct tmpl_part *p = &t->parts[i];
        enum herald_err rc;
        if (p->var == TV_LITERAL) {
            rc = buf_append(out, t->pool + p->off, p->len);
        } else {
            const char *s = tmpl_value(t, p, vars, num);
            if (t->mode == TMPL_HTML)
                rc = tmpl_put_html(out, p, s);
            else
                rc = buf_append_str(out, s);
        }
        if (rc)
            return rc;
    }
    return HERALD_OK;
}

unsigned tmpl_uses(const struct tmpl *t)
{
    return t->uses;
}

enum tmpl_mode tmpl_get_mode(const struct tmpl *t)
{
    return t->mode;
}

void tmpl_free(struct tmpl *t)
{
    if (!t)
        return;
    free(t->pool);
    free(t->parts);
    free(t);
}
