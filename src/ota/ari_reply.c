/* Owns the reading of a channel's answer to a rate or availability notification: HTTP status,
 * <Success/>, <Warnings> and <Errors> mapped to the request's items (by RPH, RecordID or
 * LocatorID), and what is worth retrying. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/ari.h"
#include "ota/xml.h"

void ari_items_clear(struct ari_item_result *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++) {
        json_decref(items[i].errors);
        json_decref(items[i].warnings);
        items[i] = (struct ari_item_result){0};
    }
}

static void add(json_t **list, json_t *entry)
{
    if (!*list)
        *list = json_array();
    json_array_append(*list, entry);
}

/* {"type","code","text"} of an <Error>/<Warning>; *locator gets the item it names (0: none). */
static json_t *entry_of(const xmlNode *e, size_t *locator)
{
    char type[16], code[16], ref[32];
    char *text = ota_xml_text_dup(e, 500);
    char short_text[256];
    ota_xml_attr(e, "Type", type, sizeof(type));
    ota_xml_attr(e, "Code", code, sizeof(code));
    ota_xml_attr(e, "ShortText", short_text, sizeof(short_text));
    *locator = 0;
    if (ota_xml_attr(e, "RPH", ref, sizeof(ref)) || ota_xml_attr(e, "RecordID", ref, sizeof(ref)) ||
        ota_xml_attr(e, "LocatorID", ref, sizeof(ref))) {
        char *end = NULL;
        unsigned long v = strtoul(ref, &end, 10);
        if (end && *end == '\0' && v > 0)
            *locator = v;
    }
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", type, "code", code, "text",
                          text && *text ? text : short_text);
    free(text);
    return o;
}

/* Files each child `local` of list under its item (or every item); returns how many there were.
 * *transient is set for a system-unavailable / system-error <Error> (Type 12, Code 187/448). */
static size_t file_entries(const xmlNode *list, const char *local, bool errors,
                           struct ari_item_result *items, size_t n, bool *transient)
{
    size_t count = 0;
    if (!list)
        return 0;
    for (xmlNode *e = ota_xml_child(list, local); e; e = ota_xml_next(e, local)) {
        size_t loc;
        json_t *o = entry_of(e, &loc);
        if (!o)
            continue;
        const char *type = json_string_value(json_object_get(o, "type"));
        const char *code = json_string_value(json_object_get(o, "code"));
        if (errors && strcmp(type, "12") == 0 && (!strcmp(code, "187") || !strcmp(code, "448")))
            *transient = true;
        for (size_t i = 0; i < n; i++) {
            if (loc && loc != i + 1 && loc <= n)
                continue;
            add(errors ? &items[i].errors : &items[i].warnings, o);
            if (errors)
                items[i].failed = true;
        }
        json_decref(o);
        count++;
    }
    return count;
}

static void fail_all(struct ari_item_result *items, size_t n, const char *text)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", "", "code", "", "text", text);
    for (size_t i = 0; i < n; i++) {
        if (!items[i].errors || json_array_size(items[i].errors) == 0)
            add(&items[i].errors, o);
        items[i].failed = true;
    }
    json_decref(o);
}

enum ari_reply_kind ari_read_reply(long status, const char *body, size_t len, size_t n,
                                   struct ari_item_result *items, char *why, size_t why_cap)
{
    snprintf(why, why_cap, "HTTP %ld", status);
    if (status == 0 || status == 429 || status >= 500)
        return ARI_REPLY_TRANSIENT;
    struct ota_xml_doc *doc = NULL;
    struct herald_error err = {0};
    xmlNode *root = NULL;
    if (body && len && ota_xml_parse(body, len, NULL, &doc, &err) == HERALD_OK)
        root = ota_xml_body(doc);
    bool transient = false, success = root && ota_xml_child(root, "Success");
    size_t nerr = 0;
    if (root) {
        nerr = file_entries(ota_xml_child(root, "Errors"), "Error", true, items, n, &transient);
        file_entries(ota_xml_child(root, "Warnings"), "Warning", false, items, n, &transient);
    }
    ota_xml_free(doc);
    if (status >= 400) { /* 4xx other than 429: these items will not go through as they are */
        fail_all(items, n, why);
        return ARI_REPLY_DONE;
    }
    if (transient) {
        snprintf(why, why_cap, "the channel is unavailable (OpenTravel error 12/187 or 448)");
        ari_items_clear(items, n);
        return ARI_REPLY_TRANSIENT;
    }
    if (!success && nerr == 0) {
        snprintf(why, why_cap, "%s",
                 root ? "the answer has neither <Success/> nor <Errors>"
                      : "the answer is not OpenTravel XML");
        ari_items_clear(items, n);
        return ARI_REPLY_TRANSIENT;
    }
    return ARI_REPLY_DONE;
}
