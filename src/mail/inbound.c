/* The inbound SMTP listener (inbound.h): socket, acceptor thread, connection caps (in all and
 * per address), joinable session threads, and per session the SMTP dialogue under absolute
 * deadlines, the recipient checks and the hand-over of each message. */
#include "mail/inbound.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "mail/bounce.h"
#include "mail/unsubscribe.h"

#define CMD_MAX 512         /* a command line, RFC 5321 4.5.3.1.4 */
#define DATA_LINE_MAX 65536 /* a text line of DATA (RFC: 1000; be lenient, not unbounded) */
#define RCPT_MAX 16         /* recipients per message */
#define ERRORS_MAX 10       /* bad commands before the session is closed */
#define POLL_SLICE_MS 250   /* how often a waiting session looks at the stop flag */
#define STOP_GRACE_MS 5000  /* how long stop lets sessions finish before shutting sockets */

/* One session thread: joinable, joined by the acceptor once done, or by stop. */
struct slot {
    pthread_t thread;
    int fd;      /* -1 once the session closed it */
    char ip[64]; /* the peer's numeric address */
    bool used;   /* a thread was started and is not joined yet */
    bool done;   /* the session ended (its thread is about to return) */
};

struct mail_inbound {
    struct store *store;
    const struct mail_keyring *keys;
    char hostname[128];
    int max_connections, timeout_ms, session_max_ms, data_max_ms, commands_max, per_ip_max;
    size_t message_max;
    int lfd, wake[2], port;
    pthread_t acceptor;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct slot *slots; /* max_connections of them, under mu */
    int active;
    atomic_bool stopping;
};

struct rcpt {
    char token[MAIL_TOKEN_MAX]; /* "" for the bare bounces@ address */
    bool unsubscribe;
};

struct session {
    struct mail_inbound *srv;
    int fd, slot;
    int64_t deadline_ns; /* monotonic end of the session */
    int64_t step_ns;     /* monotonic end of the current command line, or of the whole DATA */
    char in[8192];
    size_t ilen, ipos;
    bool helo, mail;
    int nrcpt, errors, commands;
    struct rcpt rcpt[RCPT_MAX];
    char *line; /* DATA_LINE_MAX bytes */
};

/* ---- I/O ---- */

/* The earlier of the step's and the session's deadlines. */
static int64_t sess_end(const struct session *s)
{
    return s->step_ns < s->deadline_ns ? s->step_ns : s->deadline_ns;
}

/* 1: data buffered, 0: the peer closed, -1: timeout or error, -2: the server is stopping.
 * Both deadlines are absolute: bytes trickling in do not extend them. */
static int sess_fill(struct session *s)
{
    for (;;) {
        if (atomic_load(&s->srv->stopping))
            return -2;
        int64_t left_ms = (sess_end(s) - clock_mono_ns()) / 1000000;
        if (left_ms <= 0)
            return -1;
        struct pollfd p = {s->fd, POLLIN, 0};
        int r = poll(&p, 1, left_ms < POLL_SLICE_MS ? (int)left_ms + 1 : POLL_SLICE_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            continue;
        ssize_t n = recv(s->fd, s->in, sizeof(s->in), 0);
        if (n > 0 && clock_mono_ns() >= sess_end(s))
            return -1;
        if (n > 0) {
            s->ilen = (size_t)n;
            s->ipos = 0;
            return 1;
        }
        if (n == 0)
            return 0;
        if (errno != EINTR && errno != EAGAIN)
            return -1;
    }
}

/* One line without its line break into out (max bytes with the NUL); *overflow when it was
 * longer (the rest is dropped). Returns sess_fill's codes. */
static int sess_line(struct session *s, char *out, size_t max, size_t *len, bool *overflow)
{
    *len = 0;
    *overflow = false;
    for (;;) {
        if (s->ipos >= s->ilen) {
            int r = sess_fill(s);
            if (r <= 0)
                return r;
        }
        const char *start = s->in + s->ipos;
        size_t avail = s->ilen - s->ipos;
        const char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail, room = max - 1 - *len;
        size_t copy = take < room ? take : room;
        memcpy(out + *len, start, copy);
        *len += copy;
        *overflow |= take > room;
        s->ipos += take + (nl ? 1 : 0);
        if (nl)
            break;
    }
    if (*len && out[*len - 1] == '\r')
        (*len)--;
    out[*len] = '\0';
    return 1;
}

static bool sess_send(struct session *s, const char *text)
{
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = send(s->fd, text + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        off += (size_t)n;
    }
    return true;
}

static void sess_reset(struct session *s)
{
    s->mail = false;
    s->nrcpt = 0;
}

/* ---- handing messages over ---- */

static enum herald_err deliver_unsubscribe(struct session *s, const struct rcpt *r, int64_t now)
{
    bool changed = false;
    enum herald_err rc =
        mail_unsubscribe_apply(s->srv->store, s->srv->keys, r->token, now, &changed, NULL);
    if (rc == HERALD_ERR_NOT_FOUND || rc == HERALD_ERR_TOKEN_INVALID ||
        rc == HERALD_ERR_TOKEN_EXPIRED) {
        log_info("inbound unsubscribe ignored", json_pack("{s:s}", "reason", herald_err_code(rc)));
        return HERALD_OK;
    }
    if (!rc)
        log_info("inbound unsubscribe", json_pack("{s:b}", "changed", changed));
    return rc;
}

static enum herald_err deliver_report(struct session *s, const struct mail_bounce_report *r,
                                      const struct rcpt *to, int64_t now)
{
    struct mail_bounce_input in;
    struct mail_bounce_outcome o;
    if (r->kind == MAIL_BOUNCE_NONE) {
        log_info("inbound message is no bounce or complaint", NULL);
        return HERALD_OK;
    }
    enum herald_err rc = mail_bounce_resolve(s->srv->keys, r, to->token, false, now / 1000, &in);
    if (!rc)
        rc = mail_bounce_record(s->srv->store, &in, now, &o);
    if (rc == HERALD_ERR_NOT_FOUND) {
        log_info("inbound report names no known contact",
                 json_pack("{s:s}", "kind", mail_bounce_kind_name(r->kind)));
        return HERALD_OK;
    }
    if (!rc)
        log_info("inbound report recorded",
                 json_pack("{s:s, s:s, s:I, s:I, s:b}", "kind", mail_bounce_kind_name(r->kind),
                           "recorded", mail_bounce_kind_name(o.recorded), "contactId",
                           (json_int_t)o.contact_id, "campaignId", (json_int_t)o.campaign_id,
                           "duplicate", o.duplicate));
    return rc;
}

/* Every recipient's effect of one message; a store failure stops (the sender will retry). */
static enum herald_err deliver(struct session *s, const char *msg, size_t len)
{
    struct mail_bounce_report *report = NULL;
    int64_t now = clock_now_ms();
    enum herald_err rc = HERALD_OK;
    for (int i = 0; !rc && i < s->nrcpt; i++) {
        if (s->rcpt[i].unsubscribe) {
            rc = deliver_unsubscribe(s, &s->rcpt[i], now);
            continue;
        }
        if (!report) {
            if (!(report = malloc(sizeof(*report))))
                return HERALD_ERR_NOMEM;
            mail_bounce_parse(msg, len, report);
        }
        rc = deliver_report(s, report, &s->rcpt[i], now);
    }
    free(report);
    return rc;
}

/* ---- commands ---- */

/* The address between < and > after "VERB:" (e.g. "FROM:"); false when malformed. */
static bool path_arg(const char *args, char *out, size_t size, const char **rest)
{
    while (*args == ' ')
        args++;
    if (*args != '<')
        return false;
    const char *end = strchr(args, '>');
    if (!end || (size_t)(end - args - 1) >= size)
        return false;
    memcpy(out, args + 1, (size_t)(end - args - 1));
    out[end - args - 1] = '\0';
    *rest = end + 1;
    return true;
}

static const char *cmd_mail(struct session *s, const char *args)
{
    char path[320];
    const char *rest;
    if (!s->helo)
        return "503 5.5.1 Send EHLO or HELO first\r\n";
    if (s->mail)
        return "503 5.5.1 Nested MAIL command\r\n";
    if (strncasecmp(args, "FROM:", 5) != 0 || !path_arg(args + 5, path, sizeof(path), &rest))
        return "501 5.5.4 Syntax: MAIL FROM:<address>\r\n";
    const char *size = strcasestr(rest, "SIZE=");
    if (size && strtoull(size + 5, NULL, 10) > s->srv->message_max)
        return "552 5.3.4 Message size exceeds the limit\r\n";
    s->mail = true;
    s->nrcpt = 0;
    return "250 2.1.0 OK\r\n";
}

/* Accepts bounces@, bounces+TOKEN@ (a VERP token) and unsubscribe+TOKEN@ (an unsubscribe
 * token); false for anything else. */
static bool accept_rcpt(const struct mail_inbound *srv, const char *addr, struct rcpt *out)
{
    struct mail_token t;
    int64_t now_s = clock_now_ms() / 1000;
    memset(out, 0, sizeof(*out));
    const char *at = strrchr(addr, '@');
    if (!at || at == addr || !at[1])
        return false;
    if ((size_t)(at - addr) == 7 && strncasecmp(addr, "bounces", 7) == 0)
        return true;
    if (mail_bounce_local_token(addr, "bounces", out->token))
        return mail_token_parse(srv->keys, MAIL_TOKEN_BOUNCE, out->token, NULL, now_s, &t) == 0;
    if (mail_bounce_local_token(addr, "unsubscribe", out->token)) {
        out->unsubscribe = true;
        return mail_token_parse(srv->keys, MAIL_TOKEN_UNSUBSCRIBE, out->token, NULL, now_s, &t) ==
               0;
    }
    return false;
}

static const char *cmd_rcpt(struct session *s, const char *args)
{
    char path[320];
    const char *rest;
    if (!s->mail)
        return "503 5.5.1 Send MAIL first\r\n";
    if (strncasecmp(args, "TO:", 3) != 0 || !path_arg(args + 3, path, sizeof(path), &rest))
        return "501 5.5.4 Syntax: RCPT TO:<address>\r\n";
    if (s->nrcpt >= RCPT_MAX)
        return "452 4.5.3 Too many recipients\r\n";
    if (!accept_rcpt(s->srv, path, &s->rcpt[s->nrcpt]))
        return "550 5.1.1 No such recipient here\r\n";
    s->nrcpt++;
    return "250 2.1.5 OK\r\n";
}

/* Reads the message after 354 up to the lone dot; returns sess_fill's codes (1: read). */
static int read_data(struct session *s, struct buf *msg, bool *too_big, bool *bad_line)
{
    size_t len;
    bool overflow;
    *too_big = *bad_line = false;
    for (;;) {
        int r = sess_line(s, s->line, DATA_LINE_MAX, &len, &overflow);
        if (r <= 0)
            return r;
        if (len == 1 && s->line[0] == '.' && !overflow)
            return 1;
        const char *p = s->line[0] == '.' ? s->line + 1 : s->line; /* dot-unstuffing */
        size_t n = s->line[0] == '.' ? len - 1 : len;
        *bad_line |= overflow;
        if (!*too_big && !*bad_line &&
            (buf_append(msg, p, n) != HERALD_OK || buf_append(msg, "\r\n", 2) != HERALD_OK))
            *too_big = true;
    }
}

/* DATA after MAIL and at least one RCPT: returns the session's fate (1 go on, <= 0 end). The
 * whole message must arrive within data_max_ms. */
static int cmd_data(struct session *s)
{
    if (!sess_send(s, "354 End data with <CR><LF>.<CR><LF>\r\n"))
        return -1;
    struct buf msg;
    buf_init(&msg, s->srv->message_max);
    s->step_ns = clock_mono_ns() + (int64_t)s->srv->data_max_ms * 1000000;
    bool too_big, bad_line;
    int r = read_data(s, &msg, &too_big, &bad_line);
    const char *reply = "250 2.0.0 OK\r\n";
    if (r > 0 && too_big)
        reply = "552 5.3.4 Message too big\r\n";
    else if (r > 0 && bad_line)
        reply = "500 5.5.2 Line too long\r\n";
    else if (r > 0 && deliver(s, msg.data ? msg.data : "", msg.len) != HERALD_OK)
        reply = "451 4.3.0 Temporary failure, try again later\r\n";
    buf_free(&msg);
    sess_reset(s);
    if (r <= 0)
        return r;
    return sess_send(s, reply) ? 1 : -1;
}

/* One command line: its reply sent; returns 1 to go on, 0 to close. */
static int dispatch(struct session *s, const char *line)
{
    size_t vlen = strcspn(line, " ");
    const char *args = line[vlen] ? line + vlen + 1 : "";
    const char *reply = NULL;
    char buf[256];
#define VERB(v) (vlen == strlen(v) && strncasecmp(line, v, vlen) == 0)
    if (VERB("EHLO")) {
        snprintf(buf, sizeof(buf),
                 "250-%s\r\n250-PIPELINING\r\n250-SIZE %zu\r\n250-8BITMIME\r\n"
                 "250 ENHANCEDSTATUSCODES\r\n",
                 s->srv->hostname, s->srv->message_max);
        s->helo = true;
        sess_reset(s);
        reply = buf;
    } else if (VERB("HELO")) {
        snprintf(buf, sizeof(buf), "250 %s\r\n", s->srv->hostname);
        s->helo = true;
        sess_reset(s);
        reply = buf;
    } else if (VERB("MAIL"))
        reply = cmd_mail(s, args);
    else if (VERB("RCPT"))
        reply = cmd_rcpt(s, args);
    else if (VERB("DATA") && s->mail && s->nrcpt > 0)
        return cmd_data(s);
    else if (VERB("DATA"))
        reply = s->mail ? "554 5.5.1 No valid recipients\r\n" : "503 5.5.1 Send MAIL first\r\n";
    else if (VERB("RSET")) {
        sess_reset(s);
        reply = "250 2.0.0 OK\r\n";
    } else if (VERB("NOOP"))
        reply = "250 2.0.0 OK\r\n";
    else if (VERB("VRFY"))
        reply = "252 2.5.2 Cannot verify\r\n";
    else if (VERB("QUIT")) {
        sess_send(s, "221 2.0.0 Bye\r\n");
        return 0;
    } else {
        reply = "502 5.5.2 Command not recognised\r\n";
        s->errors++;
    }
    /* Only a MAIL or RCPT that was taken moves a transaction on; anything else counts. */
    if (!((VERB("MAIL") || VERB("RCPT")) && reply[0] == '2'))
        s->commands++;
#undef VERB
    if (reply[0] == '5')
        s->errors++;
    return sess_send(s, reply) ? 1 : -1;
}

static void session_run(struct session *s)
{
    char greet[200], line[CMD_MAX + 1];
    snprintf(greet, sizeof(greet), "220 %s ESMTP Herald\r\n", s->srv->hostname);
    if (!sess_send(s, greet))
        return;
    for (;;) {
        size_t len;
        bool overflow;
        s->step_ns = clock_mono_ns() + (int64_t)s->srv->timeout_ms * 1000000;
        int r = sess_line(s, line, sizeof(line), &len, &overflow);
        if (r == -2)
            sess_send(s, "421 4.3.2 Service shutting down\r\n");
        else if (r < 0)
            sess_send(s, "421 4.4.2 Timeout, closing connection\r\n");
        if (r <= 0)
            return;
        if (overflow) {
            s->errors++;
            r = sess_send(s, "500 5.5.2 Line too long\r\n") ? 1 : -1;
        } else
            r = dispatch(s, line);
        if (r == -2)
            sess_send(s, "421 4.3.2 Service shutting down\r\n");
        if (r <= 0)
            return;
        if (s->errors >= ERRORS_MAX) {
            sess_send(s, "421 4.7.0 Too many errors\r\n");
            return;
        }
        if (s->commands >= s->srv->commands_max) {
            sess_send(s, "421 4.7.0 Too many commands, closing connection\r\n");
            return;
        }
    }
}

/* ---- the listener ---- */

static void *session_main(void *arg)
{
    struct session *s = arg;
    struct mail_inbound *srv = s->srv;
    session_run(s);
    pthread_mutex_lock(&srv->mu); /* stop may be shutting this fd down: close it under mu */
    close(s->fd);
    srv->slots[s->slot].fd = -1;
    srv->slots[s->slot].done = true;
    srv->active--;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
    free(s->line);
    free(s);
    return NULL;
}

static void refuse(int fd, const char *reply)
{
    ssize_t n = send(fd, reply, strlen(reply), MSG_NOSIGNAL);
    (void)n;
    close(fd);
}

/* Joins the threads of ended sessions; under mu. */
static void reap(struct mail_inbound *srv)
{
    for (int i = 0; i < srv->max_connections; i++)
        if (srv->slots[i].used && srv->slots[i].done) {
            pthread_join(srv->slots[i].thread, NULL);
            srv->slots[i].used = false;
        }
}

/* Takes a slot for a connection from ip; *slot -1 and the refusal when at a cap. Under mu. */
static const char *take_slot(struct mail_inbound *srv, int fd, const char *ip, int *slot)
{
    int same = 0;
    *slot = -1;
    reap(srv);
    for (int i = 0; i < srv->max_connections; i++) {
        if (srv->slots[i].used)
            same += strcmp(srv->slots[i].ip, ip) == 0;
        else if (*slot < 0)
            *slot = i;
    }
    if (*slot < 0)
        return "421 4.3.2 Too many connections, try again later\r\n";
    if (same >= srv->per_ip_max) {
        *slot = -1;
        return "421 4.7.0 Too many connections from your address, try again later\r\n";
    }
    struct slot *sl = &srv->slots[*slot];
    *sl = (struct slot){.fd = fd, .used = true};
    snprintf(sl->ip, sizeof(sl->ip), "%s", ip);
    srv->active++;
    return NULL;
}

/* Starts a session thread for fd, or answers 421 when at a cap. */
static void admit(struct mail_inbound *srv, int fd, const char *ip)
{
    struct timeval tv = {srv->timeout_ms / 1000, (srv->timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int slot;
    pthread_mutex_lock(&srv->mu);
    const char *refusal = take_slot(srv, fd, ip, &slot);
    pthread_mutex_unlock(&srv->mu);
    if (refusal) {
        refuse(fd, refusal);
        return;
    }
    struct session *s = calloc(1, sizeof(*s));
    char *line = malloc(DATA_LINE_MAX);
    if (s && line) {
        *s = (struct session){.srv = srv, .fd = fd, .slot = slot, .line = line};
        s->deadline_ns = clock_mono_ns() + (int64_t)srv->session_max_ms * 1000000;
    }
    if (!s || !line || pthread_create(&srv->slots[slot].thread, NULL, session_main, s) != 0) {
        free(s);
        free(line);
        refuse(fd, "421 4.3.0 Cannot take the connection now\r\n");
        pthread_mutex_lock(&srv->mu);
        srv->slots[slot].used = false;
        srv->active--;
        pthread_cond_broadcast(&srv->cv);
        pthread_mutex_unlock(&srv->mu);
    }
}

static void peer_ip(const struct sockaddr_storage *ss, socklen_t len, char *out, size_t size)
{
    if (getnameinfo((const struct sockaddr *)ss, len, out, (socklen_t)size, NULL, 0,
                    NI_NUMERICHOST) != 0)
        snprintf(out, size, "?");
}

static void *acceptor_main(void *arg)
{
    struct mail_inbound *srv = arg;
    for (;;) {
        struct pollfd p[2] = {{srv->lfd, POLLIN, 0}, {srv->wake[0], POLLIN, 0}};
        int r = poll(p, 2, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || p[1].revents || atomic_load(&srv->stopping))
            return NULL;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        char ip[64];
        int fd = accept4(srv->lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
        if (fd >= 0) {
            peer_ip(&ss, sl, ip, sizeof(ip));
            admit(srv, fd, ip);
        } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            poll(&p[1], 1, 100); /* out of descriptors: no busy loop, still wakes on stop */
    }
}

/* Splits "host:port" / "[v6]:port" and binds a listening socket. */
static enum herald_err bind_listener(const char *listen_addr, int *fd_out, int *port_out)
{
    char host[256];
    const char *colon = strrchr(listen_addr, ':');
    if (!colon || !colon[1] || (size_t)(colon - listen_addr) >= sizeof(host))
        return HERALD_ERR_CONFIG;
    const char *h = listen_addr;
    size_t hlen = (size_t)(colon - listen_addr);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(hlen ? host : NULL, colon + 1, &hints, &ai) != 0 || !ai)
        return HERALD_ERR_CONFIG;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
    enum herald_err rc = fd < 0 ? HERALD_ERR_IO : HERALD_OK;
    if (!rc)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (!rc && (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0))
        rc = HERALD_ERR_IO;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (!rc && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        char port[16];
        getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, port, sizeof(port), NI_NUMERICSERV);
        *port_out = atoi(port);
    }
    freeaddrinfo(ai);
    if (rc && fd >= 0)
        close(fd);
    if (!rc)
        *fd_out = fd;
    return rc;
}

static void inbound_free(struct mail_inbound *srv)
{
    if (srv->lfd >= 0)
        close(srv->lfd);
    if (srv->wake[0] >= 0)
        close(srv->wake[0]);
    if (srv->wake[1] >= 0)
        close(srv->wake[1]);
    pthread_mutex_destroy(&srv->mu);
    pthread_cond_destroy(&srv->cv);
    free(srv->slots);
    free(srv);
}

enum herald_err mail_inbound_start(const struct mail_inbound_opts *o, struct mail_inbound **out)
{
    *out = NULL;
    struct mail_inbound *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return HERALD_ERR_NOMEM;
    *srv = (struct mail_inbound){
        .store = o->store,
        .keys = o->keys,
        .max_connections =
            o->max_connections > 0 ? o->max_connections : MAIL_INBOUND_DEFAULT_CONNECTIONS,
        .timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : MAIL_INBOUND_DEFAULT_TIMEOUT_MS,
        .session_max_ms =
            o->session_max_ms > 0 ? o->session_max_ms : MAIL_INBOUND_DEFAULT_SESSION_MS,
        .data_max_ms = o->data_max_ms > 0 ? o->data_max_ms : MAIL_INBOUND_DEFAULT_DATA_MS,
        .commands_max = o->commands_max > 0 ? o->commands_max : MAIL_INBOUND_DEFAULT_COMMANDS,
        .per_ip_max = o->per_ip_max > 0 ? o->per_ip_max : MAIL_INBOUND_DEFAULT_PER_IP,
        .message_max = o->message_max ? o->message_max : MAIL_INBOUND_DEFAULT_MESSAGE_MAX,
        .lfd = -1,
        .wake = {-1, -1},
    };
    snprintf(srv->hostname, sizeof(srv->hostname), "%s", o->hostname ? o->hostname : "herald");
    pthread_mutex_init(&srv->mu, NULL);
    clock_cond_init(&srv->cv);
    srv->slots = calloc((size_t)srv->max_connections, sizeof(*srv->slots));
    enum herald_err rc = srv->slots ? HERALD_OK : HERALD_ERR_NOMEM;
    if (!rc)
        rc = bind_listener(o->listen ? o->listen : "", &srv->lfd, &srv->port);
    if (!rc && pipe2(srv->wake, O_CLOEXEC) != 0)
        rc = HERALD_ERR_IO;
    if (!rc && pthread_create(&srv->acceptor, NULL, acceptor_main, srv) != 0)
        rc = HERALD_ERR_IO;
    if (rc) {
        inbound_free(srv);
        return rc;
    }
    log_emit(LOG_INFO, "bounce listener",
             json_pack("{s:s, s:i}", "listen", o->listen, "port", srv->port));
    *out = srv;
    return HERALD_OK;
}

int mail_inbound_port(const struct mail_inbound *srv)
{
    return srv ? srv->port : 0;
}

/* Sessions notice the stop within POLL_SLICE_MS and answer 421 themselves; those still busy
 * after the grace (in a store call, or blocked sending) have their sockets shut down. Every
 * session thread is joined before the listener is freed, so none touches the store after. */
void mail_inbound_stop(struct mail_inbound *srv)
{
    if (!srv)
        return;
    atomic_store(&srv->stopping, true);
    ssize_t n = write(srv->wake[1], "x", 1);
    (void)n;
    pthread_join(srv->acceptor, NULL);
    pthread_mutex_lock(&srv->mu);
    struct timespec deadline = clock_deadline_in(STOP_GRACE_MS);
    while (srv->active > 0 && pthread_cond_timedwait(&srv->cv, &srv->mu, &deadline) == 0)
        ;
    if (srv->active > 0)
        log_warn("bounce listener sessions still busy at stop: shutting them down",
                 json_pack("{s:i}", "open", srv->active));
    for (int i = 0; i < srv->max_connections; i++)
        if (srv->slots[i].used && !srv->slots[i].done && srv->slots[i].fd >= 0)
            shutdown(srv->slots[i].fd, SHUT_RDWR);
    pthread_mutex_unlock(&srv->mu);
    for (int i = 0; i < srv->max_connections; i++)
        if (srv->slots[i].used) /* no new sessions: the acceptor is gone */
            pthread_join(srv->slots[i].thread, NULL);
    inbound_free(srv);
}
