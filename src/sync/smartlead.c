/* Smartlead: every campaign, then each campaign's per-send statistics rows (offset pages of up
 * to 1000, read to the end); a row yields up to five events, each at its own time. */
#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "sync/connector.h"

#define PAGE 1000
#define EVENTS_PER_ROW 6 /* sent, opened, clicked, replied, bounced, unsubscribed */

static int fetch_campaigns(struct sync_run *run, json_t *ids)
{
    json_t *doc;
    char *raw;
    int rc = sync_fetch_json(run, "/campaigns/", &doc, &raw);
    if (rc)
        return rc;
    if (!json_is_array(doc)) {
        rc = sync_malformed(run, "malformed campaigns list: not a JSON array", "/campaigns/", raw,
                            "malformed campaigns list");
        json_decref(doc);
        free(raw);
        return rc;
    }
    free(raw);
    size_t i;
    json_t *c;
    json_array_foreach(doc, i, c)
    {
        json_t *id = json_object_get(c, "id");
        char text[32];
        if (json_is_integer(id))
            snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(id));
        else if (json_is_string(id))
            snprintf(text, sizeof(text), "%.31s", json_string_value(id));
        else
            continue;
        if (sync_campaign_wanted(run, text))
            json_array_append_new(ids, json_string(text));
    }
    json_decref(doc);
    return HERALD_OK;
}

static const char *time_member(json_t *row, const char *name, int64_t *ms)
{
    json_t *v = json_object_get(row, name);
    if (!json_is_string(v) || clock_parse_iso(json_string_value(v), ms))
        return NULL;
    return json_string_value(v);
}

static void stats_id_of(json_t *row, char out[64])
{
    json_t *sid = json_object_get(row, "stats_id");
    if (json_is_string(sid))
        snprintf(out, 64, "%.63s", json_string_value(sid));
    else if (json_is_integer(sid))
        snprintf(out, 64, "%lld", (long long)json_integer_value(sid));
    else
        out[0] = '\0';
}

/* One event of a row, its payload the cleaned row plus what marks it. */
static void add_event(struct sync_run *run, struct sync_page *pg, json_t *clean,
                      const struct evkey_input *in, int64_t when_ms, const char *upstream,
                      bool approximate, const char *request, const char *why)
{
    json_t *payload = json_deep_copy(clean);
    json_object_set_new(payload, "upstreamType", json_string(upstream));
    if (approximate)
        json_object_set_new(payload, "timeApproximate", json_true());
    sync_page_add(run, pg, in, when_ms, json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS), request,
                  why);
    json_decref(payload);
}

/* One statistics row → its events: up to four timed, then bounced and unsubscribed at the
 * row's latest time. */
static void add_row(struct sync_run *run, struct sync_page *pg, json_t *row,
                    const char *campaign_id, const char *request)
{
    static const struct {
        const char *field, *type;
    } timed[] = {{"sent_time", "sent"},     {"open_time", "opened"},
                 {"click_time", "clicked"}, {"reply_time", "replied"},
                 {"is_bounced", "bounced"}, {"is_unsubscribed", "unsubscribed"}};
    char stats_id[64];
    stats_id_of(row, stats_id);
    json_t *email = json_object_get(row, "lead_email");
    json_t *clean = json_deep_copy(row);
    json_object_del(clean, "email_message"); /* large, and not ours to keep */
    const char *why = !stats_id[0]             ? "statistics row without stats_id"
                      : !json_is_string(email) ? "statistics row without lead_email"
                                               : NULL;
    if (why) {
        sync_page_add(run, pg, NULL, 0, json_dumps(clean, JSON_COMPACT | JSON_SORT_KEYS), request,
                      why);
        json_decref(clean);
        return;
    }
    struct evkey_input in = {"smartlead", campaign_id, NULL,           json_string_value(email),
                             stats_id,    NULL,        run->namespace_};
    int64_t latest = -1, ms;
    const char *latest_iso = NULL, *iso;
    for (size_t i = 0; i < 4; i++) {
        if (!(iso = time_member(row, timed[i].field, &ms)))
            continue;
        if (ms > latest) {
            latest = ms;
            latest_iso = iso;
        }
        in.event_type = timed[i].type;
        in.occurred_at = iso;
        add_event(run, pg, clean, &in, ms, timed[i].field, false, request, NULL);
    }
    for (size_t i = 4; i < 6; i++) {
        if (!json_is_true(json_object_get(row, timed[i].field)))
            continue;
        in.event_type = timed[i].type;
        in.occurred_at = latest_iso;
        add_event(run, pg, clean, &in, latest, timed[i].field, true, request,
                  latest_iso ? NULL : "bounce or unsubscribe on a row with no time");
    }
    json_decref(clean);
}

/* The documented example answers per-sequence aggregates, not per-send rows: refuse those. */
static bool looks_aggregate(json_t *data)
{
    json_t *first = json_array_get(data, 0);
    return first && !json_object_get(first, "stats_id") &&
           (json_object_get(first, "sent") || json_object_get(first, "opened") ||
            json_object_get(first, "sequence_number"));
}

static int sync_stats_page(struct sync_run *run, const char *campaign_id, json_int_t offset,
                           size_t *got, bool *last)
{
    char path[512];
    /* Campaign ids come from upstream: escaped, so none can reshape the path or query. */
    char *escaped = curl_easy_escape(NULL, campaign_id, 0);
    if (!escaped)
        return HERALD_ERR_NOMEM;
    snprintf(path, sizeof(path), "/campaigns/%s/statistics?offset=%lld&limit=%d", escaped,
             (long long)offset, PAGE);
    curl_free(escaped);
    json_t *doc;
    char *raw;
    int rc = sync_fetch_json(run, path, &doc, &raw);
    if (rc)
        return rc;
    json_t *data = json_object_get(doc, "data");
    const char *problem = !json_is_array(data) ? "malformed statistics page: no data list"
                          : looks_aggregate(data)
                              ? "statistics came back as per-sequence aggregates, not per-send "
                                "rows; refusing to store them as events"
                              : NULL;
    if (problem) {
        rc = sync_malformed(run, problem, path, raw, "%s (campaign %s, offset %lld)", problem,
                            campaign_id, (long long)offset);
        json_decref(doc);
        free(raw);
        return rc;
    }
    free(raw);
    size_t n = json_array_size(data);
    rc = sync_page_store(run, data, EVENTS_PER_ROW, add_row, campaign_id, path);
    json_t *total = json_object_get(doc, "total_stats");
    long long total_rows = json_is_string(total)    ? strtoll(json_string_value(total), NULL, 10)
                           : json_is_integer(total) ? json_integer_value(total)
                                                    : -1;
    *got = n;
    *last = n < PAGE || (total_rows >= 0 && offset + (json_int_t)n >= total_rows);
    json_decref(doc);
    return rc;
}

/* The key travels as a query parameter; the HTTP client adds it so logs never carry it. */
static void credentials(const char *api_key, struct hc_opts *ho)
{
    ho->query_key_name = "api_key";
    ho->query_key_value = api_key;
}

const struct sync_connector sync_smartlead = {
    .platform = "smartlead",
    .key_env = "HERALD_SMARTLEAD_API_KEY",
    .cfg_base_url = offsetof(struct cfg, smartlead_base_url),
    .cfg_api_key = offsetof(struct cfg, smartlead_api_key),
    .cfg_rate = offsetof(struct cfg, smartlead_rate),
    .credentials = credentials,
    .probe_path = "/campaigns/",
    .fetch_campaigns = fetch_campaigns,
    .fetch_page = sync_stats_page,
    .page_size = PAGE,
    .parse_record = add_row,
    .events_per_record = EVENTS_PER_ROW,
};
