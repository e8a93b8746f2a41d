/* The server object: built from its options (CORS list, metrics token, rate limiter, key cache,
 * metrics, request-id prefix), started through listen.c, and torn down with secrets wiped. */
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "base/log.h"
#include "http/internal.h"

#define AUTH_TTL_MS 1000     /* a revoked key stops within this */
#define AUTH_NEG_TTL_MS 5000 /* a wrong key repeated costs no lookup within this */

static void free_secret(char *s)
{
    if (s)
        memset(s, 0, strlen(s));
    free(s);
}

enum herald_err http_server_start(const struct http_server_opts *opts, struct http_server **out)
{
    struct http_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return HERALD_ERR_NOMEM;
    enum herald_err rc = HERALD_ERR_NOMEM;
    srv->opts = *opts;
    srv->cors_origins = strdup(opts->cors_origins ? opts->cors_origins : "");
    srv->metrics_token = strdup(opts->metrics_token ? opts->metrics_token : "");
    srv->stats = metrics_new(opts->nroutes);
    pthread_mutex_init(&srv->susp_mu, NULL);
    if (!srv->cors_origins || !srv->metrics_token || !srv->stats || ratelimit_new(&srv->rl) ||
        auth_cache_new(AUTH_TTL_MS, &srv->auth) || auth_cache_new(AUTH_NEG_TTL_MS, &srv->auth_neg))
        goto fail;
    uint8_t rnd[4];
    crypto_random(rnd, sizeof(rnd));
    crypto_hex(rnd, sizeof(rnd), srv->id_prefix);
    rc = listen_start(srv);
    if (rc)
        goto fail;
    *out = srv;
    return HERALD_OK;
fail:
    http_server_stop(srv);
    return rc;
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}

const char *http_server_metrics_token(const struct http_server *srv)
{
    return srv->metrics_token && *srv->metrics_token ? srv->metrics_token : NULL;
}

void http_server_forget_keys(struct http_server *srv)
{
    auth_cache_clear(srv->auth);
    auth_cache_clear(srv->auth_neg);
}

void http_server_stop(struct http_server *srv)
{
    if (!srv)
        return;
    if (srv->daemon) {
        /* libmicrohttpd aborts when stopped with a suspended connection: answer them first. */
        atomic_store(&srv->draining, true);
        if (lifecycle_abandon_suspended(srv) > 0 && !lifecycle_wait_suspended(srv, 5000)) {
            log_error("suspended requests did not finish; leaving the HTTP server running", NULL);
            return;
        }
        MHD_stop_daemon(srv->daemon);
    }
    pthread_mutex_destroy(&srv->susp_mu);
    ratelimit_free(srv->rl);
    auth_cache_free(srv->auth);
    auth_cache_free(srv->auth_neg);
    free(srv->stats);
    free(srv->cors_origins);
    free_secret(srv->metrics_token);
    free(srv->tls_cert);
    free_secret(srv->tls_key);
    free(srv);
}
