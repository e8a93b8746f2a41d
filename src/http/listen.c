/* Listening: bind address, TLS material in memory, connection limits (total within RLIMIT_NOFILE,
 * per IP, idle timeout) and the libmicrohttpd daemon (poll() thread pool, suspend/resume, logs). */
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/log.h"
#include "http/internal.h"

#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE"

/* Reads a whole file of at most 1 MiB; NULL when it cannot. Allocates (free() it). */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b;
    buf_init(&b, 1 << 20);
    char chunk[4096];
    size_t n;
    enum herald_err rc = HERALD_OK;
    while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = buf_append(&b, chunk, n);
    fclose(f);
    char *out = NULL;
    if (rc || buf_steal(&b, &out, NULL)) {
        buf_free(&b);
        return NULL;
    }
    return out;
}

static enum herald_err resolve_bind(const char *host, int port, struct sockaddr_storage *ss)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port_s[8];
    snprintf(port_s, sizeof(port_s), "%d", port);
    if (getaddrinfo(*host ? host : NULL, port_s, &hints, &res) != 0 || !res)
        return HERALD_ERR_CONFIG;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return HERALD_OK;
}

/* Loads the certificate and key when configured and fills the daemon's TLS options. */
static enum herald_err load_tls(struct http_server *srv, struct MHD_OptionItem tls_opts[4])
{
    memset(tls_opts, 0, 4 * sizeof(*tls_opts));
    tls_opts[0].option = MHD_OPTION_END;
    const struct http_server_opts *opts = &srv->opts;
    if (!opts->tls_cert_file || !*opts->tls_cert_file)
        return HERALD_OK;
    srv->tls_cert = read_file(opts->tls_cert_file);
    srv->tls_key = read_file(opts->tls_key_file);
    if (!srv->tls_cert || !srv->tls_key) {
        log_error("cannot read TLS certificate or key", NULL);
        return HERALD_ERR_CONFIG;
    }
    srv->tls = true;
    tls_opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert};
    tls_opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key};
    tls_opts[2] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES};
    tls_opts[3] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return HERALD_OK;
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        line[--n] = '\0';
    log_warn("http server", json_pack("{s:s}", "detail", line));
}

/* Descriptors kept for everything but HTTP connections: database pool, files, upstream calls. */
#define FD_RESERVE 256

/* The configured connection limit, lowered (with a warning) to fit the open-file limit. */
static unsigned connection_limit(const struct http_server_opts *opts)
{
    long want = opts->max_connections > 0 ? opts->max_connections : HTTP_DEFAULT_MAX_CONNECTIONS;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return (unsigned)want;
    long fit =
        (long)rl.rlim_cur > 2 * FD_RESERVE ? (long)rl.rlim_cur - FD_RESERVE : (long)rl.rlim_cur / 2;
    if (want > fit) {
        log_warn("HTTP connection limit lowered to fit the open-file limit",
                 json_pack("{s:i, s:i, s:i}", "configured", (int)want, "limit", (int)fit, "nofile",
                           (int)rl.rlim_cur));
        want = fit;
    }
    return (unsigned)(want > 1 ? want : 1);
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

static struct MHD_Daemon *start_daemon(struct http_server *srv, unsigned flags,
                                       struct sockaddr_storage *ss, struct MHD_OptionItem *tls)
{
    const struct http_server_opts *opts = &srv->opts;
    int threads = opts->threads > 0 ? opts->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    unsigned per_ip =
        opts->per_ip_connections > 0 ? opts->per_ip_connections : HTTP_DEFAULT_PER_IP_CONNECTIONS;
    unsigned idle =
        opts->idle_timeout_sec > 0 ? opts->idle_timeout_sec : HTTP_DEFAULT_IDLE_TIMEOUT_SEC;
    return MHD_start_daemon(
        flags, 0, NULL, NULL, lifecycle_on_access, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)ss, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)(threads < 1 ? 1 : threads), MHD_OPTION_NOTIFY_COMPLETED, lifecycle_on_completed,
        srv, MHD_OPTION_CONNECTION_TIMEOUT, idle, MHD_OPTION_CONNECTION_LIMIT,
        connection_limit(opts), MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_ARRAY, tls,
        MHD_OPTION_END);
}

enum herald_err listen_start(struct http_server *srv)
{
    const struct http_server_opts *opts = &srv->opts;
    struct sockaddr_storage ss;
    enum herald_err rc = resolve_bind(opts->host, opts->port, &ss);
    if (rc) {
        log_error("cannot resolve listen address", json_pack("{s:s}", "host", opts->host));
        return rc;
    }
    struct MHD_OptionItem tls_opts[4];
    rc = load_tls(srv, tls_opts);
    if (rc)
        return rc;
    /* poll(), not epoll: with a thread pool, libmicrohttpd 0.9.75's MHD_quiesce_daemon()
     * races each worker removing the listen socket from its epoll set, and panics (abort) when
     * the worker wins; seen once at a SIGTERM drain. Each worker polls only its own share of
     * the connections, so poll() costs little here. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (srv->tls)
        flags |= MHD_USE_TLS;
    if (!srv->tls && !is_loopback(&ss))
        log_warn("listening on a non-loopback address without TLS: API keys and data cross the "
                 "network in clear; set HERALD_TLS_CERT_FILE or put a TLS proxy in front",
                 json_pack("{s:s}", "host", *opts->host ? opts->host : "*"));
    srv->daemon = start_daemon(srv, flags, &ss, tls_opts);
    if (!srv->daemon) {
        log_error("cannot start the HTTP server",
                  json_pack("{s:s, s:i}", "host", opts->host, "port", opts->port));
        return HERALD_ERR_IO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : opts->port;
    return HERALD_OK;
}
