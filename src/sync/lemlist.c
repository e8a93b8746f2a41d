/* Lemlist: campaigns, then each campaign's activities (newest first, offset pages of 100, in a
 * window fixed at job start), each one event keyed like POST /api/event-keys/generate. */
#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "events/key.h"
#include "sync/connector.h"

#define PAGE 100

static const struct {
    const char *upstream, *normal;
} type_map[] = {
    {"emailsSent", "sent"},
    {"emailsOpened", "opened"},
    {"emailsClicked", "clicked"},
    {"emailsReplied", "replied"},
    {"emailsBounced", "bounced"},
    {"emailsUnsubscribed", "unsubscribed"},
    {"emailsFailed", "failed"},
    {"emailsDone", "done"},
    {"emailsInterested", "interested"},
    {"emailsNotInterested", "not_interested"},
};

/* The normalised type, or the upstream one made safe for an event type. */
static void event_type_of(const char *upstream, char out[65])
{
    for (size_t i = 0; i < sizeof(type_map) / sizeof(type_map[0]); i++)
        if (strcmp(upstream, type_map[i].upstream) == 0) {
            snprintf(out, 65, "%s", type_map[i].normal);
            return;
        }
    size_t n = 0;
    for (const char *p = upstream; *p && n < 64; p++, n++) {
        char c = *p;
        out[n] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                         c == '_' || c == '.' || c == '-'
                     ? c
                     : '_';
    }
    out[n] = '\0';
    if (n == 0)
        snprintf(out, 65, "unknown");
}

static const char *str_member(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

static void iso_param(const char *name, int64_t ms, char *out, size_t size)
{
    char iso[40];
    clock_format_iso_ms(ms, iso, sizeof(iso));
    snprintf(out, size, "&%s=%s", name, iso);
}

static void window_query(const struct sync_run *run, char *out, size_t size)
{
    char min[64] = "", max[64];
    if (run->has_min)
        iso_param("minDate", run->min_ms, min, sizeof(min));
    iso_param("maxDate", run->max_ms, max, sizeof(max));
    snprintf(out, size, "%s%s", min, max);
}

/* Reads the campaign list, in either documented shape (bare array or v2 envelope). */
static int fetch_campaigns(struct sync_run *run, json_t *ids)
{
    for (int page = 1, offset = 0;; page++) {
        char path[256];
        snprintf(path, sizeof(path),
                 "/campaigns?version=v2&page=%d&limit=%d&offset=%d&sortBy=createdAt&sortOrder=asc",
                 page, PAGE, offset);
        struct hc_response resp;
        int rc = hc_get(run->http, path, &resp, run->error, sizeof(run->error));
        if (rc) {
            run->permanent = rc == HERALD_ERR_UPSTREAM && resp.status >= 400 && resp.status < 500;
            buf_free(&resp.body);
            return rc;
        }
        json_t *doc = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
        json_t *list = json_is_array(doc) ? doc : json_object_get(doc, "campaigns");
        if (!json_is_array(list)) {
            rc = sync_malformed(run, "malformed campaigns page", path, resp.body.data,
                                "malformed campaigns page %d", page);
            json_decref(doc);
            buf_free(&resp.body);
            return rc;
        }
        size_t i;
        json_t *c;
        json_array_foreach(list, i, c)
        {
            const char *id = str_member(c, "_id");
            if (id && sync_campaign_wanted(run, id))
                json_array_append_new(ids, json_string(id));
        }
        size_t got = json_array_size(list);
        bool more;
        if (json_is_array(doc)) {
            more = got == PAGE;
        } else {
            json_t *pg = json_object_get(doc, "pagination");
            json_t *next = json_object_get(pg, "nextPage");
            more = json_is_integer(next) && json_integer_value(next) > page && got > 0;
        }
        offset += (int)got;
        json_decref(doc);
        buf_free(&resp.body);
        if (!more)
            return HERALD_OK;
    }
}

/* Turns one activity into an event of the page (or a dead letter). */
static void add_activity(struct sync_run *run, struct sync_page *pg, json_t *act,
                         const char *campaign_id, const char *request)
{
    const char *id = str_member(act, "_id"), *type = str_member(act, "type");
    const char *created = str_member(act, "createdAt");
    const char *email = str_member(act, "leadEmail");
    if (!email)
        email = str_member(act, "email");
    if (!email)
        email = str_member(json_object_get(act, "lead"), "email");
    const char *campaign = str_member(act, "campaignId");
    const char *why = NULL;
    char event_type[65] = "unknown";
    int64_t created_ms = 0;
    if (!id || !type || !created)
        why = "activity without _id, type or createdAt";
    else if (clock_parse_iso(created, &created_ms))
        why = "activity with an unreadable createdAt";
    else if (!email)
        why = "activity without a lead email";
    if (type)
        event_type_of(type, event_type);
    struct evkey_input in = {
        "lemlist",      campaign ? campaign : campaign_id, event_type, email, id, created,
        run->namespace_};
    sync_page_add(run, pg, &in, created_ms, json_dumps(act, JSON_COMPACT | JSON_SORT_KEYS), request,
                  why);
}

/* Fetches and stores one page; *got = activities on the page. */
static int sync_page(struct sync_run *run, const char *campaign_id, json_int_t offset, size_t *got,
                     bool *last)
{
    char window[160], path[1024];
    window_query(run, window, sizeof(window));
    char *escaped = curl_easy_escape(NULL, campaign_id, 0);
    if (!escaped)
        return HERALD_ERR_NOMEM;
    snprintf(path, sizeof(path), "/activities?version=v2&campaignId=%s&offset=%lld&limit=%d%s",
             escaped, (long long)offset, PAGE, window);
    curl_free(escaped);
    json_t *doc;
    char *raw;
    int rc = sync_fetch_json(run, path, &doc, &raw);
    if (rc)
        return rc;
    if (!json_is_array(doc)) {
        rc = sync_malformed(run, "malformed activities page: not a JSON array", path, raw,
                            "malformed activities page for campaign %.64s at offset %lld",
                            campaign_id, (long long)offset);
        json_decref(doc);
        free(raw);
        return rc;
    }
    free(raw);
    size_t n = json_array_size(doc);
    rc = sync_page_store(run, doc, 1, add_activity, campaign_id, path);
    json_decref(doc);
    *got = n;
    *last = n < PAGE; /* a short page ends the feed */
    return rc;
}

/* Basic auth with an empty user name. */
static void credentials(const char *api_key, struct hc_opts *ho)
{
    ho->basic_password = api_key;
}

const struct sync_connector sync_lemlist = {
    .platform = "lemlist",
    .key_env = "HERALD_LEMLIST_API_KEY",
    .cfg_base_url = offsetof(struct cfg, lemlist_base_url),
    .cfg_api_key = offsetof(struct cfg, lemlist_api_key),
    .cfg_rate = offsetof(struct cfg, lemlist_rate),
    .credentials = credentials,
    .probe_path = "/campaigns?version=v2&limit=1",
    .fetch_campaigns = fetch_campaigns,
    .fetch_page = sync_page,
    .page_size = PAGE,
    .parse_record = add_activity,
    .events_per_record = 1,
};
