/* Owns POST /api/event-keys/generate: parsing and validating one event or a batch, the
 * events:import check on connector platforms, submitting to the writer and the reply. */

/* One event, or {"events":[…]} with up to 1000. Each event is
 * validated, keyed and looked up among recently stored keys; the rest go to the event writer
 * and the request is answered once every row is durable (the connection is suspended
 * meanwhile, so no server thread waits). The reply is built here, on the server thread, for
 * the expected outcome; the writer thread only resumes the request, and rebuilds the reply
 * in the rare case it turned out otherwise (a failure, or a key another request stored
 * first). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/buf.h"
#include "base/clock.h"
#include "events/ingest.h"
#include "events/key.h"
#include "sync/connector.h"

#define MAX_BATCH 1000
#define MAX_PROPERTIES_BYTES 16384

struct generate {
    struct http_request *req;
    bool batch;
    size_t n;
    struct ingest_item *items;
    struct evkey_fields *fields;
    char **payloads;
    char (*keys)[EVKEY_MAX_LEN];
    struct ingest_ticket ticket;
};

/* One allocation for the request's state and its n slots. */
static struct generate *generate_new(size_t n)
{
    size_t size =
        sizeof(struct generate) + n * (sizeof(struct ingest_item) + sizeof(struct evkey_fields) +
                                       sizeof(char *) + EVKEY_MAX_LEN);
    struct generate *g = calloc(1, size);
    if (!g)
        return NULL;
    g->n = n;
    g->items = (struct ingest_item *)(g + 1);
    g->fields = (struct evkey_fields *)(g->items + n);
    g->payloads = (char **)(g->fields + n);
    g->keys = (char(*)[EVKEY_MAX_LEN])(g->payloads + n);
    return g;
}

static void generate_free(void *p)
{
    struct generate *g = p;
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        free(g->payloads[i]);
    free(g);
}

/* Whether item i was created: as stored (`final`), or as expected before the write (every
 * key not found among recent ones will be new). */
static bool item_created(const struct generate *g, size_t i, bool final)
{
    return final ? g->items[i].created : !g->items[i].answered;
}

/* Whether item i was dropped because its address is suppressed (known once stored). */
static bool item_suppressed(const struct generate *g, size_t i, bool final)
{
    return final && g->items[i].suppressed;
}

static const char *item_outcome(const struct generate *g, size_t i, bool final)
{
    return item_suppressed(g, i, final) ? "\",\"created\":false,\"suppressed\":true}"
           : item_created(g, i, final)  ? "\",\"created\":true}"
                                        : "\",\"created\":false}";
}

/* The success reply, written directly: keys hold only [a-z0-9_] (evkey_compute), so they
 * need no JSON escaping. An event of a suppressed (erased) address is answered
 * "created":false,"suppressed":true: nothing was stored. */
static void reply_results(struct generate *g, bool final)
{
    if (!g->batch) {
        char body[EVKEY_MAX_LEN + 96];
        int n = snprintf(body, sizeof(body), "{\"success\":true,\"eventKey\":\"%s%s", g->keys[0],
                         item_outcome(g, 0, final));
        http_reply_raw(g->req, 200, "application/json", body, (size_t)n);
        return;
    }
    struct buf b;
    buf_init(&b, (size_t)1 << 20);
    size_t created = 0, suppressed = 0;
    int rc = buf_append_str(&b, "{\"success\":true,\"results\":[");
    for (size_t i = 0; !rc && i < g->n; i++) {
        created += item_created(g, i, final);
        suppressed += item_suppressed(g, i, final);
        rc = buf_append_str(&b, i ? ",{\"eventKey\":\"" : "{\"eventKey\":\"");
        rc = rc ? rc : buf_append_str(&b, g->keys[i]);
        rc = rc ? rc : buf_append_str(&b, item_outcome(g, i, final));
    }
    if (!rc)
        rc = buf_printf(&b, "],\"created\":%zu,\"duplicates\":%zu", created,
                        g->n - created - suppressed);
    if (!rc)
        rc = suppressed ? buf_printf(&b, ",\"suppressed\":%zu}", suppressed)
                        : buf_append(&b, "}", 1);
    if (rc)
        http_reply_error(g->req, HERALD_ERR_NOMEM, NULL, NULL);
    else
        http_reply_raw(g->req, 200, "application/json", b.data, b.len);
    buf_free(&b);
}

/* Runs on the writer thread once every row is durable or failed. */
static void generate_done(void *arg)
{
    struct generate *g = arg;
    if (g->ticket.rc) {
        http_reply_error(g->req, (enum herald_err)g->ticket.rc, "events could not be stored", NULL);
    } else {
        for (size_t i = 0; i < g->n; i++) {
            if (item_created(g, i, true) != item_created(g, i, false) ||
                item_suppressed(g, i, true)) {
                reply_results(g, true);
                break;
            }
        }
    }
    http_req_resume(g->req);
}

/* A connector's platform (lemlist, smartlead) belongs to the sync engine: a key stores events
   under it only with the events:import scope, so an event cannot be planted before the sync. */
static int check_reserved(struct http_request *req, const struct evkey_fields *fields,
                          const char *path)
{
    if (!sync_connector_find(fields->platform) || http_req_has_scope(req, "events:import"))
        return HERALD_OK;
    char field[96];
    snprintf(field, sizeof(field), "%s%splatform", path, *path ? "." : "");
    http_reply_error(req, HERALD_ERR_FORBIDDEN,
                     "events of a connector platform are the sync's: storing them needs the "
                     "\"events:import\" scope",
                     field);
    return HERALD_ERR_FORBIDDEN;
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
    rc = check_reserved(req, fields, path);
    if (rc)
        return rc;
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

/* Parses one event or the batch into g's slots; answers 400 itself on bad input. */
static int parse_events(struct http_request *req, json_t *doc, json_t *events, struct generate *g)
{
    if (!g->batch)
        return api_event_parse(req, doc, "", &g->fields[0], g->keys[0], &g->payloads[0]);
    for (size_t i = 0; i < g->n; i++) {
        char path[32];
        snprintf(path, sizeof(path), "events[%zu]", i);
        int rc = api_event_parse(req, json_array_get(events, i), path, &g->fields[i], g->keys[i],
                                 &g->payloads[i]);
        if (rc)
            return rc;
    }
    return HERALD_OK;
}

enum http_result api_event_keys_generate(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    json_t *doc = NULL, *events = NULL;
    const struct http_field outer[] = {{"events", HF_ARRAY, false, 1, MAX_BATCH, &events}};
    if (http_parse_json(req, outer, 1, &doc))
        return HTTP_REPLIED;
    struct generate *g = generate_new(events ? json_array_size(events) : 1);
    if (!g) {
        json_decref(doc);
        return api_fail(req, HERALD_ERR_NOMEM);
    }
    g->req = req;
    g->batch = events != NULL;
    int rc = parse_events(req, doc, events, g);
    json_decref(doc);
    if (rc) {
        generate_free(g);
        return HTTP_REPLIED;
    }
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < g->n; i++)
        ingest_item_fill(&g->items[i], &g->fields[i], g->keys[i], g->payloads[i], now);
    /* Repeats of recently stored events are answered at once: no write, no suspension. */
    size_t known = ingest_lookup(app->ingest, g->items, g->n);
    reply_results(g, false);
    if (known == g->n) {
        generate_free(g);
        return HTTP_REPLIED;
    }
    http_req_set_state(req, g, generate_free);
    rc = ingest_submit(app->ingest, g->items, g->n, &g->ticket, generate_done, g);
    if (rc == HERALD_ERR_QUEUE_FULL)
        http_reply_header(req, "Retry-After", "1"); /* the writer drains a batch in ms */
    if (rc)
        return api_fail(req, rc);
    return HTTP_SUSPENDED;
}
