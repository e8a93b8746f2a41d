/* HTML to plain text for generated text parts: a walk of libxml2's tree that gathers inline
 * text into paragraphs, then writes each wrapped at MAIL_TEXT_WIDTH with its list prefix. */
#include "mail/html_text.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mail/html_parse.h"

#define HT_DEPTH_MAX 200
#define HT_PARA_MAX (8u * 1024u * 1024u)

struct ht {
    struct buf *out;
    struct buf para; /* the paragraph being gathered: whitespace collapsed */
    char prefix[40]; /* written before the paragraph's first line ("- ", "2. ") */
    size_t indent;   /* spaces before its other lines */
    int breaks;      /* line breaks owed before the next paragraph (0..2) */
    int pre;         /* inside <pre>: whitespace kept, no wrapping */
    bool in_tag;     /* inside a merge tag {{ … }}: whitespace kept */
    int list_depth;
    size_t start; /* out->len when the conversion began */
};

static const char *const ht_drop[] = {"head",   "script",   "style",  "title",  "template",
                                      "select", "textarea", "object", "iframe", "noscript",
                                      "svg",    "math",     "button"};
static const char *const ht_blocks[] = {
    "address", "article", "aside",      "blockquote", "center", "dd",     "div",     "dl",
    "dt",      "figure",  "figcaption", "footer",     "form",   "header", "main",    "nav",
    "section", "table",   "tbody",      "thead",      "tfoot",  "tr",     "caption", "fieldset"};
static const char *const ht_paras[] = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "ul", "ol"};

static bool ht_in(const char *const *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(list[i], name) == 0)
            return true;
    return false;
}

#define HT_IN(list, name) ht_in(list, sizeof list / sizeof *list, name)

/* Display width of s[0..len): code points. */
static size_t ht_width(const char *s, size_t len)
{
    size_t w = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            w++;
    return w;
}

/* Length of the word at s: up to a space outside a merge tag. */
static size_t ht_word(const char *s, size_t len)
{
    size_t i = 0;
    bool tag = false;
    for (; i < len; i++) {
        if (!tag && s[i] == ' ')
            break;
        if (i + 1 < len && s[i] == '{' && s[i + 1] == '{')
            tag = true;
        else if (tag && i + 1 < len && s[i] == '}' && s[i + 1] == '}')
            tag = false, i++;
    }
    return i;
}

static enum herald_err ht_spaces(struct buf *out, size_t n)
{
    enum herald_err rc = HERALD_OK;
    for (size_t i = 0; !rc && i < n; i++)
        rc = buf_append(out, " ", 1);
    return rc;
}

/* Writes the paragraph's words wrapped at MAIL_TEXT_WIDTH. */
static enum herald_err ht_wrap(struct ht *h, const char *s, size_t len)
{
    enum herald_err rc = buf_append_str(h->out, h->prefix);
    size_t col = ht_width(h->prefix, strlen(h->prefix));
    bool first = true;
    for (size_t i = 0; !rc && i < len;) {
        if (s[i] == ' ') {
            i++;
            continue;
        }
        size_t n = ht_word(s + i, len - i), w = ht_width(s + i, n);
        if (!first && col + 1 + w > MAIL_TEXT_WIDTH) {
            rc = buf_append(h->out, "\n", 1);
            if (!rc)
                rc = ht_spaces(h->out, h->indent);
            col = h->indent;
        } else if (!first) {
            rc = buf_append(h->out, " ", 1);
            col++;
        }
        if (!rc)
            rc = buf_append(h->out, s + i, n);
        col += w;
        first = false;
        i += n;
    }
    return rc ? rc : buf_append(h->out, "\n", 1);
}

/* Ends the paragraph being gathered: written (after the breaks owed) if it has any text. */
static enum herald_err ht_flush(struct ht *h)
{
    const char *s = h->para.data;
    size_t len = h->para.len;
    while (len && s[len - 1] == ' ' && !h->pre)
        len--;
    enum herald_err rc = HERALD_OK;
    if (len == 0)
        return HERALD_OK;
    if (h->out->len > h->start)
        for (int i = 1; !rc && i < h->breaks; i++)
            rc = buf_append(h->out, "\n", 1);
    if (!rc && h->pre) {
        rc = buf_append(h->out, s, len);
        if (!rc && s[len - 1] != '\n')
            rc = buf_append(h->out, "\n", 1);
    } else if (!rc) {
        rc = ht_wrap(h, s, len);
    }
    buf_reset(&h->para);
    h->prefix[0] = '\0';
    h->breaks = 0;
    return rc;
}

/* Asks for n line breaks (1: a new line, 2: a blank line) before the next text. */
static enum herald_err ht_break(struct ht *h, int n)
{
    enum herald_err rc = ht_flush(h);
    if (h->breaks < n)
        h->breaks = n;
    return rc;
}

/* Appends text to the paragraph, collapsing whitespace (outside <pre> and merge tags). */
static enum herald_err ht_text(struct ht *h, const char *s, size_t len)
{
    enum herald_err rc = HERALD_OK;
    for (size_t i = 0; !rc && i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i + 1 < len && c == '{' && s[i + 1] == '{')
            h->in_tag = true;
        else if (h->in_tag && i > 0 && c == '}' && s[i - 1] == '}')
            h->in_tag = false;
        bool nbsp = c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] == 0xa0;
        bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || nbsp;
        if (h->pre || h->in_tag || !space) {
            if (c >= 0x20 || c == '\n' || c == '\t')
                rc = buf_append(&h->para, s + i, 1);
            continue;
        }
        i += nbsp;
        if (h->para.len > 0 && h->para.data[h->para.len - 1] != ' ')
            rc = buf_append(&h->para, " ", 1);
    }
    return rc;
}

static enum herald_err ht_nodes(struct ht *h, xmlNode *n, int depth);

/* After a link's content: its URL in parentheses, unless it adds nothing. */
static enum herald_err ht_link_end(struct ht *h, const char *href, size_t text_at)
{
    if (!href || !*href || href[0] == '#')
        return HERALD_OK;
    const char *text = h->para.data ? h->para.data + text_at : "";
    size_t tlen = h->para.len > text_at ? h->para.len - text_at : 0;
    while (tlen && text[0] == ' ')
        text++, tlen--;
    while (tlen && text[tlen - 1] == ' ')
        tlen--;
    const char *cmp = strncasecmp(href, "mailto:", 7) == 0 ? href + 7 : href;
    if (tlen == strlen(cmp) && strncmp(text, cmp, tlen) == 0)
        return HERALD_OK;
    if (tlen == 0)
        return ht_text(h, href, strlen(href));
    enum herald_err rc =
        buf_append_str(&h->para, h->para.len && h->para.data[h->para.len - 1] == ' ' ? "(" : " (");
    if (!rc)
        rc = buf_append_str(&h->para, href);
    return rc ? rc : buf_append(&h->para, ")", 1);
}

static enum herald_err ht_item(struct ht *h, xmlNode *n, int depth)
{
    enum herald_err rc = ht_break(h, 1);
    size_t ind = h->list_depth > 1 ? (size_t)(h->list_depth - 1) * 2 : 0;
    if (ind > 20)
        ind = 20;
    bool ordered = n->parent && n->parent->name && strcasecmp((char *)n->parent->name, "ol") == 0;
    int num = 1;
    for (xmlNode *p = n->prev; p; p = p->prev)
        num += p->type == XML_ELEMENT_NODE && strcasecmp((char *)p->name, "li") == 0;
    if (ordered)
        snprintf(h->prefix, sizeof h->prefix, "%*s%d. ", (int)ind, "", num);
    else
        snprintf(h->prefix, sizeof h->prefix, "%*s- ", (int)ind, "");
    h->indent = strlen(h->prefix);
    if (!rc)
        rc = ht_nodes(h, n->children, depth + 1);
    if (!rc)
        rc = ht_break(h, 1);
    h->indent = 0;
    return rc;
}

static enum herald_err ht_element(struct ht *h, xmlNode *n, int depth)
{
    const char *name = (const char *)n->name;
    enum herald_err rc = HERALD_OK;
    if (HT_IN(ht_drop, name) || depth > HT_DEPTH_MAX)
        return HERALD_OK;
    if (strcasecmp(name, "br") == 0) {
        if (h->para.len)
            return ht_break(h, 1);
        h->breaks = h->breaks < 2 ? h->breaks + 1 : 2; /* <br><br>: a blank line */
        return HERALD_OK;
    }
    if (strcasecmp(name, "li") == 0)
        return ht_item(h, n, depth);
    if (strcasecmp(name, "hr") == 0) {
        rc = ht_break(h, 2);
        if (!rc)
            rc = ht_text(h, "--------------------", 20);
        return rc ? rc : ht_break(h, 2);
    }
    if (strcasecmp(name, "img") == 0) {
        xmlChar *alt = xmlGetProp(n, (const xmlChar *)"alt");
        if (alt && *alt)
            rc = ht_text(h, (const char *)alt, strlen((const char *)alt));
        xmlFree(alt);
        return rc;
    }
    bool para = HT_IN(ht_paras, name), block = HT_IN(ht_blocks, name), list = false;
    bool cell = strcasecmp(name, "td") == 0 || strcasecmp(name, "th") == 0;
    if (strcasecmp(name, "ul") == 0 || strcasecmp(name, "ol") == 0)
        list = true, h->list_depth++, para = h->list_depth == 1;
    if (para || block || list)
        rc = ht_break(h, para ? 2 : 1);
    if (!rc && cell && h->para.len && h->para.data[h->para.len - 1] != ' ')
        rc = buf_append(&h->para, " ", 1);
    h->pre += strcasecmp(name, "pre") == 0;
    if (!rc && strcasecmp(name, "a") == 0) {
        size_t at = h->para.len;
        xmlChar *href = xmlGetProp(n, (const xmlChar *)"href");
        rc = ht_nodes(h, n->children, depth + 1);
        if (!rc)
            rc = ht_link_end(h, (const char *)href, at);
        xmlFree(href);
    } else if (!rc) {
        rc = ht_nodes(h, n->children, depth + 1);
    }
    h->pre -= strcasecmp(name, "pre") == 0;
    h->list_depth -= list;
    if (!rc && (para || block || list))
        rc = ht_break(h, para ? 2 : 1);
    return rc;
}

static enum herald_err ht_nodes(struct ht *h, xmlNode *n, int depth)
{
    enum herald_err rc = HERALD_OK;
    for (; !rc && n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && n->name)
            rc = ht_element(h, n, depth);
        else if (n->type == XML_TEXT_NODE && n->content)
            rc = ht_text(h, (const char *)n->content, strlen((const char *)n->content));
    }
    return rc;
}

enum herald_err mail_html_to_text(const char *html, size_t len, struct buf *out)
{
    htmlDocPtr doc = NULL;
    enum herald_err rc = html_parse_fragment(html, len, &doc);
    if (rc)
        return rc;
    struct ht h = {.out = out, .start = out->len};
    buf_init(&h.para, HT_PARA_MAX);
    rc = ht_nodes(&h, xmlDocGetRootElement(doc), 0);
    if (!rc)
        rc = ht_flush(&h);
    if (!rc && out->len > h.start && out->data[out->len - 1] != '\n')
        rc = buf_append(out, "\n", 1);
    buf_free(&h.para);
    xmlFreeDoc(doc);
    return rc;
}
