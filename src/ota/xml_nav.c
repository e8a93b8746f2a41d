/* Reading a parsed OpenTravel tree (ota/xml.h): namespace-agnostic lookups by local name,
 * attributes and text copied trimmed into bounded buffers. */
#include "ota/xml.h"

#include <stdlib.h>
#include <string.h>

const char *ota_xml_name(const xmlNode *n)
{
    return n && n->name ? (const char *)n->name : "";
}

bool ota_xml_is(const xmlNode *n, const char *local)
{
    return n && n->type == XML_ELEMENT_NODE && (!local || strcmp(ota_xml_name(n), local) == 0);
}

static xmlNode *first_from(xmlNode *n, const char *local)
{
    for (; n; n = n->next)
        if (ota_xml_is(n, local))
            return n;
    return NULL;
}

xmlNode *ota_xml_child(const xmlNode *parent, const char *local)
{
    return parent ? first_from(parent->children, local) : NULL;
}

xmlNode *ota_xml_next(const xmlNode *n, const char *local)
{
    return n ? first_from(n->next, local) : NULL;
}

xmlNode *ota_xml_path(const xmlNode *n, const char *path)
{
    char step[128];
    const char *p = path;
    xmlNode *cur = (xmlNode *)n;
    while (cur && *p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || len >= sizeof(step))
            return NULL;
        memcpy(step, p, len);
        step[len] = '\0';
        cur = ota_xml_child(cur, step);
        p += len + (slash ? 1 : 0);
    }
    return cur;
}

xmlNode *ota_xml_find(const xmlNode *n, const char *local)
{
    if (!n)
        return NULL;
    xmlNode *cur = n->children;
    while (cur) {
        if (ota_xml_is(cur, local))
            return cur;
        if (cur->type == XML_ELEMENT_NODE && cur->children) {
            cur = cur->children;
            continue;
        }
        while (cur && cur != n && !cur->next)
            cur = cur->parent;
        cur = (cur && cur != n) ? cur->next : NULL;
    }
    return NULL;
}

size_t ota_xml_count(const xmlNode *parent, const char *local)
{
    size_t k = 0;
    for (xmlNode *c = ota_xml_child(parent, local); c; c = ota_xml_next(c, local))
        k++;
    return k;
}

static bool is_space(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Copies s trimmed into out, truncating at a UTF-8 boundary. */
static void copy_trimmed(const char *s, char *out, size_t cap)
{
    if (cap == 0)
        return;
    out[0] = '\0';
    if (!s)
        return;
    while (is_space((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len > 0 && is_space((unsigned char)s[len - 1]))
        len--;
    if (len >= cap) {
        len = cap - 1;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(out, s, len);
    out[len] = '\0';
}

static xmlAttr *find_attr(const xmlNode *n, const char *name)
{
    if (!n || n->type != XML_ELEMENT_NODE)
        return NULL;
    for (xmlAttr *a = n->properties; a; a = a->next)
        if (a->name && strcmp((const char *)a->name, name) == 0)
            return a;
    return NULL;
}

bool ota_xml_has_attr(const xmlNode *n, const char *name)
{
    return find_attr(n, name) != NULL;
}

bool ota_xml_attr(const xmlNode *n, const char *name, char *out, size_t cap)
{
    if (cap)
        out[0] = '\0';
    xmlAttr *a = find_attr(n, name);
    if (!a)
        return false;
    xmlChar *v = xmlNodeGetContent((xmlNode *)a);
    copy_trimmed((const char *)v, out, cap);
    xmlFree(v);
    return true;
}

bool ota_xml_text(const xmlNode *n, char *out, size_t cap)
{
    if (cap)
        out[0] = '\0';
    if (!n)
        return false;
    xmlChar *v = xmlNodeGetContent((xmlNode *)n);
    copy_trimmed((const char *)v, out, cap);
    xmlFree(v);
    return cap && out[0] != '\0';
}

char *ota_xml_text_dup(const xmlNode *n, size_t max)
{
    if (!n)
        return NULL;
    xmlChar *v = xmlNodeGetContent((xmlNode *)n);
    if (!v)
        return NULL;
    size_t len = strlen((const char *)v);
    char *out = malloc((len < max ? len : max) + 1);
    if (out)
        copy_trimmed((const char *)v, out, (len < max ? len : max) + 1);
    xmlFree(v);
    if (out && !out[0]) {
        free(out);
        return NULL;
    }
    return out;
}
