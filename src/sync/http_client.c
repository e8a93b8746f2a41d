/* Outbound HTTP for connectors and Mixpanel (libcurl): URL and credentials, the client-side
 * rate limit, Retry-After on 429, backoff on 5xx; transfers and waits stop on a cancel. */
#include "sync/http_client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/backoff.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"

#define MAX_BODY ((size_t)64 << 20)
/* How often a transfer in progress looks at should_stop: well inside the 1 s cancel promise. */
#define STOP_POLL_MS 100

struct hc_client {
    struct hc_opts opts;
    char *base_url;
    char *auth_header;
    CURL *curl;
    CURLM *multi; /* drives curl so that a transfer can be abandoned between polls */
    unsigned seed;
};

void hc_limiter_init(struct hc_limiter *l, const struct cfg_rate *rate)
{
    pthread_mutex_init(&l->mu, NULL);
    l->rate = *rate;
    l->tokens = rate->count;
    l->updated_ms = clock_now_ms();
}

void hc_limiter_destroy(struct hc_limiter *l)
{
    pthread_mutex_destroy(&l->mu);
}

/* Takes a token, or says how long until one is free. */
static int64_t limiter_take(struct hc_limiter *l)
{
    pthread_mutex_lock(&l->mu);
    int64_t now = clock_now_ms();
    double per_ms = (double)l->rate.count / (l->rate.period_sec * 1000.0);
    l->tokens += (double)(now - l->updated_ms) * per_ms;
    if (l->tokens > l->rate.count)
        l->tokens = l->rate.count;
    l->updated_ms = now;
    int64_t wait = 0;
    if (l->tokens >= 1.0)
        l->tokens -= 1.0;
    else
        wait = (int64_t)((1.0 - l->tokens) / per_ms) + 1;
    pthread_mutex_unlock(&l->mu);
    return wait;
}

enum herald_err hc_client_new(const struct hc_opts *opts, struct hc_client **out)
{
    struct hc_client *c = calloc(1, sizeof(*c));
    if (!c)
        return HERALD_ERR_NOMEM;
    c->opts = *opts;
    c->seed = (unsigned)clock_mono_ns();
    size_t n = strlen(opts->base_url);
    while (n && opts->base_url[n - 1] == '/')
        n--;
    c->base_url = strndup(opts->base_url, n);
    c->curl = curl_easy_init();
    c->multi = curl_multi_init();
    if (opts->basic_password) {
        /* Basic base64(":" + key), built here so the key never sits in a URL. */
        const char *user = opts->basic_user ? opts->basic_user : "";
        size_t klen = strlen(user) + 1 + strlen(opts->basic_password);
        char *plain = malloc(klen + 1), *enc = malloc(4 * ((klen + 2) / 3) + 8);
        c->auth_header = malloc(4 * ((klen + 2) / 3) + 32);
        if (plain && enc && c->auth_header) {
            snprintf(plain, klen + 1, "%s:%s", user, opts->basic_password);
            crypto_b64((const uint8_t *)plain, klen, enc);
            sprintf(c->auth_header, "Authorization: Basic %s", enc);
            memset(plain, 0, klen);
            memset(enc, 0, strlen(enc));
        }
        free(plain);
        free(enc);
    }
    if (!c->base_url || !c->curl || !c->multi || (opts->basic_password && !c->auth_header)) {
        hc_client_free(c);
        return HERALD_ERR_NOMEM;
    }
    *out = c;
    return HERALD_OK;
}

void hc_client_free(struct hc_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    if (c->multi)
        curl_multi_cleanup(c->multi);
    if (c->auth_header)
        memset(c->auth_header, 0, strlen(c->auth_header));
    free(c->auth_header);
    free(c->base_url);
    free(c);
}

static bool stop_requested(struct hc_client *c)
{
    return c->opts.should_stop && c->opts.should_stop(c->opts.stop_arg);
}

static bool transfer_stop_requested(struct hc_client *c)
{
    return !c->opts.finish_transfers && stop_requested(c);
}

bool hc_sleep(struct hc_client *c, int64_t ms)
{
    int64_t end = clock_mono_ns() + ms * 1000000;
    for (;;) {
        if (stop_requested(c))
            return false;
        int64_t left = (end - clock_mono_ns()) / 1000000;
        if (left <= 0)
            return true;
        int64_t slice = left < 100 ? left : 100;
        struct timespec ts = {slice / 1000, (slice % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct buf *b = arg;
    return buf_append(b, data, size * nmemb) ? 0 : size * nmemb;
}

/* delay-seconds (1*DIGIT), saturating instead of overflowing. */
static int64_t retry_after_seconds(const char *v)
{
    int64_t secs = 0;
    for (; isdigit((unsigned char)*v); v++) {
        secs = secs * 10 + (*v - '0');
        if (secs > HC_MAX_RETRY_AFTER_MS / 1000)
            return HC_MAX_RETRY_AFTER_MS;
    }
    return secs * 1000;
}

int64_t hc_parse_retry_after(const char *value, int64_t now_ms)
{
    char v[64];
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strcspn(value, "\r\n");
    if (n == 0 || n >= sizeof(v))
        return -1;
    memcpy(v, value, n);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    v[n] = '\0';
    if (strspn(v, "0123456789") == n)
        return retry_after_seconds(v);
    /* Otherwise an HTTP-date (IMF-fixdate, or the obsolete forms curl also reads). Anything
       else (negative, fractional, "nan") is not a Retry-After: the caller's default applies. */
    if (!isalpha((unsigned char)v[0]))
        return -1;
    time_t when = curl_getdate(v, NULL);
    if (when == (time_t)-1)
        return -1;
    double ms = (double)when * 1000.0 - (double)now_ms;
    if (ms <= 0)
        return 0;
    return ms >= HC_MAX_RETRY_AFTER_MS ? HC_MAX_RETRY_AFTER_MS : (int64_t)ms;
}

struct header_state {
    int64_t retry_after_ms;
};

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    struct header_state *h = arg;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        char value[128];
        size_t vlen = n - 12 < sizeof(value) - 1 ? n - 12 : sizeof(value) - 1;
        memcpy(value, data + 12, vlen);
        value[vlen] = '\0';
        h->retry_after_ms = hc_parse_retry_after(value, clock_now_ms());
    }
    return n;
}

/* Called by curl while a transfer runs: a non-zero return aborts it
   (CURLE_ABORTED_BY_CALLBACK). */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return transfer_stop_requested(arg) ? 1 : 0;
}

static int64_t backoff_ms(struct hc_client *c, int attempt)
{
    static const struct backoff upstream = {.first_ms = 250, .max_ms = 30000, .jitter_percent = 50};
    return backoff_delay_ms(&upstream, attempt, &c->seed);
}

struct hc_body {
    const char *content_type, *content_encoding;
    const void *data;
    size_t len;
};

/* base_url + path_query, plus the query-string key when the platform wants one. */
static int build_url(struct hc_client *c, const char *path_query, char *url, size_t size)
{
    int n = snprintf(url, size, "%s%s", c->base_url, path_query);
    if (!c->opts.query_key_name || n <= 0 || (size_t)n >= size)
        return HERALD_OK;
    char *value = curl_easy_escape(c->curl, c->opts.query_key_value, 0);
    if (!value)
        return HERALD_ERR_NOMEM;
    snprintf(url + n, size - (size_t)n, "%c%s=%s", strchr(path_query, '?') ? '&' : '?',
             c->opts.query_key_name, value);
    curl_free(value);
    return HERALD_OK;
}

/* The caller's extra headers replace the defaults they name (Accept, the body's Content-Type):
 * a server that reads the first of two Content-Type headers and one that reads the last must
 * see the same type (Booking.com documents application/xml for its ARI messages). */
static struct curl_slist *build_headers(const struct hc_client *c, const struct hc_body *body)
{
    bool own_accept = false, own_type = false;
    for (const char *const *h = c->opts.headers; h && *h; h++) {
        own_accept = own_accept || strncasecmp(*h, "Accept:", 7) == 0;
        own_type = own_type || strncasecmp(*h, "Content-Type:", 13) == 0;
    }
    struct curl_slist *headers =
        own_accept ? NULL : curl_slist_append(NULL, "Accept: application/json");
    for (const char *const *h = c->opts.headers; h && *h; h++)
        headers = curl_slist_append(headers, *h);
    if (c->auth_header)
        headers = curl_slist_append(headers, c->auth_header);
    if (body) {
        char ct[128], ce[128];
        snprintf(ct, sizeof(ct), "Content-Type: %s", body->content_type);
        if (!own_type)
            headers = curl_slist_append(headers, ct);
        if (body->content_encoding) {
            snprintf(ce, sizeof(ce), "Content-Encoding: %s", body->content_encoding);
            headers = curl_slist_append(headers, ce);
        }
        headers = curl_slist_append(headers, "Expect:");
    }
    return headers;
}

static void setup_transfer(struct hc_client *c, const char *url, const struct hc_body *body,
                           struct curl_slist *headers, struct hc_response *out,
                           struct header_state *hs)
{
    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, hs);
    curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->opts.timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "herald/0.1");
    curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (body) {
        curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body->data);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    }
}

/* Runs the transfer through the multi handle, waking at least every STOP_POLL_MS: curl calls
   on_progress only about once a second while nothing arrives, too rarely for a prompt cancel,
   so the loop also asks should_stop itself. */
static CURLcode run_transfer(struct hc_client *c)
{
    if (curl_multi_add_handle(c->multi, c->curl) != CURLM_OK)
        return CURLE_OUT_OF_MEMORY;
    CURLcode cc = CURLE_OK;
    for (int running = 1; running;) {
        if (curl_multi_perform(c->multi, &running) != CURLM_OK) {
            cc = CURLE_FAILED_INIT;
            break;
        }
        if (!running)
            break;
        if (transfer_stop_requested(c)) {
            cc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        curl_multi_poll(c->multi, NULL, 0, STOP_POLL_MS, NULL);
    }
    int left;
    for (CURLMsg *m; (m = curl_multi_info_read(c->multi, &left));)
        if (m->msg == CURLMSG_DONE && m->easy_handle == c->curl && cc == CURLE_OK)
            cc = m->data.result;
    curl_multi_remove_handle(c->multi, c->curl);
    return cc;
}

/* One attempt: fills out->body and out->status (0 on a transport error). */
static CURLcode perform_once(struct hc_client *c, const char *url, const struct hc_body *body,
                             struct hc_response *out, struct header_state *hs)
{
    buf_reset(&out->body);
    struct curl_slist *headers = build_headers(c, body);
    setup_transfer(c, url, body, headers, out, hs);
    CURLcode cc = run_transfer(c);
    curl_slist_free_all(headers);
    out->attempts++;
    long status = 0;
    if (cc == CURLE_OK)
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    out->status = status;
    return cc;
}

/* A 429: waits as Retry-After says (2 s without a readable one, HC_MAX_RETRY_AFTER_MS at
 * most). 0 to try again. */
static int wait_rate_limited(struct hc_client *c, const char *path_query, int64_t retry_after_ms,
                             struct hc_response *out, char *error, size_t error_size)
{
    if (++out->rate_limited > c->opts.max_rate_limited) {
        snprintf(error, error_size, "still rate limited after %d waits", out->rate_limited - 1);
        return HERALD_ERR_UPSTREAM;
    }
    int64_t ms = retry_after_ms >= 0 ? retry_after_ms : 2000;
    if (ms > HC_MAX_RETRY_AFTER_MS)
        ms = HC_MAX_RETRY_AFTER_MS;
    log_info("upstream rate limited",
             json_pack("{s:s, s:i}", "path", path_query, "retry_after_ms", (int)ms));
    return hc_sleep(c, ms) ? HERALD_OK : HERALD_ERR_CANCELLED;
}

/* A failed attempt: permanent (4xx) or transient (5xx, transport) with backoff. 0 to try
 * again. */
static int wait_failed(struct hc_client *c, const char *path_query, CURLcode cc,
                       struct hc_response *out, int *failures, char *error, size_t error_size)
{
    if (cc != CURLE_OK)
        snprintf(error, error_size, "%s", curl_easy_strerror(cc));
    else
        snprintf(error, error_size, "HTTP %ld", out->status);
    bool transient = cc != CURLE_OK || out->status >= 500;
    if (!transient || ++*failures >= c->opts.max_attempts)
        return HERALD_ERR_UPSTREAM;
    log_info("upstream request failed, retrying", json_pack("{s:s, s:s, s:i}", "path", path_query,
                                                            "error", error, "attempt", *failures));
    return hc_sleep(c, backoff_ms(c, *failures)) ? HERALD_OK : HERALD_ERR_CANCELLED;
}

static int hc_request(struct hc_client *c, const char *path_query, const struct hc_body *body,
                      struct hc_response *out, char *error, size_t error_size)
{
    memset(out, 0, sizeof(*out));
    buf_init(&out->body, MAX_BODY);
    error[0] = '\0';
    char url[4096];
    int rc = build_url(c, path_query, url, sizeof(url));
    for (int failures = 0; !rc;) {
        int64_t wait;
        while ((wait = limiter_take(c->opts.limiter)) > 0)
            if (!hc_sleep(c, wait))
                return HERALD_ERR_CANCELLED;
        struct header_state hs = {-1};
        CURLcode cc = perform_once(c, url, body, out, &hs);
        if (cc == CURLE_ABORTED_BY_CALLBACK)
            return HERALD_ERR_CANCELLED;
        if (cc == CURLE_OK && out->status >= 200 && out->status < 300)
            return HERALD_OK;
        if (cc == CURLE_OK && out->status == 429)
            rc = wait_rate_limited(c, path_query, hs.retry_after_ms, out, error, error_size);
        else
            rc = wait_failed(c, path_query, cc, out, &failures, error, error_size);
    }
    return rc;
}

enum herald_err hc_get(struct hc_client *c, const char *path_query, struct hc_response *out,
                       char *error, size_t error_size)
{
    return hc_request(c, path_query, NULL, out, error, error_size);
}

enum herald_err hc_post(struct hc_client *c, const char *path_query, const char *content_type,
                        const char *content_encoding, const void *data, size_t len,
                        struct hc_response *out, char *error, size_t error_size)
{
    struct hc_body body = {content_type, content_encoding, data, len};
    return hc_request(c, path_query, &body, out, error, error_size);
}
