/* The SMTP client: a pool of kept-open connections to one relay (libcurl SMTP easy handles,
 * reused so the TCP/TLS session, EHLO and AUTH happen once per connection), reply
 * classification, and the global + per-recipient-domain rate limits. Owned by `transport`.
 *
 * Thread-safety: the pool, its rate buckets and mail_smtp_conn_open() may be used from any
 * thread; one struct smtp_conn is used by one thread at a time (acquire → send… → release, or
 * a private connection opened and closed by the same sender thread). */
#ifndef HERALD_MAIL_SMTP_H
#define HERALD_MAIL_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/err.h"

enum smtp_tls {
    SMTP_TLS_OPPORTUNISTIC = 0, /* STARTTLS when offered (CURLUSESSL_TRY) */
    SMTP_TLS_REQUIRED,          /* STARTTLS or fail (CURLUSESSL_ALL) */
    SMTP_TLS_OFF,               /* never (smtps:// URLs are implicit TLS whatever this says) */
};

enum smtp_status {
    SMTP_OK = 0,        /* 2xx to DATA: the relay took the message */
    SMTP_TRANSIENT = 1, /* 4xx, connection refused/broken, timeout, rate wait too long: retry */
    SMTP_PERMANENT = 2, /* 5xx to MAIL, RCPT or DATA: do not retry (a bounce for RCPT/DATA) */
};

enum smtp_stage {
    SMTP_STAGE_NONE = 0, /* unknown (curl did not say) */
    SMTP_STAGE_RATE,     /* not sent: the rate limit would have made it wait too long */
    SMTP_STAGE_CONNECT,  /* connect, TLS, EHLO, AUTH */
    SMTP_STAGE_MAIL,
    SMTP_STAGE_RCPT,
    SMTP_STAGE_DATA,
};

#define SMTP_ERROR_MAX 256

struct smtp_result {
    enum smtp_status status;
    int code;                   /* last SMTP reply code (250, 451, 550 …); 0 when none */
    enum smtp_stage stage;      /* where it failed; SMTP_STAGE_DATA when ok */
    int64_t retry_after_ms;     /* SMTP_STAGE_RATE: when a token will be there */
    char error[SMTP_ERROR_MAX]; /* "" when ok; curl's text + server reply, never credentials */
};

struct smtp_opts {
    const char *url;      /* smtp://host:port, smtps://host:port; credentials are not read here */
    const char *user;     /* NULL/"": no AUTH */
    const char *password; /* secret */
    const char *helo;     /* EHLO name; NULL: curl's default (the local host name) */
    enum smtp_tls tls;
    int workers;                 /* pooled connections, >= 1 */
    int timeout_ms;              /* connect and per-command timeout, > 0 */
    struct cfg_rate rate;        /* count 0: unlimited */
    struct cfg_rate domain_rate; /* per recipient domain; count 0: unlimited */
};

struct smtp_pool;
struct smtp_conn;

/* "off"/"" → {0,0}, else cfg_parse_rate(). HERALD_ERR_INVALID on a malformed rate. */
enum herald_err mail_smtp_parse_rate(const char *s, struct cfg_rate *out);
/* "opportunistic", "required", "off" (NULL/"" = opportunistic); HERALD_ERR_INVALID. */
enum herald_err mail_smtp_parse_tls(const char *s, enum smtp_tls *out);

/* Copies the options (strings duplicated) and creates `workers` idle connections; nothing
 * connects until the first send. HERALD_ERR_CONFIG (err filled) for a bad URL scheme or
 * options, HERALD_ERR_NOMEM, HERALD_ERR_INTERNAL when libcurl cannot start. */
enum herald_err mail_smtp_pool_open(const struct smtp_opts *o, struct smtp_pool **out,
                                    struct herald_error *err);
/* Wakes every waiter (acquire, rate waits answer HERALD_ERR_SHUTTING_DOWN / a RATE result)
 * so threads can finish; call before joining the threads that use the pool. */
void mail_smtp_pool_stop(struct smtp_pool *p);
/* Closes every connection (QUIT). All pooled connections must have been released and private
 * ones closed. */
void mail_smtp_pool_close(struct smtp_pool *p);

/* Takes an idle pooled connection, waiting at most timeout_ms (< 0: no limit).
 * HERALD_ERR_SMTP on timeout (err: "no free SMTP connection"), HERALD_ERR_SHUTTING_DOWN after
 * mail_smtp_pool_stop(). */
enum herald_err mail_smtp_acquire(struct smtp_pool *p, int timeout_ms, struct smtp_conn **out);
void mail_smtp_release(struct smtp_pool *p, struct smtp_conn *c);

/* A private connection outside the pool's count (a campaign sender thread keeps one for its
 * life) sharing the pool's options and rate buckets. HERALD_ERR_NOMEM, HERALD_ERR_INTERNAL. */
enum herald_err mail_smtp_conn_open(struct smtp_pool *p, struct smtp_conn **out);
void mail_smtp_conn_close(struct smtp_conn *c);

/* Sends one message (data[0..len): CRLF text, DKIM headers included; lines starting with "."
 * are dot-stuffed by libcurl) from envelope_from to one rcpt on connection c. First takes a
 * token from the global and the rcpt-domain buckets, waiting up to max_rate_wait_ms (< 0: as
 * long as needed); a longer wait gives SMTP_TRANSIENT / SMTP_STAGE_RATE with retry_after_ms
 * and sends nothing. Reuses c's open connection; a broken one is reset and reopened once at
 * the next send. Returns HERALD_OK when the outcome is in *out (look at out->status),
 * HERALD_ERR_INVALID for an unacceptable address (CR/LF, not local@domain),
 * HERALD_ERR_NOMEM. */
enum herald_err mail_smtp_send(struct smtp_conn *c, const char *envelope_from, const char *rcpt,
                               const char *data, size_t len, int64_t max_rate_wait_ms,
                               struct smtp_result *out);

/* "ok", "transient", "permanent"; "none", "rate", "connect", "MAIL", "RCPT", "DATA". */
const char *mail_smtp_status_name(enum smtp_status s);
const char *mail_smtp_stage_name(enum smtp_stage s);

#endif
