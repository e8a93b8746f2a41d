/* Private to http/: the server and request structures and the small modules that share them.
 * libmicrohttpd types appear here and in the .c files of http/ only; nothing outside http/ includes
 * this. */
#ifndef HERALD_HTTP_INTERNAL_H
#define HERALD_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "base/err.h"
#include "http/http.h"

struct route_stats; /* metrics.c */

struct http_server {
    struct MHD_Daemon *daemon;
    struct http_server_opts opts;
    char *cors_origins;
    char *metrics_token;
    char *tls_cert, *tls_key;
    bool tls;
    int port;
    struct ratelimit *rl;
    struct auth_cache *auth;     /* successful lookups */
    struct auth_cache *auth_neg; /* failed lookups */
    pthread_mutex_t susp_mu;     /* guards the list of suspended requests; taken before req->mu */
    struct http_request *suspended;
    struct route_stats *stats; /* nroutes + 1 ("unmatched") */
    atomic_long in_flight;
    atomic_bool draining; /* after quiesce: answer 503 at once, never suspend */
    atomic_ullong rate_limited;
    atomic_ullong next_request;
    char id_prefix[16];
};

#define HTTP_MAX_PARAMS 8

struct http_header_kv {
    char *name, *value;
    struct http_header_kv *next;
};

enum req_phase { PHASE_RUNNING, PHASE_SUSPENDED, PHASE_RESUMED };

struct http_request {
    struct http_server *srv;
    struct MHD_Connection *conn;
    char method[16];
    char *path;
    char request_id[72];
    char client_ip[64];
    int64_t start_ns;
    struct buf body;
    bool too_large;
    const struct http_sink *sink; /* a streaming route's, once its handler asked for the body */
    size_t streamed;              /* bytes handed to the sink */
    bool sink_done;               /* the sink refused the body, or it was too large */
    bool early_reply;             /* answered before the body was read */
    bool routed;                  /* dispatch_headers() let it through to its handler */
    int route_idx;                /* -1 when no route matched */
    struct {
        const char *name; /* points into the route pattern */
        size_t name_len;
        char *value;
    } params[HTTP_MAX_PARAMS];
    int nparams;
    bool authenticated;
    struct http_principal principal;
    /* reply */
    bool reply_set;
    int status;
    char *reply_body;
    size_t reply_len;
    char content_type[64];
    const char *error_code; /* for the access log */
    struct http_header_kv *headers;
    bool has_ratelimit;
    long rl_limit, rl_remaining, rl_reset;
    /* suspension */
    pthread_mutex_t mu;
    enum req_phase phase;
    bool resume_requested;
    bool abandoned; /* answered 503 at shutdown; the handler's reply is dropped */
    bool completed; /* the server is done with it; the handler's resume frees it */
    struct http_request *susp_prev, *susp_next;
    void *state;
    void (*state_free)(void *);
};

/* router.c */
/* Finds the route for method+path. Returns its index, or -1; *path_matched tells whether some
 * route has this path under another method (405 rather than 404). Fills req params. */
int router_match(const struct http_route *routes, size_t n, const char *method, const char *path,
                 struct http_request *req, bool *path_matched);
/* Writes the methods allowed on `path` ("GET, POST") into out. */
void router_allowed(const struct http_route *routes, size_t n, const char *path, char *out,
                    size_t size);
void router_free_params(struct http_request *req);

/* ratelimit.c: token buckets (capacity = count, refilled evenly over the period). */
struct ratelimit;
struct ratelimit_verdict {
    bool allowed;
    long limit, remaining, reset_sec, retry_after_sec;
};
enum herald_err ratelimit_new(struct ratelimit **out);
void ratelimit_free(struct ratelimit *rl);
void ratelimit_take(struct ratelimit *rl, const char *who, const struct cfg_rate *rate,
                    int64_t now_ms, struct ratelimit_verdict *out);
/* True when `who` has a token left (an unknown caller has a full bucket); takes nothing. */
bool ratelimit_peek(struct ratelimit *rl, const char *who, const struct cfg_rate *rate,
                    int64_t now_ms);
/* Buckets held (at most 16 × 8192: a full shard drops the buckets that have refilled). */
size_t ratelimit_count(struct ratelimit *rl);

/* auth.c: Bearer parsing, scope checks and short-lived caches of lookups (fixed size). */
struct auth_cache;
enum herald_err auth_cache_new(int64_t ttl_ms, struct auth_cache **out);
void auth_cache_free(struct auth_cache *c);
void auth_cache_clear(struct auth_cache *c);
/* `out` may be NULL (a negative cache only asks whether the hash is there). */
bool auth_cache_get(struct auth_cache *c, const char *secret_hash, int64_t now_ms,
                    struct http_principal *out);
/* `p` may be NULL (a negative entry). */
void auth_cache_put(struct auth_cache *c, const char *secret_hash, int64_t now_ms,
                    const struct http_principal *p);
/* Points *token at the key in "Bearer KEY"; false when the header is missing or malformed. */
bool auth_bearer_token(const char *header, const char **token);
bool auth_scope_ok(const char *scopes, const char *needed);

/* cors.c */
bool cors_origin_allowed(const char *allowed_list, const char *origin);
/* Adds Access-Control-Allow-Origin and friends when the request's Origin is allowed. */
void cors_add_reply_headers(struct http_request *req, struct MHD_Response *resp);
/* Answers an OPTIONS request: Allow, and the CORS preflight headers for an allowed origin. */
void cors_answer_options(struct http_request *req);

/* reply.c */
void reply_free(struct http_request *req);
/* Sets the 503 shutting_down reply of an abandoned request; the caller holds req->mu. */
void reply_shutting_down_locked(struct http_request *req);

/* lifecycle.c: the libmicrohttpd callbacks, suspend/resume and draining. */
/* Answers 503 every request still suspended and resumes it; returns how many remain in the
 * suspended list (resumed, not yet taken back by the server threads). */
int lifecycle_abandon_suspended(struct http_server *srv);
/* Waits until the suspended list is empty or `timeout_ms` passes; true when empty. */
bool lifecycle_wait_suspended(struct http_server *srv, int timeout_ms);
enum MHD_Result lifecycle_on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_size, void **con_cls);
void lifecycle_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                            enum MHD_RequestTerminationCode toe);

/* dispatch.c, in two steps. On the headers, before any body is read: drain check → OPTIONS
 * and public routes (per-IP limit) → route → authentication (per-IP limits, key caches, key
 * limit, scope). True lets the body be read; false means the reply is set. Then, with the body:
 * size cap → handler. */
bool dispatch_headers(struct http_request *req);
enum http_result dispatch_body(struct http_request *req);
/* The access of a route without its HTTP_STREAM flag. */
enum http_access dispatch_access(const struct http_route *route);
/* The body cap of a request for method+url: the server's stream cap on a streaming route,
 * max_partner_body (when set) on a partner route, max_body on any other. */
size_t dispatch_body_cap(const struct http_server *srv, const char *method, const char *url);
/* Finds the route of a request answered before dispatch_headers() ran (a body announced over
 * the cap), so that its error is formatted for the route (partner_error). */
void dispatch_route_only(struct http_request *req);

/* compress.c: gzip of a reply body when the client accepts it and it is worth it. */
struct compressed {
    const char *body; /* the reply body, or `owned` */
    size_t len;
    char *owned; /* the gzip stream (free() it), or NULL */
};
void compress_reply(struct http_request *req, struct compressed *out);
/* Content-Encoding and Vary: Accept-Encoding for a reply compress_reply() saw. */
void compress_add_headers(const struct http_request *req, const struct compressed *c,
                          struct MHD_Response *resp);

/* headers.c: the headers every reply carries (request id, security, rate limit, 401's
 * challenge) and those the handler added. */
void headers_add_security(struct http_request *req, struct MHD_Response *resp);
void headers_add_reply(struct http_request *req, struct MHD_Response *resp);

/* access_log.c: one JSON line per finished request at level info. */
void access_log_write(const struct http_request *req, double seconds, int termination);

/* metrics.c: per-route status counts and latency histograms. */
struct route_stats *metrics_new(size_t nroutes);
void metrics_record(struct http_server *srv, const struct http_request *req, double seconds);

/* listen.c: address resolution, TLS material and the libmicrohttpd daemon. */
enum herald_err listen_start(struct http_server *srv);

#endif
