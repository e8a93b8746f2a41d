/* Mixpanel's GDPR API (v3): one deletion task for the distinct_ids an erasure collected.
 * POST {base}/data-deletions/v3.0/?token=<project token>, Authorization: Bearer <GDPR OAuth
 * token>, body {"distinct_ids":[...],"compliance_type":"GDPR"}; 200 {"status":"ok",
 * "results":{"task_id":...}}. Neither token is ever logged or returned. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "privacy/internal.h"

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    return buf_append(arg, data, size * n) ? 0 : size * n;
}

/* The task id of a 200 answer, or NULL. */
static json_t *task_id(const struct buf *body)
{
    json_t *doc = body->len ? json_loadb(body->data, body->len, 0, NULL) : NULL;
    json_t *id = json_object_get(json_object_get(doc, "results"), "task_id");
    json_t *out = json_is_string(id) || json_is_integer(id) ? json_incref(id) : NULL;
    json_decref(doc);
    return out;
}

static long post(const struct privacy_opts *o, const char *body, struct buf *resp, char *err,
                 size_t err_size)
{
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    char *tok = curl_easy_escape(c, o->mixpanel_token, 0);
    char url[2400], auth[4200];
    snprintf(url, sizeof(url), "%s/data-deletions/v3.0/?token=%s", o->mixpanel_gdpr_base_url,
             tok ? tok : "");
    curl_free(tok);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->mixpanel_gdpr_token);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    explicit_bzero(auth, sizeof(auth));
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->timeout_ms > 0 ? o->timeout_ms : 30000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "herald/0.1");
    CURLcode cr = curl_easy_perform(c);
    long status = -1;
    if (cr == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        snprintf(err, err_size, "%s", curl_easy_strerror(cr));
    curl_slist_free_all(h);
    explicit_bzero(url, sizeof(url));
    curl_easy_cleanup(c);
    return status;
}

/* Why a request was not accepted, for the erasure's report: never Mixpanel's body (it may
 * echo what was sent) and never a token. */
static void reason(long status, const char *err, char *out, size_t size)
{
    if (status < 0)
        snprintf(out, size, "no answer from Mixpanel: %s", *err ? err : "transport error");
    else if (status == 401 || status == 403)
        snprintf(out, size,
                 "Mixpanel refused the credentials (HTTP %ld): check HERALD_MIXPANEL_GDPR_TOKEN "
                 "and HERALD_MIXPANEL_TOKEN, then retry the deletion",
                 status);
    else if (status == 429 || status >= 500)
        snprintf(out, size, "Mixpanel was unavailable (HTTP %ld)", status);
    else
        snprintf(out, size, "Mixpanel refused the request (HTTP %ld)", status);
}

/* The state kept when Mixpanel did not accept the deletion. */
static json_t *failed(long status, const char *err, size_t n_ids)
{
    char why[300];
    reason(status, err, why, sizeof(why));
    return json_pack("{s:s, s:o, s:s, s:I}", "status", "failed", "httpStatus",
                     status > 0 ? json_integer(status) : json_null(), "reason", why, "distinctIds",
                     (json_int_t)n_ids);
}

enum herald_err privacy_mixpanel_delete(const struct privacy_opts *o, json_t *ids, json_t **out)
{
    *out = NULL;
    json_t *req = json_pack("{s:O, s:s}", "distinct_ids", ids, "compliance_type", "GDPR");
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body)
        return HERALD_ERR_NOMEM;
    struct buf resp;
    buf_init(&resp, 1 << 20);
    char err[200] = "";
    long status = post(o, body, &resp, err, sizeof(err));
    free(body);
    json_t *tid = status == 200 ? task_id(&resp) : NULL;
    buf_free(&resp);
    log_emit(status == 200 ? LOG_INFO : LOG_WARN, "mixpanel deletion request",
             json_pack("{s:I, s:s}", "status", (json_int_t)status, "error", err));
    size_t n = json_array_size(ids);
    if (status == 200)
        *out = json_pack("{s:s, s:o, s:I}", "status", "requested", "taskId",
                         tid ? tid : json_null(), "distinctIds", (json_int_t)n);
    else
        *out = failed(status, err, n);
    if (!*out)
        return HERALD_ERR_NOMEM;
    /* A wrong or revoked token (401/403) is an operator's fix away, like an outage: retried. */
    bool transient = status < 0 || status == 401 || status == 403 || status == 429 || status >= 500;
    return transient ? HERALD_ERR_UPSTREAM : HERALD_OK;
}
