/* Outbound HTTP for connectors (libcurl): a client-side rate limit shared by every job that
 * talks to one platform, Retry-After on 429, exponential backoff with jitter on 5xx, timeouts
 * and resets, and waits that give up as soon as the job is cancelled or the server stops. */
#ifndef HERALD_SYNC_HTTP_CLIENT_H
#define HERALD_SYNC_HTTP_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/config.h"
#include "base/err.h"

/* One per platform per process: the documented request budget. Thread-safe. */
struct hc_limiter {
    pthread_mutex_t mu;
    double tokens;
    int64_t updated_ms;
    struct cfg_rate rate;
};
void hc_limiter_init(struct hc_limiter *l, const struct cfg_rate *rate);
void hc_limiter_destroy(struct hc_limiter *l);

/* Asked during waits and, at least every 100 ms, during a transfer: true abandons the request
 * with HERALD_ERR_CANCELLED. Called from the requesting thread only. */
typedef bool (*hc_stop_fn)(void *arg);

struct hc_opts {
    const char *base_url;       /* no trailing slash needed */
    const char *basic_user;     /* NULL: empty user name */
    const char *basic_password; /* Lemlist: Basic auth with an empty user name; NULL for none */
    /* Smartlead: the key travels as a query parameter, added to each URL here so that paths
       in logs and dead letters never carry it. */
    const char *query_key_name, *query_key_value;
    struct hc_limiter *limiter;
    long timeout_ms;
    int max_attempts;     /* for 5xx / transport errors */
    int max_rate_limited; /* consecutive 429s tolerated */
    hc_stop_fn should_stop;
    void *stop_arg;
    /* true: should_stop is asked during waits only, a transfer under way is finished (the
       Mixpanel forwarder: an import cut off after Mixpanel took it would arrive twice). */
    bool finish_transfers;
    /* Extra request headers, "Name: value", NULL-terminated (OTA channels: SOAPAction, the
       AlpineBits protocol headers); an "Accept:" line replaces the default, a "Content-Type:"
       line the body's (one of each is sent). NULL: none. */
    const char *const *headers;
};

struct hc_client;
enum herald_err hc_client_new(const struct hc_opts *opts, struct hc_client **out);
void hc_client_free(struct hc_client *c);

struct hc_response {
    long status;
    struct buf body; /* capped at 64 MiB; free with buf_free() */
    int attempts;
    int rate_limited; /* 429s waited out */
};

/* GETs base_url + path_query. Returns 0 with a 2xx response; HERALD_ERR_UPSTREAM for a
 * permanent HTTP error (4xx other than 429) or once retries are exhausted (out->status says
 * which; 0 for transport errors, with `error` filled); HERALD_ERR_CANCELLED when stopped.
 * The body of the last response is kept in both cases. */
enum herald_err hc_get(struct hc_client *c, const char *path_query, struct hc_response *out,
                       char *error, size_t error_size);
/* POSTs a body with the same policy as hc_get(). */
enum herald_err hc_post(struct hc_client *c, const char *path_query, const char *content_type,
                        const char *content_encoding, const void *data, size_t len,
                        struct hc_response *out, char *error, size_t error_size);
/* The longest wait a Retry-After can ask for: larger values (and far dates) are clamped. */
#define HC_MAX_RETRY_AFTER_MS 60000
/* A Retry-After header value (RFC 9110: delay-seconds or an HTTP-date) as milliseconds from
 * now_ms (wall clock), clamped to 0..HC_MAX_RETRY_AFTER_MS; -1 when it is neither (negative,
 * fractional, "nan", garbage), so that the caller's default applies. */
int64_t hc_parse_retry_after(const char *value, int64_t now_ms);
/* Sleeps up to ms, waking early (false) when should_stop says so. */
bool hc_sleep(struct hc_client *c, int64_t ms);

#endif
