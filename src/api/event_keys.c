/* POST /api/event-keys/generate: one event, or {"events":[…]} with up to 1000. Each event is
 * validated, keyed and handed to the event writer; the request is answered once every row is
 * durable (the connection is suspended meanwhile, so no server thread waits). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/clock.h"
#include "events/ingest.h"
#include "events/key.h"

#define MAX_BATCH 1000
#define MAX_PROPERTIES_BYTES 16384

struct generate {
    struct http_request *req;
    bool batch;
    size_t n;
    struct evkey_fields *fields;
    char (*keys)[EVKEY_MAX_LEN];
    char **payloads;
    struct ingest_item *items;
    struct ingest_ticket ticket;
};

static void generate_free(void *p)
{
    struct generate *g = p;
    if (!g)
        return;
    for (size_t i = 0; g->payloads && i < g->n; i++)
        free(g->payloads[i]);
    free(g->payloads);
    free(g->fields);
    free(g->keys);
    free(g->items);
    free(g);
}

static void generate_reply(struct generate *g)
{
    if (g->ticket.rc) {
        http_reply_error(g->req, (enum herald_err)g->ticket.rc, "events could not be stored", NULL);
    } else if (!g->batch) {
        json_t *body = json_pack("{s:b, s:s, s:b}", "success", 1, "eventKey", g->keys[0], "created",
                                 g->items[0].created);
        http_reply_json(g->req, 200, body);
    } else {
        json_t *results = json_array();
        size_t created = 0;
        for (size_t i = 0; results && i < g->n; i++) {
            created += g->items[i].created;
            json_array_append_new(results, json_pack("{s:s, s:b}", "eventKey", g->keys[i],
                                                     "created", g->items[i].created));
        }
        json_t *body =
            json_pack("{s:b, s:o, s:I, s:I}", "success", 1, "results", results, "created",
                      (json_int_t)created, "duplicates", (json_int_t)(g->n - created));
        http_reply_json(g->req, 200, body);
    }
}

/* Runs on the writer thread once every row is durable or failed. */
static void generate_done(void *arg)
{
    struct generate *g = arg;
    generate_reply(g);
    http_req_resume(g->req);
}

int api_event_parse(struct http_request *req, json_t *obj, const char *path,
                    struct evkey_fields *fields, char key[EVKEY_MAX_LEN], char **payload)
{
    const char *platform = NULL, *campaign = NULL, *type = NULL, *email = NULL;
    const char *occurred = NULL, *source = NULL, *ns = NULL;
    json_t *props = NULL;
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
    *payload = NULL;
    int rc = http_parse_object(req, obj, spec, sizeof(spec) / sizeof(spec[0]), path);
    if (rc)
        return rc;
    struct evkey_input in = {platform, campaign, type, email, source, occurred, ns};
    struct evkey_problem problem;
    char field[96];
    rc = evkey_validate(&in, fields, &problem);
    if (rc) {
        snprintf(field, sizeof(field), "%s%s%s", path, *path ? "." : "", problem.field);
        http_reply_error(req, HERALD_ERR_INVALID, problem.message, field);
        return rc;
    }
    if (props) {
        *payload = json_dumps(props, JSON_COMPACT | JSON_SORT_KEYS);
        if (!*payload || strlen(*payload) > MAX_PROPERTIES_BYTES) {
            free(*payload);
            *payload = NULL;
            snprintf(field, sizeof(field), "%s%sproperties", path, *path ? "." : "");
            http_reply_error(req, HERALD_ERR_INVALID,
                             "properties must be an object of at most 16 KiB", field);
            return HERALD_ERR_INVALID;
        }
    }
    evkey_compute(fields, key);
    return HERALD_OK;
}

static int alloc_slots(struct generate *g, size_t n)
{
    g->n = n;
    g->fields = calloc(n, sizeof(*g->fields));
    g->keys = calloc(n, sizeof(*g->keys));
    g->payloads = calloc(n, sizeof(*g->payloads));
    g->items = calloc(n, sizeof(*g->items));
    return g->fields && g->keys && g->payloads && g->items ? HERALD_OK : HERALD_ERR_NOMEM;
}

enum http_result api_event_keys_generate(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    json_t *doc = NULL, *events = NULL;
    const struct http_field outer[] = {{"events", HF_ARRAY, false, 1, MAX_BATCH, &events}};
    if (http_parse_json(req, outer, 1, &doc))
        return HTTP_REPLIED;
    struct generate *g = calloc(1, sizeof(*g));
    if (!g) {
        json_decref(doc);
        return api_fail(req, HERALD_ERR_NOMEM);
    }
    g->req = req;
    g->batch = events != NULL;
    int rc = alloc_slots(g, g->batch ? json_array_size(events) : 1);
    if (rc)
        goto fail;
    if (g->batch) {
        for (size_t i = 0; i < g->n; i++) {
            char path[32];
            snprintf(path, sizeof(path), "events[%zu]", i);
            if ((rc = api_event_parse(req, json_array_get(events, i), path, &g->fields[i],
                                      g->keys[i], &g->payloads[i])))
                goto replied;
        }
    } else if ((rc = api_event_parse(req, doc, "", &g->fields[0], g->keys[0], &g->payloads[0]))) {
        goto replied;
    }
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < g->n; i++)
        ingest_item_fill(&g->items[i], &g->fields[i], g->keys[i], g->payloads[i], now);
    json_decref(doc);
    doc = NULL;
    /* Repeats of recently stored events are answered at once: no write, no suspension. */
    size_t known = 0;
    while (known < g->n && ingest_known(app->ingest, g->keys[known]))
        known++;
    if (known == g->n) {
        ingest_count_known(app->ingest, g->n);
        generate_reply(g);
        generate_free(g);
        return HTTP_REPLIED;
    }
    http_req_set_state(req, g, generate_free);
    rc = ingest_submit(app->ingest, g->items, g->n, &g->ticket, generate_done, g);
    if (rc)
        return api_fail(req, rc);
    return HTTP_SUSPENDED;
fail:
    api_fail(req, rc);
replied:
    json_decref(doc);
    generate_free(g);
    return HTTP_REPLIED;
}
