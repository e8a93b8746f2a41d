/* The HTTP layer's public face for api/ and main.c: routes, requests, replies and the
 * server's lifecycle. libmicrohttpd types never leave http/.
 *
 * A handler runs on a server thread once the whole body has been read (within the size cap).
 * It either sets a reply and returns HTTP_REPLIED, or hands the request to another thread and
 * returns HTTP_SUSPENDED; that thread sets the reply and calls http_req_resume() exactly once.
 * A streaming route (HTTP_STREAM) gets its body piece by piece instead: see "streaming
 * bodies" below. */
#ifndef HERALD_HTTP_HTTP_H
#define HERALD_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/config.h"
#include "base/err.h"

struct http_request;
struct http_server;

enum http_result {
    HTTP_REPLIED,
    HTTP_SUSPENDED,
    HTTP_STREAMING, /* only from http_req_stream(): read the body into the sink */
};
typedef enum http_result (*http_handler_fn)(struct http_request *req, void *ctx);

enum http_access {
    HTTP_PUBLIC, /* no key; limited per client IP (rate_ip) */
    /* No key; the recipients' signed links (open pixel, clicks, unsubscribe and preference
     * pages), limited per client IP at rate_links: mail providers' image proxies and one-click
     * unsubscribes arrive for many users from a few addresses, so rate_ip would drop them. */
    HTTP_RECIPIENT,
    HTTP_LIVENESS, /* no key, no limit: only for a handler that touches nothing (/livez) */
    HTTP_API_KEY,  /* Authorization: Bearer KEY, with `scope` when set */
    /* No key: partners' machine-to-machine posts (OTA pushes, inbound webhooks) that the
     * handler authenticates itself (per-channel credentials, signatures). Limited per client IP
     * at rate_partner, in a bucket of their own; the body cap is max_partner_body; errors the
     * server answers for such a route (429, 413, 503) go through partner_error when set, so the
     * partner gets them in its own language. */
    HTTP_PARTNER,
    /* Or-ed with one of the above: the body is streamed, not buffered ("streaming bodies"). */
    HTTP_STREAM = 0x100,
};

struct http_route {
    const char *method;  /* "GET", "POST", "DELETE" ... */
    const char *pattern; /* "/api/jobs/{id}/retry": {name} matches one non-empty segment */
    http_handler_fn handler;
    enum http_access access;
    const char *scope; /* NULL: any valid key */
};

/* Who a valid key belongs to: filled by the key lookup callback. */
struct http_principal {
    char key_id[40];
    char scopes[256]; /* comma-separated; "admin" grants every scope */
    bool has_rate;
    struct cfg_rate rate;
};
/* Looks up a presented secret. HERALD_OK, HERALD_ERR_UNAUTHORIZED (unknown or revoked), or a
 * store error (answered 503). Called from server threads. */
typedef enum herald_err (*http_key_lookup_fn)(void *ctx, const char *secret,
                                              struct http_principal *out);

/* Defaults for the options left 0 (they match the configuration table's). */
#define HTTP_DEFAULT_RATE_IP_KEYED ((struct cfg_rate){6000, 60})
#define HTTP_DEFAULT_MAX_CONNECTIONS 10000
#define HTTP_DEFAULT_PER_IP_CONNECTIONS 128
#define HTTP_DEFAULT_IDLE_TIMEOUT_SEC 15
#define HTTP_DEFAULT_MAX_STREAM_BODY ((size_t)512 << 20)

struct http_server_opts {
    const char *host;
    int port; /* 0 = any free port: see http_server_port() */
    int threads;
    size_t max_body;
    const char *tls_cert_file, *tls_key_file; /* both or neither */
    const char *cors_origins;                 /* comma-separated */
    struct cfg_rate rate_key_default;
    /* Per client IP: requests without a valid key, public routes and CORS preflights. */
    struct cfg_rate rate_ip;
    /* Per client IP: every request that presents a key, charged before the key is looked up.
     * {0, 0}: HTTP_DEFAULT_RATE_IP_KEYED. */
    struct cfg_rate rate_ip_keyed;
    /* Per client IP: HTTP_RECIPIENT routes. {0, 0}: rate_ip. */
    struct cfg_rate rate_links;
    /* Per client IP: HTTP_PARTNER routes. {0, 0}: rate_ip. */
    struct cfg_rate rate_partner;
    /* Body cap of HTTP_PARTNER routes; 0: max_body. */
    size_t max_partner_body;
    /* Formats an error the server itself answers on an HTTP_PARTNER route (rate limit, body
     * too large, shutting down), with handler_ctx: it sets the reply (http_reply_raw) with
     * herald_err_http_status(err) and returns true, or returns false for the JSON error body.
     * NULL: always the JSON body. */
    bool (*partner_error)(struct http_request *req, enum herald_err err, const char *message,
                          void *ctx);
    int max_connections;       /* 0: HTTP_DEFAULT_MAX_CONNECTIONS; lowered to fit RLIMIT_NOFILE */
    int per_ip_connections;    /* 0: HTTP_DEFAULT_PER_IP_CONNECTIONS */
    int idle_timeout_sec;      /* 0: HTTP_DEFAULT_IDLE_TIMEOUT_SEC */
    const char *metrics_token; /* "" or NULL: /metrics needs no token */
    const struct http_route *routes;
    size_t nroutes;
    void *handler_ctx;
    http_key_lookup_fn key_lookup;
    void *lookup_ctx;
    size_t max_stream_body; /* cap of a streamed body; 0: HTTP_DEFAULT_MAX_STREAM_BODY */
};

enum herald_err http_server_start(const struct http_server_opts *opts, struct http_server **out);
int http_server_port(const struct http_server *srv);
/* Stops accepting connections; requests under way go on. */
void http_server_quiesce(struct http_server *srv);
/* Waits until no request is in flight or `timeout_ms` passes; true when idle. At the deadline
 * every suspended request is answered 503 shutting_down and let go (see http_server_stop). */
bool http_server_wait_idle(struct http_server *srv, int timeout_ms);
/* Answers every request still suspended 503 shutting_down and waits (bounded) until the server
 * has sent those answers, then stops the daemon and frees the server. A handler's thread that
 * later finishes such a request may still set its reply and call http_req_resume(): the reply is
 * dropped and the request freed then, so its state outlives the server safely. */
void http_server_stop(struct http_server *srv);
/* Appends the HTTP metrics in Prometheus text format. */
enum herald_err http_server_write_metrics(struct http_server *srv, struct buf *out);
/* Drops cached key lookups (after a key is revoked in this process). */
void http_server_forget_keys(struct http_server *srv);
/* Counts requests refused with 429 since start. */
unsigned long long http_server_rate_limited(struct http_server *srv);
/* The metrics bearer token configured, or NULL. */
const char *http_server_metrics_token(const struct http_server *srv);

/* ---- the request ---- */
const char *http_req_method(const struct http_request *req);
const char *http_req_path(const struct http_request *req);
const char *http_req_id(const struct http_request *req);
/* A {name} segment of the route pattern, or NULL. */
const char *http_req_param(const struct http_request *req, const char *name);
/* A query-string argument (decoded), or NULL. */
const char *http_req_query(struct http_request *req, const char *name);
const char *http_req_header(struct http_request *req, const char *name);
const char *http_req_body(const struct http_request *req, size_t *len);
/* Whether the Content-Type is an XML one: application/xml, text/xml or application/soap+xml
 * (parameters such as charset or SOAP 1.2's action ignored). False when there is none. */
bool http_req_is_xml(struct http_request *req);
const struct http_principal *http_req_principal(const struct http_request *req);
bool http_req_has_scope(const struct http_request *req, const char *scope);
/* The client's address (the peer's, as the per-IP limits see it). */
const char *http_req_client_ip(const struct http_request *req);
/* Takes one token from the bucket "<bucket>:<client IP>" in the server's rate limiter (the
 * buckets of the per-IP limits, ratelimit.c), refilled at `rate`. Replies nothing: false with
 * *retry_after_sec when the bucket is empty. For limits a handler applies itself (the public
 * subscribe form). */
bool http_req_take_rate(struct http_request *req, const char *bucket, const struct cfg_rate *rate,
                        long *retry_after_sec);
/* Whether that bucket has a token left, taking none: for a limit on failures, checked before
 * the work and charged (http_req_take_rate) only when it fails. */
bool http_req_peek_rate(struct http_request *req, const char *bucket, const struct cfg_rate *rate);
/* Attaches handler state that lives until the request completes; `free_fn` then runs. */
void http_req_set_state(struct http_request *req, void *state, void (*free_fn)(void *));
/* The state attached with http_req_set_state(), or NULL. */
void *http_req_state(const struct http_request *req);
/* From another thread, after the reply is set: lets the server send it. */
void http_req_resume(struct http_request *req);

/* ---- streaming bodies (lifecycle.c) ----
 * A route whose access has HTTP_STREAM never holds its body in memory. Its handler runs on the
 * headers (after authentication, rate limits and the scope check), before any of the body is
 * read, and either answers at once (a refusal: the body is not read, and a client that sent
 * "Expect: 100-continue" never sends it) or returns http_req_stream(req, &sink). Each piece of
 * the body then goes to sink->chunk, in order, on a server thread, as it arrives (the client
 * waits while chunk runs: back-pressure); once the body is complete, sink->finish runs as a
 * handler does (replies or suspends). A body past the server's max_stream_body is answered
 * 413 and the sink hears no more of it. State for the sink hangs on the request
 * (http_req_set_state()); its free function runs however the request ends (client gone). */
struct http_sink {
    /* True to go on; false after setting the reply: the rest of the body is read and dropped,
     * that reply is sent, and finish does not run. */
    bool (*chunk)(struct http_request *req, void *ctx, const char *data, size_t len);
    http_handler_fn finish;
};
/* From a streaming route's handler on the headers: returns HTTP_STREAMING (return it).
 * `sink` must outlive the request (a static). */
enum http_result http_req_stream(struct http_request *req, const struct http_sink *sink);

/* ---- replies (reply.c); each sets the one reply of the request ---- */
/* Steals `body`. */
void http_reply_json(struct http_request *req, int status, json_t *body);
/* {"success":false,"error":{"code","message"[,"field"]}} with the error's status.
 * `message` NULL uses the error's default text. */
void http_reply_error(struct http_request *req, enum herald_err err, const char *message,
                      const char *field);
/* The same reply from a detail struct: its code, its message (or the code's default), and its
 * field when set. This and http_reply_error() write the only error body there is. */
void http_reply_err(struct http_request *req, const struct herald_error *err);
/* Copies `body`. */
void http_reply_raw(struct http_request *req, int status, const char *content_type,
                    const char *body, size_t len);
/* Adds a response header (copied). */
void http_reply_header(struct http_request *req, const char *name, const char *value);

/* ---- JSON bodies and query strings (request.c) ---- */
enum http_field_type { HF_STRING, HF_INT, HF_BOOL, HF_ARRAY, HF_OBJECT, HF_STRINGS };
struct http_field {
    const char *name;
    enum http_field_type type;
    bool required;
    long long min, max; /* string length, integer value, or array size (0,0 = unbounded) */
    void *out;          /* const char ** (borrowed from the document), long long *, bool *,
                           json_t ** (borrowed) */
};
/* Parses the body as a JSON object and applies the spec. On failure it answers 415/400 with
 * the offending field itself and returns the error: the handler then returns HTTP_REPLIED.
 * On success *doc holds the document (json_decref it); borrowed outputs live as long. */
enum herald_err http_parse_json(struct http_request *req, const struct http_field *spec, size_t n,
                                json_t **doc);
/* Applies a spec to one object of a document without replying: HERALD_ERR_INVALID with the
 * offending field ("events[3].email" when `path` is "events[3]") and message in *err. */
enum herald_err http_check_object(json_t *obj, const struct http_field *spec, size_t n,
                                  const char *path, struct herald_error *err);
/* http_check_object(), answering 400 itself on failure. */
enum herald_err http_parse_object(struct http_request *req, json_t *obj,
                                  const struct http_field *spec, size_t n, const char *path);
/* Reads an optional integer query argument within bounds; answers 400 itself. */
enum herald_err http_query_int(struct http_request *req, const char *name, long long min,
                               long long max, long long def, long long *out);

#endif
