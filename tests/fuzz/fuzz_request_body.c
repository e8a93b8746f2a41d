/* Request bodies: arbitrary bytes through the JSON parser and the event endpoint's own parsing
 * (declarative field spec, then event-key validation). A rejected body must produce a JSON error
 * reply (403 for a connector's platform without events:import); an accepted one must yield a
 * well-formed key. */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "http/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!doc)
        return 0;
    struct http_request *req = calloc(1, sizeof(*req));
    json_t *events = NULL;
    const struct http_field outer[] = {{"events", HF_ARRAY, false, 1, 1000, &events}};
    int rc = http_parse_object(req, doc, outer, 1, "");
    struct evkey_fields fields;
    char key[EVKEY_MAX_LEN], *payload = NULL;
    if (!rc)
        rc = api_event_parse(req, events ? json_array_get(events, 0) : doc,
                             events ? "events[0]" : "", &fields, key, &payload);
    if (rc) {
        /* 400 for bad input; 403 only for a connector's platform, which this key-less request
           may not import (events:import). */
        bool reserved =
            req->reply_body && req->status == 403 && strstr(req->reply_body, "events:import");
        if (!req->reply_body || (req->status != 400 && !reserved) ||
            !strstr(req->reply_body, "\"success\":false"))
            abort();
    } else if (strncmp(key, fields.platform, strlen(fields.platform)) != 0 || strlen(key) < 20) {
        abort();
    }
    free(payload);
    reply_free(req);
    free(req);
    json_decref(doc);
    return 0;
}
