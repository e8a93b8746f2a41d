/* The sync kind's params: the one place they are validated and normalised, whether they come
 * from POST /api/full-sync/execute or from the periodic schedule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/text.h"
#include "sync/connector.h"
#include "sync/sync.h"

static int refuse(struct jobs_problem *p, int rc, const char *field, const char *msg)
{
    snprintf(p->field, sizeof(p->field), "%s", field);
    snprintf(p->message, sizeof(p->message), "%s", msg);
    return rc;
}

static bool label_ok(const char *s, size_t max_len)
{
    return s && text_ident_ok(s, max_len, "_.:-");
}

/* A string, a comma-separated string, or a list of strings → a new JSON array of labels. */
static json_t *label_list(json_t *v, size_t max_len, bool *ok)
{
    json_t *out = json_array();
    *ok = json_is_string(v) || json_is_array(v);
    if (json_is_string(v)) {
        char *copy = strdup(json_string_value(v)), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            while (*t == ' ')
                t++;
            size_t n = strlen(t);
            while (n && t[n - 1] == ' ')
                t[--n] = '\0';
            *ok &= label_ok(t, max_len);
            json_array_append_new(out, json_string(t));
        }
        free(copy);
    } else {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            *ok &= label_ok(json_string_value(item), max_len);
            json_array_append(out, item);
        }
    }
    *ok &= json_array_size(out) > 0;
    return out;
}

/* The item bounds of the list fields, whichever form they come in (a list, or one string whose
   commas separate the items): the same as the HTTP spec's in api/full_sync.c. */
#define MAX_PLATFORMS 10
#define MAX_NAMESPACES 10
#define MAX_CAMPAIGNS 1000

static int check_count(json_t *list, size_t max, const char *field, struct jobs_problem *p)
{
    size_t n = json_array_size(list);
    if (n >= 1 && n <= max)
        return HERALD_OK;
    char msg[96];
    snprintf(msg, sizeof(msg), "%s must be of 1 to %zu items", field, max);
    return refuse(p, HERALD_ERR_INVALID, field, msg);
}

/* "platforms must be lemlist, smartlead or both", from the connector table. */
static void platforms_message(char *out, size_t size)
{
    size_t len = (size_t)snprintf(out, size, "platforms must be ");
    for (size_t i = 0; i < sync_connector_count && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%s", i ? ", " : "",
                                sync_connectors[i]->platform);
    if (len < size)
        snprintf(out + len, size - len, "%s", sync_connector_count == 2 ? " or both" : " (any)");
}

static int check_platforms(json_t *raw, json_t *params, struct jobs_problem *p)
{
    bool ok;
    json_t *platforms = label_list(json_object_get(raw, "platforms"), 32, &ok);
    size_t i;
    json_t *v;
    json_array_foreach(platforms, i, v) ok &= sync_connector_find(json_string_value(v)) != NULL;
    json_object_set_new(params, "platforms", platforms);
    if (ok)
        return check_count(platforms, MAX_PLATFORMS, "platforms", p);
    char msg[200];
    platforms_message(msg, sizeof(msg));
    return refuse(p, HERALD_ERR_INVALID, "platforms", msg);
}

static bool is_day(const char *s)
{
    int64_t ms;
    return s && strlen(s) == 10 && clock_parse_iso(s, &ms) == 0;
}

/* syncMode and, for date_range, the inclusive days. */
static int check_window(json_t *raw, json_t *params, struct jobs_problem *p)
{
    const char *mode = json_string_value(json_object_get(raw, "syncMode"));
    json_t *start_v = json_object_get(raw, "startDate"), *end_v = json_object_get(raw, "endDate");
    const char *start = json_string_value(start_v), *end = json_string_value(end_v);
    if (!mode ||
        (strcmp(mode, "full") && strcmp(mode, "date_range") && strcmp(mode, "incremental")))
        return refuse(p, HERALD_ERR_INVALID, "syncMode",
                      "syncMode must be full, date_range or incremental");
    if (start_v && !is_day(start))
        return refuse(p, HERALD_ERR_INVALID, "startDate", "startDate must be a date, YYYY-MM-DD");
    if (end_v && !is_day(end))
        return refuse(p, HERALD_ERR_INVALID, "endDate", "endDate must be a date, YYYY-MM-DD");
    if (!strcmp(mode, "date_range") && (!start || !end))
        return refuse(p, HERALD_ERR_INVALID, start ? "endDate" : "startDate",
                      "date_range needs both startDate and endDate");
    if (!strcmp(mode, "date_range") && strcmp(start, end) > 0)
        return refuse(p, HERALD_ERR_INVALID, "startDate", "startDate must not be after endDate");
    json_object_set_new(params, "syncMode", json_string(mode));
    if (start)
        json_object_set_new(params, "startDate", json_string(start));
    if (end)
        json_object_set_new(params, "endDate", json_string(end));
    return HERALD_OK;
}

/* Events carry the namespaces as one label, several joined with "," in order; event validation
   accepts such a list and GET /api/events?namespace= matches any one of them. */
static int check_namespaces(json_t *raw, json_t *params, struct jobs_problem *p)
{
    json_t *in = json_object_get(raw, "namespaces");
    if (!in || json_is_null(in))
        return HERALD_OK;
    bool ok;
    json_t *list = label_list(in, 64, &ok);
    if (ok && check_count(list, MAX_NAMESPACES, "namespaces", p)) {
        json_decref(list);
        return HERALD_ERR_INVALID;
    }
    char ns[400] = "";
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        size_t len = strlen(ns);
        snprintf(ns + len, sizeof(ns) - len, "%s%s", len ? "," : "", json_string_value(v));
    }
    json_decref(list);
    if (!ok)
        return refuse(p, HERALD_ERR_INVALID, "namespaces",
                      "each namespace must be 1-64 characters of A-Z a-z 0-9 _ . : -");
    if (strlen(ns) > 64)
        return refuse(p, HERALD_ERR_INVALID, "namespaces",
                      "the namespaces together must fit in 64 characters");
    json_object_set_new(params, "namespace", json_string(ns));
    return HERALD_OK;
}

static int check_campaigns(json_t *raw, json_t *params, struct jobs_problem *p)
{
    json_t *in = json_object_get(raw, "campaignIds");
    if (!in || json_is_null(in))
        return HERALD_OK;
    bool ok;
    json_t *list = label_list(in, 128, &ok);
    json_object_set_new(params, "campaignIds", list);
    return ok ? check_count(list, MAX_CAMPAIGNS, "campaignIds", p)
              : refuse(p, HERALD_ERR_INVALID, "campaignIds",
                       "each campaignId must be 1-128 characters of A-Z a-z 0-9 _ . : -");
}

/* enableProgressTracking: true (the default, not stored) or false (stored). */
static int check_tracking(json_t *raw, json_t *params, struct jobs_problem *p)
{
    json_t *v = json_object_get(raw, "enableProgressTracking");
    if (!v || json_is_null(v) || json_is_true(v))
        return HERALD_OK;
    if (!json_is_false(v))
        return refuse(p, HERALD_ERR_INVALID, "enableProgressTracking",
                      "enableProgressTracking must be true or false");
    json_object_set_new(params, "enableProgressTracking", json_false());
    return HERALD_OK;
}

static int check_credentials(const struct sync *s, json_t *params, struct jobs_problem *p)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(params, "platforms"), i, v)
    {
        const struct sync_connector *c = sync_connector_find(json_string_value(v));
        if (sync_platform_configured(s, c->platform))
            continue;
        char msg[160];
        snprintf(msg, sizeof(msg), "%s has no credentials configured (%s)", c->platform,
                 c->key_env);
        return refuse(p, HERALD_ERR_PLATFORM_NOT_CONFIGURED, "platforms", msg);
    }
    return HERALD_OK;
}

int sync_params_validate(void *arg, json_t *raw, json_t **out, struct jobs_problem *problem)
{
    *out = NULL;
    if (!json_is_object(raw))
        return refuse(problem, HERALD_ERR_INVALID, "", "params must be a JSON object");
    json_t *params = json_object();
    int rc = check_platforms(raw, params, problem);
    if (!rc)
        rc = check_window(raw, params, problem);
    if (!rc)
        rc = check_namespaces(raw, params, problem);
    if (!rc)
        rc = check_campaigns(raw, params, problem);
    if (!rc)
        rc = check_tracking(raw, params, problem);
    if (!rc)
        rc = check_credentials(arg, params, problem);
    if (rc) {
        json_decref(params);
        return rc;
    }
    *out = params;
    return HERALD_OK;
}
