/* Private to http/: the request structure and the small modules server.c composes. */
#ifndef HERALD_HTTP_INTERNAL_H
#define HERALD_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "http/http.h"

struct MHD_Connection;

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
    bool early_reply; /* answered before the body was read */
    int route_idx;    /* -1 when no route matched */
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
int ratelimit_new(struct ratelimit **out);
void ratelimit_free(struct ratelimit *rl);
void ratelimit_take(struct ratelimit *rl, const char *who, const struct cfg_rate *rate,
                    int64_t now_ms, struct ratelimit_verdict *out);

/* auth.c: Bearer parsing, scope checks and a short-lived cache of successful lookups. */
struct auth_cache;
int auth_cache_new(struct auth_cache **out);
void auth_cache_free(struct auth_cache *c);
void auth_cache_clear(struct auth_cache *c);
bool auth_cache_get(struct auth_cache *c, const char *secret_hash, int64_t now_ms,
                    struct http_principal *out);
void auth_cache_put(struct auth_cache *c, const char *secret_hash, int64_t now_ms,
                    const struct http_principal *p);
/* Points *token at the key in "Bearer KEY"; false when the header is missing or malformed. */
bool auth_bearer_token(const char *header, const char **token);
bool auth_scope_ok(const char *scopes, const char *needed);

/* cors.c */
bool cors_origin_allowed(const char *allowed_list, const char *origin);

/* reply.c */
void reply_free(struct http_request *req);

#endif
