/* Request bodies: arbitrary bytes through the JSON parser, the declarative field spec of the
 * event endpoint, and event-key validation. A rejected body must produce a JSON error reply;
 * an accepted one must yield a well-formed key. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "events/key.h"
#include "http/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!doc)
        return 0;
    struct http_request *req = calloc(1, sizeof(*req));
    const char *platform = NULL, *campaign = NULL, *type = NULL, *email = NULL;
    const char *occurred = NULL, *source = NULL, *ns = NULL;
    json_t *events = NULL, *props = NULL;
    const struct http_field spec[] = {
        {"platform", HF_STRING, true, 1, 32, &platform},
        {"campaignId", HF_STRING, true, 1, 128, &campaign},
        {"eventType", HF_STRING, true, 1, 64, &type},
        {"email", HF_STRING, true, 1, 254, &email},
        {"occurredAt", HF_STRING, false, 1, 64, &occurred},
        {"sourceId", HF_STRING, false, 1, 256, &source},
        {"namespace", HF_STRING, false, 1, 64, &ns},
        {"properties", HF_OBJECT, false, 0, 0, &props},
    };
    const struct http_field outer[] = {{"events", HF_ARRAY, false, 1, 1000, &events}};
    int rc = http_parse_object(req, doc, outer, 1, "");
    json_t *item = doc;
    if (!rc && events)
        item = json_array_get(events, 0);
    if (!rc)
        rc = http_parse_object(req, item, spec, sizeof(spec) / sizeof(spec[0]),
                               events ? "events[0]" : "");
    if (rc) {
        if (!req->reply_body || req->status != 400 || !strstr(req->reply_body, "\"success\":false"))
            abort();
    } else {
        struct evkey_input in = {platform, campaign, type, email, source, occurred, ns};
        struct evkey_fields f;
        struct evkey_problem p;
        if (evkey_validate(&in, &f, &p) == 0) {
            char key[EVKEY_MAX_LEN];
            evkey_compute(&f, key);
            if (strncmp(key, f.platform, strlen(f.platform)) != 0 || strlen(key) < 20)
                abort();
        } else if (!p.field || !p.message) {
            abort();
        }
    }
    reply_free(req);
    free(req);
    json_decref(doc);
    return 0;
}
