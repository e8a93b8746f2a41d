/* One page of upstream activities on its way to the event writer: keyed, filtered to the job's
 * window, unkeyable ones dead-lettered, then written in one batch. Shared by the connectors. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "sync/connector.h"

enum herald_err sync_page_init(struct sync_page *pg, size_t cap)
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
    evkey_compute(&pg->fields[i], pg->keys[i]);
    ingest_item_fill(&pg->items[i], &pg->fields[i], pg->keys[i], payload, pg->now);
    pg->payloads[i] = payload;
    pg->n++;
}

enum herald_err sync_page_commit(struct sync_run *run, struct sync_page *pg, size_t seen)
{
    int rc = pg->n ? ingest_write(run->ingest, pg->items, pg->n) : HERALD_OK;
    if (rc)
        return rc;
    size_t created = 0, suppressed = 0;
    for (size_t i = 0; i < pg->n; i++) {
        created += pg->items[i].created;
        suppressed += pg->items[i].suppressed;
    }
    sync_count(run->state, "pagesFetched", 1);
    sync_count(run->state, "eventsSeen", (json_int_t)seen);
    sync_count(run->state, "eventsStored", (json_int_t)created);
    sync_count(run->state, "duplicates", (json_int_t)(pg->n - created - suppressed));
    sync_count(run->state, "suppressed", (json_int_t)suppressed);
    sync_count(run->state, "deadLetters", (json_int_t)pg->skipped);
    sync_count(run->state, "outsideWindow", (json_int_t)pg->outside);
    return HERALD_OK;
}

void sync_count(json_t *obj, const char *name, json_int_t n)
{
    json_t *v = json_object_get(obj, name);
    json_object_set_new(obj, name, json_integer((v ? json_integer_value(v) : 0) + n));
}

enum herald_err sync_fetch_json(struct sync_run *run, const char *path, json_t **doc, char **raw)
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

enum herald_err sync_run_campaigns(struct sync_run *run, sync_campaigns_fn campaigns,
                                   sync_page_fn page, int page_size)
{
    json_t *cursor = json_object_get(run->state, "_cursor");
    int rc;
    if (!cursor) {
        json_t *ids = json_array();
        if ((rc = campaigns(run, ids))) {
            json_decref(ids);
            return rc;
        }
        json_object_set_new(run->state, "campaignsTotal",
                            json_integer((json_int_t)json_array_size(ids)));
        json_object_set_new(run->state, "campaignsDone", json_integer(0));
        cursor = json_pack("{s:o, s:i, s:i}", "campaigns", ids, "index", 0, "offset", 0);
        json_object_set_new(run->state, "_cursor", cursor);
        run->force_checkpoint = true;
        rc = run->checkpoint(run);
        run->force_checkpoint = false;
        if (rc)
            return rc;
    }
    json_t *ids = json_object_get(cursor, "campaigns");
    size_t index = (size_t)json_integer_value(json_object_get(cursor, "index"));
    /* Feeds move (Lemlist's grows at its head) or have no stated order (Smartlead's): on
       resume, re-read one page; the event keys make the overlap harmless. */
    json_int_t offset = json_integer_value(json_object_get(cursor, "offset"));
    offset = offset > page_size ? offset - page_size : 0;
    for (; index < json_array_size(ids); index++, offset = 0) {
        const char *campaign_id = json_string_value(json_array_get(ids, index));
        for (bool last = false; !last;) {
            size_t got = 0;
            if ((rc = page(run, campaign_id, offset, &got, &last)))
                return rc;
            offset += (json_int_t)got;
            json_object_set_new(cursor, "offset", json_integer(offset));
            if ((rc = run->checkpoint(run)))
                return rc;
        }
        json_object_set_new(cursor, "index", json_integer((json_int_t)index + 1));
        json_object_set_new(cursor, "offset", json_integer(0));
        sync_count(run->state, "campaignsDone", 1);
        if ((rc = run->checkpoint(run)))
            return rc;
    }
    return HERALD_OK;
}

bool sync_campaign_wanted(const struct sync_run *run, const char *campaign_id)
{
    if (!run->campaign_ids)
        return true;
    size_t i;
    json_t *v;
    json_array_foreach(run->campaign_ids, i,
                       v) if (strcmp(json_string_value(v), campaign_id) == 0) return true;
    return false;
}

enum herald_err sync_malformed(struct sync_run *run, const char *reason, const char *request,
                               const char *body, const char *fmt, ...)
{
    run->dead_letter(run, reason, request, body);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(run->error, sizeof(run->error), fmt, ap);
    va_end(ap);
    run->permanent = true;
    return HERALD_ERR_UPSTREAM_MALFORMED;
}

enum herald_err sync_page_store(struct sync_run *run, json_t *records, size_t events_per_record,
                                sync_record_fn parse, const char *campaign_id, const char *request)
{
    size_t n = json_array_size(records);
    struct sync_page pg;
    int rc = sync_page_init(&pg, n * events_per_record);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        parse(run, &pg, json_array_get(records, i), campaign_id, request);
    rc = sync_page_commit(run, &pg, n);
    sync_page_free(&pg);
    return rc;
}
