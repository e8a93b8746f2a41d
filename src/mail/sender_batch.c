/* One claimed batch of the sender (sender.h): per row skip / release / render + send, the
 * periodic re-check of campaign status and mailability, lease renewal, and the one
 * transaction that records every outcome with its event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/backoff.h"
#include "base/clock.h"
#include "base/log.h"
#include "mail/events.h"
#include "mail/sender_internal.h"
#include "mail/smtp.h"
#include "mail/transport.h"

#define RATE_WAIT_MS 250
#define MAX_CAMPAIGNS 16 /* distinct campaigns tracked per batch; more are re-read */

#define CONTENT_RETRY_MS 5000 /* a store error loading a campaign's content */

static const struct backoff conn_backoff = {1000, SENDER_CONN_BACKOFF_MAX_MS, 20, 0, 0};
static const int retry_scale[] = {2, 10, 30}; /* × the SMTP timeout: 1, 5, 15 min by default */

struct batch {
    struct sender_thread *t;
    struct store_send_row *rows;
    size_t n;
    struct store_send_result *res;
    char (*msgid)[MIME_MESSAGE_ID_MAX];
    char (*err)[SMTP_ERROR_MAX];
    int64_t camp_id[MAX_CAMPAIGNS];
    char camp_status[MAX_CAMPAIGNS][16];
    size_t ncamps;
    int64_t *unmailable;
    size_t nunmailable;
    int64_t last_check_ms;
    struct mail_campaign_content *content;
    bool *lost;      /* the row's lease is no longer ours: neither sent nor recorded */
    bool *owned;     /* the last renewal's answer; then the rows the outcome wrote */
    bool conn_down;  /* the relay connection failed: the rest of the batch is released */
    bool conn_fatal; /* … permanently (login denied, TLS refused) */
    bool replied;    /* the relay answered MAIL/RCPT/DATA at least once */
    bool unleased;   /* the lease could not be renewed: the rest of the batch is released */
    char conn_error[SMTP_ERROR_MAX];
};

struct check_tx {
    struct batch *b;
    size_t from;
};

static int check_tx(struct store_conn *c, void *arg)
{
    struct check_tx *x = arg;
    struct batch *b = x->b;
    b->ncamps = 0;
    for (size_t i = x->from; i < b->n; i++) {
        bool seen = false;
        for (size_t k = 0; k < b->ncamps && !seen; k++)
            seen = b->camp_id[k] == b->rows[i].campaign_id;
        if (seen || b->ncamps == MAX_CAMPAIGNS)
            continue;
        b->camp_id[b->ncamps] = b->rows[i].campaign_id;
        int rc = store_campaign_status(c, b->rows[i].campaign_id, b->camp_status[b->ncamps]);
        if (rc == HERALD_ERR_NOT_FOUND)
            snprintf(b->camp_status[b->ncamps], 16, "deleted");
        else if (rc)
            return rc;
        b->ncamps++;
    }
    return store_send_queue_recheck(c, b->rows + x->from, b->n - x->from, b->unmailable,
                                    &b->nunmailable);
}

struct renew_tx {
    struct batch *b;
    int64_t next;
};

static int renew_tx(struct store_conn *c, void *arg)
{
    struct renew_tx *x = arg;
    return store_send_queue_renew(c, x->b->t->locked_by, x->b->rows, x->b->n, x->next, x->b->owned);
}

/* Before a send: true when the lease will outlast it (one SMTP timeout + a margin), renewing
 * it when needed. Rows the renewal no longer finds ours are marked lost. */
static bool lease_holds(struct batch *b)
{
    struct sender_thread *t = b->t;
    int64_t now = clock_now_ms();
    int64_t need = (int64_t)t->s->o.smtp_timeout_ms + SENDER_LEASE_MARGIN_MS;
    if (t->lease_until_ms - now >= need)
        return true;
    struct renew_tx r = {b, now + t->s->o.lease_ms};
    int rc = store_run_tx(t->s->o.store, renew_tx, &r);
    if (rc) {
        log_warn("cannot renew a send batch's lease (its unsent rows are released)",
                 json_pack("{s:s}", "error", herald_strerror(rc)));
        b->unleased = true;
        return false;
    }
    t->lease_until_ms = r.next;
    size_t lost = 0;
    for (size_t i = 0; i < b->n; i++)
        if (!b->owned[i] && !b->lost[i]) {
            b->lost[i] = true;
            lost++;
        }
    if (lost)
        log_warn("send rows no longer ours were dropped from the batch",
                 json_pack("{s:i}", "rows", (int)lost));
    return true;
}

/* Every SENDER_CHECK_MS: campaign status and mailability. A failed check keeps the last
 * answers. */
static void maybe_check(struct batch *b, size_t from)
{
    struct sender_thread *t = b->t;
    int64_t now = clock_now_ms();
    if (now - b->last_check_ms < SENDER_CHECK_MS)
        return;
    b->last_check_ms = now;
    struct check_tx x = {b, from};
    if (store_run_read(t->s->o.store, check_tx, &x) != HERALD_OK)
        log_warn("cannot re-check a send batch", NULL);
}

static bool campaign_running(const struct batch *b, int64_t id)
{
    for (size_t k = 0; k < b->ncamps; k++)
        if (b->camp_id[k] == id)
            return strcmp(b->camp_status[k], "running") == 0;
    return true; /* not re-read yet: it was running at the claim */
}

static bool still_mailable(const struct batch *b, const struct store_send_row *row)
{
    if (!row->mailable)
        return false;
    for (size_t k = 0; k < b->nunmailable; k++)
        if (b->unmailable[k] == row->id)
            return false;
    return true;
}

static void set_error(struct batch *b, size_t i, enum store_send_outcome o, const char *text)
{
    snprintf(b->err[i], SMTP_ERROR_MAX, "%s", text);
    b->res[i].outcome = o;
    b->res[i].error = b->err[i];
}

/* The enhanced status code (RFC 3463) in an SMTP error text: the first " c.s.d" with class
 * 2, 4 or 5 that says something (c.0.0, "other undefined status", is passed over). False when
 * there is none. */
static bool enhanced_code(const char *text, int *cls, int *subject, int *detail)
{
    for (const char *p = text; *p; p++) {
        if ((p != text && p[-1] != ' ' && p[-1] != '(') || (*p != '2' && *p != '4' && *p != '5'))
            continue;
        int a, b2, c, n = 0;
        if (sscanf(p, "%1d.%3d.%3d%n", &a, &b2, &c, &n) == 3 && n >= 5 && (b2 || c)) {
            *cls = a;
            *subject = b2;
            *detail = c;
            return true;
        }
    }
    return false;
}

/* A permanent RCPT/DATA reply that says the address itself is bad. */
static bool hard_bounce(const struct smtp_result *r)
{
    int cls, subject, detail;
    if (!enhanced_code(r->error, &cls, &subject, &detail))
        return r->stage == SMTP_STAGE_RCPT;
    return cls == 5 && (subject == 1 || (subject == 2 && detail == 1));
}

/* No relay to talk to: connect/greeting/TLS/AUTH failed, or the connection broke before any
 * reply to MAIL or RCPT (nothing was delivered, so no attempt is counted). */
static bool connection_failed(const struct smtp_result *r)
{
    if (r->stage == SMTP_STAGE_CONNECT || r->stage == SMTP_STAGE_NONE)
        return true;
    return r->status == SMTP_TRANSIENT && r->code == 0 &&
           (r->stage == SMTP_STAGE_MAIL || r->stage == SMTP_STAGE_RCPT);
}

static int64_t retry_delay_ms(struct batch *b, int attempts)
{
    int n = (int)(sizeof(retry_scale) / sizeof(retry_scale[0]));
    int64_t d = (int64_t)b->t->s->o.smtp_timeout_ms * retry_scale[attempts < n ? attempts : n - 1];
    return d + (int64_t)(rand_r(&b->t->seed) % 1000) * d / 5000; /* + 0..20 % */
}

static void classify(struct batch *b, size_t i, const struct smtp_result *r)
{
    struct store_send_result *res = &b->res[i];
    int64_t now = clock_now_ms();
    if (r->status == SMTP_OK || r->code != 0)
        b->replied = true;
    if (r->status != SMTP_OK && r->stage != SMTP_STAGE_RATE && connection_failed(r)) {
        set_error(b, i, STORE_SEND_RELEASE, r->error);
        b->conn_down = true;
        b->conn_fatal = r->status == SMTP_PERMANENT;
        snprintf(b->conn_error, sizeof(b->conn_error), "%s", r->error);
    } else if (r->status == SMTP_OK) {
        res->outcome = STORE_SEND_SENT;
        snprintf(b->msgid[i], MIME_MESSAGE_ID_MAX, "%s", b->t->bufs.message_id);
        res->message_id = b->msgid[i];
    } else if (r->status == SMTP_TRANSIENT && r->stage == SMTP_STAGE_RATE) {
        res->outcome = STORE_SEND_RELEASE;
        res->run_after_ms = now + (r->retry_after_ms > 0 ? r->retry_after_ms : 1000);
    } else if (r->status == SMTP_TRANSIENT && b->rows[i].attempts < b->t->s->o.retries) {
        set_error(b, i, STORE_SEND_RETRY, r->error);
        res->run_after_ms = now + retry_delay_ms(b, b->rows[i].attempts);
    } else if (r->status == SMTP_PERMANENT &&
               (r->stage == SMTP_STAGE_RCPT || r->stage == SMTP_STAGE_DATA) && hard_bounce(r)) {
        set_error(b, i, STORE_SEND_BOUNCED, r->error);
    } else {
        set_error(b, i, STORE_SEND_FAILED, r->error);
    }
}

static int use_content(struct batch *b, int64_t campaign_id, struct herald_error *err)
{
    if (b->content && b->content->campaign_id == campaign_id)
        return HERALD_OK;
    sender_content_put(b->t->s, b->content);
    b->content = NULL;
    return sender_content_get(b->t->s, campaign_id, &b->content, err);
}

static void send_row(struct batch *b, size_t i)
{
    struct sender_thread *t = b->t;
    const struct store_send_row *row = &b->rows[i];
    struct herald_error err = {0};
    int rc = use_content(b, row->campaign_id, &err);
    struct mail_recipient r = {row->contact_id, row->list_id, row->email, row->name,
                               row->attributes};
    if (rc && rc != HERALD_ERR_NOT_FOUND && rc != HERALD_ERR_INVALID) {
        set_error(b, i, STORE_SEND_RELEASE, herald_strerror(rc)); /* the store, not the mail */
        b->res[i].run_after_ms = clock_now_ms() + CONTENT_RETRY_MS;
        return;
    }
    if (!rc)
        rc = mail_render_message(&t->s->render, b->content, &r, false, &t->bufs, &err);
    if (rc) {
        set_error(b, i, STORE_SEND_FAILED, herald_error_message(&err));
        return;
    }
    if (!t->conn && mail_smtp_conn_open(mail_transport_pool(t->s->o.transport), &t->conn)) {
        struct smtp_result none = {.status = SMTP_TRANSIENT, .stage = SMTP_STAGE_CONNECT};
        snprintf(none.error, sizeof(none.error), "cannot open an SMTP connection");
        classify(b, i, &none);
        return;
    }
    struct smtp_result sr;
    rc = mail_smtp_send(t->conn, t->bufs.envelope_from, row->email, t->bufs.msg.data,
                        t->bufs.msg.len, RATE_WAIT_MS, &sr);
    if (rc)
        set_error(b, i, STORE_SEND_FAILED, herald_strerror(rc));
    else
        classify(b, i, &sr);
}

static void do_row(struct batch *b, size_t i)
{
    const struct store_send_row *row = &b->rows[i];
    b->res[i] = (struct store_send_result){
        row->id, row->campaign_id, row->contact_id, STORE_SEND_RELEASE, NULL, NULL, 0};
    if (atomic_load(&b->t->s->stopping) || b->conn_down || b->unleased || b->lost[i] ||
        !campaign_running(b, row->campaign_id))
        return; /* released */
    maybe_check(b, i);
    if (!campaign_running(b, row->campaign_id))
        return;
    if (!still_mailable(b, row))
        b->res[i].outcome = STORE_SEND_SKIPPED;
    else if (lease_holds(b) && !b->lost[i])
        send_row(b, i);
}

/* ---------------- recording ---------------- */

struct record_tx {
    struct batch *b;
    char (*src)[24];
    struct mail_event *evs;
    size_t nevs;
    int64_t now;
};

static int insert_events(struct store_conn *c, struct record_tx *x)
{
    int rc = mail_events_insert(c, x->evs, x->nevs, x->now);
    if (rc != HERALD_ERR_INVALID)
        return rc;
    /* one event without a key (a malformed address) must not lose the others */
    for (size_t i = 0; i < x->nevs; i++) {
        rc = mail_events_insert(c, &x->evs[i], 1, x->now);
        if (rc && rc != HERALD_ERR_INVALID)
            return rc;
    }
    return HERALD_OK;
}

static enum mail_event_type event_type(enum store_send_outcome o)
{
    return o == STORE_SEND_SENT     ? MAIL_EV_SENT
           : o == STORE_SEND_FAILED ? MAIL_EV_FAILED
                                    : MAIL_EV_BOUNCED;
}

/* The events of the rows the outcome actually wrote (b->owned). */
static void make_events(struct record_tx *x)
{
    struct batch *b = x->b;
    x->nevs = 0;
    for (size_t i = 0; i < b->n; i++) {
        enum store_send_outcome o = b->res[i].outcome;
        if (!b->owned[i] ||
            (o != STORE_SEND_SENT && o != STORE_SEND_FAILED && o != STORE_SEND_BOUNCED))
            continue;
        x->evs[x->nevs++] = (struct mail_event){
            event_type(o), b->rows[i].campaign_id, b->rows[i].email, x->src[i], x->now, NULL};
    }
}

static int record_tx(struct store_conn *c, void *arg)
{
    struct record_tx *x = arg;
    struct batch *b = x->b;
    int rc = store_send_queue_record(c, b->t->locked_by, b->res, b->n, x->now, b->owned);
    if (!rc) {
        make_events(x);
        rc = insert_events(c, x);
    }
    int64_t last = 0;
    for (size_t i = 0; !rc && i < b->n; i++) {
        if (b->res[i].campaign_id == last)
            continue;
        last = b->res[i].campaign_id;
        bool finished;
        rc = store_campaign_finish_if_done(c, last, x->now, &finished);
    }
    return rc;
}

static void count(struct mail_sender *s, const struct store_send_result *r)
{
    switch (r->outcome) {
    case STORE_SEND_SENT:
        atomic_fetch_add(&s->sent, 1);
        break;
    case STORE_SEND_FAILED:
        atomic_fetch_add(&s->failed, 1);
        break;
    case STORE_SEND_BOUNCED:
        atomic_fetch_add(&s->bounced, 1);
        break;
    case STORE_SEND_SKIPPED:
        atomic_fetch_add(&s->skipped, 1);
        break;
    case STORE_SEND_RETRY:
        atomic_fetch_add(&s->retried, 1);
        break;
    case STORE_SEND_RELEASE:
        break;
    }
}

static void record(struct batch *b, char (*src)[24], struct mail_event *evs)
{
    struct record_tx x = {b, src, evs, 0, clock_now_ms()};
    for (size_t i = 0; i < b->n; i++)
        snprintf(src[i], 24, "%lld", (long long)b->rows[i].id);
    int rc = store_run_tx(b->t->s->o.store, record_tx, &x);
    if (rc) {
        log_error("cannot record a send batch (its rows are retried once their lease ends)",
                  json_pack("{s:s, s:i}", "error", herald_strerror(rc), "rows", (int)b->n));
        return;
    }
    for (size_t i = 0; i < b->n; i++)
        if (b->owned[i])
            count(b->t->s, &b->res[i]);
}

/* After a batch: a failed relay connection backs the thread off (1 s doubling to 60 s). */
static void after_batch(struct sender_thread *t, const struct batch *b)
{
    if (!b->conn_down) {
        if (b->replied)
            t->conn_failures = 0;
        return;
    }
    t->pause_ms = backoff_delay_ms(&conn_backoff, t->conn_failures, &t->seed);
    if (t->conn_failures < 30)
        t->conn_failures++;
    json_t *f =
        json_pack("{s:s, s:I}", "error", b->conn_error, "retryInMs", (json_int_t)t->pause_ms);
    if (b->conn_fatal)
        log_error("the SMTP relay refuses us (check HERALD_SMTP_*): sending is held", f);
    else
        log_warn("the SMTP relay is unreachable: sending is held", f);
}

void sender_run_batch(struct sender_thread *t, struct store_send_row *rows, size_t n)
{
    struct batch b = {.t = t, .rows = rows, .n = n, .last_check_ms = clock_now_ms()};
    b.res = calloc(n, sizeof(*b.res));
    b.msgid = calloc(n, sizeof(*b.msgid));
    b.err = calloc(n, sizeof(*b.err));
    b.unmailable = calloc(n, sizeof(*b.unmailable));
    b.lost = calloc(n, sizeof(*b.lost));
    b.owned = calloc(n, sizeof(*b.owned));
    char(*src)[24] = calloc(n, sizeof(*src));
    struct mail_event *evs = calloc(n, sizeof(*evs));
    if (b.res && b.msgid && b.err && b.unmailable && b.lost && b.owned && src && evs) {
        for (size_t i = 0; i < n; i++)
            do_row(&b, i);
        record(&b, src, evs);
        after_batch(t, &b);
    } else {
        log_error("out of memory in a send batch (its rows are retried once their lease ends)",
                  NULL);
    }
    sender_content_put(t->s, b.content);
    free(b.res);
    free(b.msgid);
    free(b.err);
    free(b.unmailable);
    free(b.lost);
    free(b.owned);
    free(src);
    free(evs);
}
