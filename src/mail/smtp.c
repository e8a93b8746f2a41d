/* The SMTP client (smtp.h): the connection pool over reused libcurl easy handles, one send
 * (MAIL/RCPT/DATA with reply classification and stage), and the rate-limit token buckets. */
#include "mail/smtp.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/clock.h"

#define DOMAIN_SLOTS 1024
#define DOMAIN_MAX 8192 /* buckets kept before idle ones are dropped */
#define NS 1000000000.0

struct bucket {
    double tokens;
    int64_t last_ns;
};

struct domain_bucket {
    struct domain_bucket *next;
    struct bucket b;
    char name[];
};

struct smtp_conn {
    struct smtp_pool *pool;
    CURL *curl;
    bool pooled;
    const char *data; /* the message being sent */
    size_t len, off;
    enum smtp_stage stage; /* of the last command sent */
    bool quitting;
    char reply[SMTP_ERROR_MAX]; /* the server's last reply line */
    char errbuf[CURL_ERROR_SIZE];
};

struct smtp_pool {
    struct smtp_opts o;
    char *url; /* o.url with "/helo" appended when a HELO name is given */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    struct smtp_conn **idle;
    int n_idle;
    /* rate limits, under mu */
    double rate_per_ns, rate_burst, dom_per_ns, dom_burst;
    struct bucket global;
    struct domain_bucket *domains[DOMAIN_SLOTS];
    int n_domains;
};

enum herald_err mail_smtp_parse_rate(const char *s, struct cfg_rate *out)
{
    if (!s || !*s || strcasecmp(s, "off") == 0) {
        *out = (struct cfg_rate){0, 0};
        return HERALD_OK;
    }
    return cfg_parse_rate(s, out);
}

enum herald_err mail_smtp_parse_tls(const char *s, enum smtp_tls *out)
{
    if (!s || !*s || strcmp(s, "opportunistic") == 0)
        *out = SMTP_TLS_OPPORTUNISTIC;
    else if (strcmp(s, "required") == 0)
        *out = SMTP_TLS_REQUIRED;
    else if (strcmp(s, "off") == 0)
        *out = SMTP_TLS_OFF;
    else
        return HERALD_ERR_INVALID;
    return HERALD_OK;
}

const char *mail_smtp_status_name(enum smtp_status s)
{
    return s == SMTP_OK ? "ok" : s == SMTP_TRANSIENT ? "transient" : "permanent";
}

const char *mail_smtp_stage_name(enum smtp_stage s)
{
    static const char *names[] = {"none", "rate", "connect", "MAIL", "RCPT", "DATA"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "none";
}

/* ---- rate limits ------------------------------------------------------------------------ */

/* Tokens per nanosecond and the burst: at most one second's worth (at least one token), so a
 * "10000/h" limit sends ~2.8 a second rather than 10,000 at once. */
static void rate_setup(const struct cfg_rate *r, double *per_ns, double *burst)
{
    *per_ns = r->count > 0 && r->period_sec > 0 ? r->count / (r->period_sec * NS) : 0;
    double per_s = *per_ns * NS;
    *burst = per_s < 1 ? 1 : per_s;
}

/* Nanoseconds until bucket b has a token (0: now), after refilling it to now. */
static int64_t bucket_wait(struct bucket *b, double per_ns, double burst, int64_t now)
{
    if (per_ns <= 0)
        return 0;
    if (b->last_ns == 0) {
        b->tokens = burst;
        b->last_ns = now;
    }
    b->tokens += (double)(now - b->last_ns) * per_ns;
    if (b->tokens > burst)
        b->tokens = burst;
    b->last_ns = now;
    return b->tokens >= 1 ? 0 : (int64_t)((1 - b->tokens) / per_ns);
}

static unsigned domain_hash(const char *d)
{
    unsigned h = 2166136261u;
    for (; *d; d++)
        h = (h ^ (unsigned char)tolower((unsigned char)*d)) * 16777619u;
    return h % DOMAIN_SLOTS;
}

/* Drops buckets that are full again (idle long enough): they hold no state worth keeping. */
static void domains_prune(struct smtp_pool *p, int64_t now)
{
    for (int i = 0; i < DOMAIN_SLOTS; i++) {
        struct domain_bucket **pp = &p->domains[i];
        while (*pp) {
            struct domain_bucket *d = *pp;
            double full = d->b.tokens + (double)(now - d->b.last_ns) * p->dom_per_ns;
            if (full >= p->dom_burst) {
                *pp = d->next;
                free(d);
                p->n_domains--;
            } else {
                pp = &d->next;
            }
        }
    }
}

static struct bucket *domain_bucket(struct smtp_pool *p, const char *dom, int64_t now)
{
    unsigned h = domain_hash(dom);
    for (struct domain_bucket *d = p->domains[h]; d; d = d->next)
        if (strcasecmp(d->name, dom) == 0)
            return &d->b;
    if (p->n_domains >= DOMAIN_MAX)
        domains_prune(p, now);
    size_t n = strlen(dom) + 1;
    struct domain_bucket *d = calloc(1, sizeof(*d) + n);
    if (!d)
        return NULL;
    memcpy(d->name, dom, n);
    d->next = p->domains[h];
    p->domains[h] = d;
    p->n_domains++;
    return &d->b;
}

/* Takes a token from the global and the domain bucket, or none when the wait would pass
 * max_wait_ns (< 0: no limit). Returns the wait in ns (>= 0) or -(wait) when refused. */
static int64_t rate_reserve(struct smtp_pool *p, const char *dom, int64_t max_wait_ns)
{
    int64_t now = clock_mono_ns();
    pthread_mutex_lock(&p->mu);
    struct bucket *db = p->dom_per_ns > 0 ? domain_bucket(p, dom, now) : NULL;
    int64_t w1 = bucket_wait(&p->global, p->rate_per_ns, p->rate_burst, now);
    int64_t w2 = db ? bucket_wait(db, p->dom_per_ns, p->dom_burst, now) : 0;
    int64_t wait = w1 > w2 ? w1 : w2;
    if (max_wait_ns >= 0 && wait > max_wait_ns) {
        pthread_mutex_unlock(&p->mu);
        return -(wait > 0 ? wait : 1);
    }
    if (p->rate_per_ns > 0)
        p->global.tokens -= 1;
    if (db)
        db->tokens -= 1;
    pthread_mutex_unlock(&p->mu);
    return wait;
}

/* Sleeps wait_ns unless the pool stops first (then false). */
static bool pool_sleep(struct smtp_pool *p, int64_t wait_ns)
{
    if (wait_ns <= 0)
        return true;
    struct timespec dl = clock_deadline_in(wait_ns / 1000000 + 1);
    pthread_mutex_lock(&p->mu);
    int rc = 0;
    while (!p->stopping && rc == 0)
        rc = pthread_cond_timedwait(&p->cv, &p->mu, &dl);
    bool ok = !p->stopping;
    pthread_mutex_unlock(&p->mu);
    return ok;
}

/* ---- connections ----------------------------------------------------------------------- */

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
    struct smtp_conn *c = arg;
    size_t n = size * nmemb, left = c->len - c->off;
    if (n > left)
        n = left;
    memcpy(dst, c->data + c->off, n);
    c->off += n;
    return n;
}

/* Follows the dialogue: the command last sent gives the stage, the last reply line is kept
 * for the error text (only what the server said: our AUTH lines are never kept). */
static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
    (void)h;
    struct smtp_conn *c = arg;
    if (type == CURLINFO_HEADER_OUT && size >= 4) {
        if (strncasecmp(data, "MAIL", 4) == 0)
            c->stage = SMTP_STAGE_MAIL;
        else if (strncasecmp(data, "RCPT", 4) == 0)
            c->stage = SMTP_STAGE_RCPT;
        else if (strncasecmp(data, "DATA", 4) == 0)
            c->stage = SMTP_STAGE_DATA;
        else if (strncasecmp(data, "QUIT", 4) == 0)
            c->quitting = true; /* keep the reply that made curl give up, not "221 Bye" */
    } else if (type == CURLINFO_HEADER_IN && !c->quitting) {
        while (size && (data[size - 1] == '\n' || data[size - 1] == '\r'))
            size--;
        if (size >= sizeof(c->reply))
            size = sizeof(c->reply) - 1;
        memcpy(c->reply, data, size);
        c->reply[size] = '\0';
    }
    return 0;
}

static long use_ssl(enum smtp_tls t)
{
    return t == SMTP_TLS_REQUIRED ? (long)CURLUSESSL_ALL
           : t == SMTP_TLS_OFF    ? (long)CURLUSESSL_NONE
                                  : (long)CURLUSESSL_TRY;
}

static bool conn_setup(struct smtp_conn *c)
{
    const struct smtp_pool *p = c->pool;
    CURL *h = c->curl;
    bool ok =
        !curl_easy_setopt(h, CURLOPT_URL, p->url) && !curl_easy_setopt(h, CURLOPT_UPLOAD, 1L) &&
        !curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb) &&
        !curl_easy_setopt(h, CURLOPT_READDATA, c) && !curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) &&
        !curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf) &&
        !curl_easy_setopt(h, CURLOPT_USE_SSL, use_ssl(p->o.tls)) &&
        !curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)p->o.timeout_ms) &&
        !curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)p->o.timeout_ms) &&
        !curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) &&
        !curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb) &&
        !curl_easy_setopt(h, CURLOPT_DEBUGDATA, c) && !curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    if (ok && p->o.user && *p->o.user)
        ok = !curl_easy_setopt(h, CURLOPT_USERNAME, p->o.user) &&
             !curl_easy_setopt(h, CURLOPT_PASSWORD, p->o.password ? p->o.password : "");
    return ok;
}

static struct smtp_conn *conn_new(struct smtp_pool *p, bool pooled)
{
    struct smtp_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->pool = p;
    c->pooled = pooled;
    c->curl = curl_easy_init();
    if (!c->curl || !conn_setup(c)) {
        if (c->curl)
            curl_easy_cleanup(c->curl);
        free(c);
        return NULL;
    }
    return c;
}

void mail_smtp_conn_close(struct smtp_conn *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl); /* sends QUIT on an open connection */
    free(c);
}

enum herald_err mail_smtp_conn_open(struct smtp_pool *p, struct smtp_conn **out)
{
    *out = conn_new(p, false);
    return *out ? HERALD_OK : HERALD_ERR_NOMEM;
}

/* ---- the pool -------------------------------------------------------------------------- */

static enum herald_err copy_opts(struct smtp_pool *p, const struct smtp_opts *o)
{
    p->o = *o;
    p->o.url = strdup(o->url);
    p->o.user = o->user ? strdup(o->user) : NULL;
    p->o.password = o->password ? strdup(o->password) : NULL;
    p->o.helo = NULL;
    bool helo = o->helo && *o->helo;
    size_t n = strlen(o->url) + (helo ? strlen(o->helo) + 2 : 1);
    p->url = malloc(n);
    if (!p->o.url || !p->url || (o->user && !p->o.user) || (o->password && !p->o.password))
        return HERALD_ERR_NOMEM;
    const char *slash = strstr(o->url, "://");
    bool has_path = slash && strchr(slash + 3, '/');
    snprintf(p->url, n, "%s%s%s", o->url, helo && !has_path ? "/" : "",
             helo && !has_path ? o->helo : "");
    return HERALD_OK;
}

static enum herald_err check_opts(const struct smtp_opts *o, struct herald_error *err)
{
    if (!o->url ||
        (strncasecmp(o->url, "smtp://", 7) != 0 && strncasecmp(o->url, "smtps://", 8) != 0))
        return herald_error_set(err, HERALD_ERR_CONFIG, "HERALD_SMTP_URL",
                                "HERALD_SMTP_URL must start with smtp:// or smtps://");
    if (strpbrk(o->url, " \r\n") || (o->helo && strpbrk(o->helo, " \r\n/")))
        return herald_error_set(err, HERALD_ERR_CONFIG, "HERALD_SMTP_URL",
                                "HERALD_SMTP_URL is malformed");
    if (o->workers < 1 || o->timeout_ms < 1)
        return herald_error_set(err, HERALD_ERR_CONFIG, "HERALD_SMTP_WORKERS",
                                "HERALD_SMTP_WORKERS and HERALD_SMTP_TIMEOUT_MS must be > 0");
    return HERALD_OK;
}

static void free_pool(struct smtp_pool *p)
{
    for (int i = 0; i < p->n_idle; i++)
        mail_smtp_conn_close(p->idle[i]);
    for (int i = 0; i < DOMAIN_SLOTS; i++)
        while (p->domains[i]) {
            struct domain_bucket *d = p->domains[i];
            p->domains[i] = d->next;
            free(d);
        }
    free(p->idle);
    free((char *)p->o.url);
    free((char *)p->o.user);
    free((char *)p->o.password);
    free(p->url);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

enum herald_err mail_smtp_pool_open(const struct smtp_opts *o, struct smtp_pool **out,
                                    struct herald_error *err)
{
    *out = NULL;
    enum herald_err rc = check_opts(o, err);
    if (rc)
        return rc;
    struct smtp_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return HERALD_ERR_NOMEM;
    pthread_mutex_init(&p->mu, NULL);
    clock_cond_init(&p->cv);
    rate_setup(&o->rate, &p->rate_per_ns, &p->rate_burst);
    rate_setup(&o->domain_rate, &p->dom_per_ns, &p->dom_burst);
    rc = copy_opts(p, o);
    p->idle = rc ? NULL : calloc((size_t)o->workers, sizeof(*p->idle));
    if (!rc && !p->idle)
        rc = HERALD_ERR_NOMEM;
    for (int i = 0; !rc && i < o->workers; i++) {
        p->idle[i] = conn_new(p, true);
        rc = p->idle[i] ? HERALD_OK : HERALD_ERR_INTERNAL;
        p->n_idle += p->idle[i] != NULL;
    }
    if (rc) {
        free_pool(p);
        return rc == HERALD_ERR_INTERNAL
                   ? herald_error_set(err, rc, NULL, "libcurl could not make an SMTP handle")
                   : rc;
    }
    *out = p;
    return HERALD_OK;
}

void mail_smtp_pool_stop(struct smtp_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void mail_smtp_pool_close(struct smtp_pool *p)
{
    if (p)
        free_pool(p);
}

enum herald_err mail_smtp_acquire(struct smtp_pool *p, int timeout_ms, struct smtp_conn **out)
{
    struct timespec dl = clock_deadline_in(timeout_ms < 0 ? 0 : timeout_ms);
    enum herald_err rc = HERALD_OK;
    pthread_mutex_lock(&p->mu);
    while (!p->stopping && p->n_idle == 0 && rc == 0) {
        if (timeout_ms < 0)
            pthread_cond_wait(&p->cv, &p->mu);
        else if (pthread_cond_timedwait(&p->cv, &p->mu, &dl) != 0)
            rc = p->n_idle ? HERALD_OK : HERALD_ERR_SMTP;
    }
    if (p->stopping)
        rc = HERALD_ERR_SHUTTING_DOWN;
    else if (!rc)
        *out = p->idle[--p->n_idle];
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void mail_smtp_release(struct smtp_pool *p, struct smtp_conn *c)
{
    pthread_mutex_lock(&p->mu);
    p->idle[p->n_idle++] = c;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* ---- one send -------------------------------------------------------------------------- */

static void classify(struct smtp_conn *c, CURLcode cc, struct smtp_result *out)
{
    long code = 0;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
    out->code = (int)code;
    out->stage = c->stage;
    if (cc == CURLE_OK) {
        out->status = SMTP_OK;
        out->stage = SMTP_STAGE_DATA;
        return;
    }
    bool replied = code >= 400 && code < 600 && c->reply[0] &&
                   (cc == CURLE_SEND_ERROR || cc == CURLE_WEIRD_SERVER_REPLY ||
                    cc == CURLE_LOGIN_DENIED || cc == CURLE_RECV_ERROR);
    if (!replied)
        out->code = 0;
    out->status = replied && code >= 500 ? SMTP_PERMANENT : SMTP_TRANSIENT;
    if (cc == CURLE_USE_SSL_FAILED || cc == CURLE_LOGIN_DENIED ||
        cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_URL_MALFORMAT) {
        out->status = SMTP_PERMANENT; /* a configuration problem: retrying will not help */
        out->stage = SMTP_STAGE_CONNECT;
    }
    const char *why = c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc);
    struct buf b;
    buf_init(&b, sizeof(out->error) - 1);
    if (buf_append_str(&b, why) == HERALD_OK && replied && buf_append_str(&b, " (") == HERALD_OK &&
        buf_append_str(&b, c->reply) == HERALD_OK)
        buf_append_str(&b, ")");
    snprintf(out->error, sizeof(out->error), "%s", b.data ? b.data : why);
    buf_free(&b);
}

static bool addr_ok(const char *a)
{
    return a && *a && strlen(a) < 256 && !strpbrk(a, "\r\n <>") && strchr(a, '@');
}

static enum herald_err perform(struct smtp_conn *c, const char *from, const char *rcpt,
                               struct smtp_result *out)
{
    struct curl_slist *rl = curl_slist_append(NULL, rcpt);
    if (!rl)
        return HERALD_ERR_NOMEM;
    curl_easy_setopt(c->curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c->curl, CURLOPT_MAIL_RCPT, rl);
    curl_easy_setopt(c->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)c->len);
    c->off = 0;
    c->stage = SMTP_STAGE_CONNECT;
    c->quitting = false;
    c->reply[0] = c->errbuf[0] = '\0';
    CURLcode cc = curl_easy_perform(c->curl);
    classify(c, cc, out);
    curl_easy_setopt(c->curl, CURLOPT_MAIL_RCPT, NULL);
    curl_slist_free_all(rl);
    return HERALD_OK;
}

enum herald_err mail_smtp_send(struct smtp_conn *c, const char *envelope_from, const char *rcpt,
                               const char *data, size_t len, int64_t max_rate_wait_ms,
                               struct smtp_result *out)
{
    *out = (struct smtp_result){.status = SMTP_TRANSIENT};
    if (!addr_ok(envelope_from) || !addr_ok(rcpt))
        return HERALD_ERR_INVALID;
    int64_t wait = rate_reserve(c->pool, strrchr(rcpt, '@') + 1,
                                max_rate_wait_ms < 0 ? -1 : max_rate_wait_ms * 1000000);
    if (wait < 0 || !pool_sleep(c->pool, wait)) {
        out->stage = SMTP_STAGE_RATE;
        out->retry_after_ms = wait < 0 ? -wait / 1000000 + 1 : 0;
        snprintf(out->error, sizeof(out->error), "%s",
                 wait < 0 ? "rate limit: not sent" : "stopping: not sent");
        return HERALD_OK;
    }
    c->data = data;
    c->len = len;
    enum herald_err rc = perform(c, envelope_from, rcpt, out);
    c->data = NULL;
    return rc;
}
