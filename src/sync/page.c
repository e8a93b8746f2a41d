/* One page of upstream activities on its way to the event writer: keyed exactly as
 * POST /api/event-keys/generate keys events, filtered to the job's window, unkeyable ones
 * recorded as dead letters, then written in one batch. Shared by the connectors. */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "sync/connector.h"

int sync_page_init(struct sync_page *pg, size_t cap)
{
    memset(pg, 0, sizeof(*pg));
    cap = cap ? cap : 1;
    pg->items = calloc(cap, sizeof(*pg->items));
    pg->fields = calloc(cap, sizeof(*pg->fields));
    pg->keys = calloc(cap, sizeof(*pg->keys));
    pg->payloads = calloc(cap, sizeof(*pg->payloads));
    pg->cap = cap;
    pg->now = clock_now_ms();
    return pg->items && pg->fields && pg->keys && pg->payloads ? HERALD_OK : HERALD_ERR_NOMEM;
}

void sync_page_free(struct sync_page *pg)
{
    for (size_t i = 0; pg->payloads && i < pg->n; i++)
        free(pg->payloads[i]);
    free(pg->payloads);
    free(pg->items);
    free(pg->fields);
    free(pg->keys);
    memset(pg, 0, sizeof(*pg));
}

void sync_page_add(struct sync_run *run, struct sync_page *pg, const struct evkey_input *in,
                   int64_t when_ms, char *payload, const char *request, const char *why)
{
    struct evkey_problem problem = {0};
    size_t i = pg->n;
    if (!why && i >= pg->cap)
        why = "more events than the page could hold";
    if (!why && ((run->has_min && when_ms < run->min_ms) || when_ms >= run->max_ms)) {
        pg->outside++;
        free(payload);
        return;
    }
    if (!why && evkey_validate(in, &pg->fields[i], &problem))
        why = problem.message;
    if (why) {
        run->dead_letter(run, why, request, payload);
        pg->skipped++;
        free(payload);
        return;
    }
    struct evkey_fields *f = &pg->fields[i];
    evkey_compute(f, pg->keys[i]);
    struct store_event *ev = &pg->items[i].ev;
    ev->event_key = pg->keys[i];
    ev->platform = f->platform;
    ev->campaign_id = f->campaign_id;
    ev->event_type = f->event_type;
    ev->email = f->email;
    ev->source_id = f->has_source_id ? f->source_id : NULL;
    ev->namespace_ = f->has_namespace ? f->namespace_ : NULL;
    ev->payload = payload;
    ev->has_occurred_at = f->has_occurred_at;
    ev->occurred_at_ms = f->occurred_at_ms;
    ev->created_at_ms = pg->now;
    pg->payloads[i] = payload;
    pg->n++;
}

int sync_page_commit(struct sync_run *run, struct sync_page *pg, size_t seen)
{
    int rc = pg->n ? ingest_write(run->ingest, pg->items, pg->n) : HERALD_OK;
    if (rc)
        return rc;
    size_t created = 0;
    for (size_t i = 0; i < pg->n; i++)
        created += pg->items[i].created;
    sync_count(run->state, "pagesFetched", 1);
    sync_count(run->state, "eventsSeen", (json_int_t)seen);
    sync_count(run->state, "eventsStored", (json_int_t)created);
    sync_count(run->state, "duplicates", (json_int_t)(pg->n - created));
    sync_count(run->state, "deadLetters", (json_int_t)pg->skipped);
    sync_count(run->state, "outsideWindow", (json_int_t)pg->outside);
    return HERALD_OK;
}

void sync_count(json_t *obj, const char *name, json_int_t n)
{
    json_t *v = json_object_get(obj, name);
    json_object_set_new(obj, name, json_integer((v ? json_integer_value(v) : 0) + n));
}

int sync_fetch_json(struct sync_run *run, const char *path, json_t **doc, char **raw)
{
    struct hc_response resp;
    *doc = NULL;
    *raw = NULL;
    int rc = hc_get(run->http, path, &resp, run->error, sizeof(run->error));
    if (rc) {
        run->permanent = rc == HERALD_ERR_UPSTREAM && resp.status >= 400 && resp.status < 500;
        if (run->permanent)
            run->dead_letter(run, run->error, path, resp.body.data);
        buf_free(&resp.body);
        return rc;
    }
    *doc = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
    if (buf_steal(&resp.body, raw, NULL))
        *raw = NULL;
    return HERALD_OK;
}
