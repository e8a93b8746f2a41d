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

static const struct backoff retry_backoff = {1000, 5 * 60 * 1000, 50, 0, 0};

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
    const char *node;
    const struct store_send_row *rows;
    size_t n;
    int64_t next;
};

static int renew_tx(struct store_conn *c, void *arg)
{
    struct renew_tx *x = arg;
    return store_send_queue_renew(c, x->node, x->rows, x->n, x->next);
}

/* Every SENDER_CHECK_MS: campaign status, mailability, and the lease once a third of it has
 * passed. A failed check keeps the last answers. */
static void maybe_check(struct batch *b, size_t from)
{
    struct sender_thread *t = b->t;
    int64_t now = clock_now_ms();
    if (now - b->last_check_ms < SENDER_CHECK_MS)
        return;
    b->last_check_ms = now;
    int64_t lease = t->s->o.lease_ms;
    if (t->lease_until_ms - now < lease * 2 / 3) {
        struct renew_tx r = {t->locked_by, b->rows, b->n, now + lease};
        if (store_run_tx(t->s->o.store, renew_tx, &r) == HERALD_OK)
            t->lease_until_ms = r.next;
    }
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

static void classify(struct batch *b, size_t i, const struct smtp_result *r)
{
    struct store_send_result *res = &b->res[i];
    int64_t now = clock_now_ms();
    if (r->status == SMTP_OK) {
        res->outcome = STORE_SEND_SENT;
        snprintf(b->msgid[i], MIME_MESSAGE_ID_MAX, "%s", b->t->bufs.message_id);
        res->message_id = b->msgid[i];
    } else if (r->status == SMTP_TRANSIENT && r->stage == SMTP_STAGE_RATE) {
        res->outcome = STORE_SEND_RELEASE;
        res->run_after_ms = now + (r->retry_after_ms > 0 ? r->retry_after_ms : 1000);
    } else if (r->status == SMTP_TRANSIENT && b->rows[i].attempts < b->t->s->o.retries) {
        set_error(b, i, STORE_SEND_RETRY, r->error);
        res->run_after_ms =
            now + backoff_delay_ms(&retry_backoff, b->rows[i].attempts, &b->t->seed);
    } else if (r->status == SMTP_PERMANENT &&
               (r->stage == SMTP_STAGE_RCPT || r->stage == SMTP_STAGE_DATA)) {
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
    if (atomic_load(&b->t->s->stopping) || !campaign_running(b, row->campaign_id))
        return; /* released */
    maybe_check(b, i);
    if (!campaign_running(b, row->campaign_id))
        return;
    if (!still_mailable(b, row))
        b->res[i].outcome = STORE_SEND_SKIPPED;
    else
        send_row(b, i);
}

/* ---------------- recording ---------------- */

struct record_tx {
    struct batch *b;
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

static int record_tx(struct store_conn *c, void *arg)
{
    struct record_tx *x = arg;
    struct batch *b = x->b;
    int rc = store_send_queue_record(c, b->t->locked_by, b->res, b->n, x->now);
    if (!rc)
        rc = insert_events(c, x);
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
    struct record_tx x = {b, evs, 0, clock_now_ms()};
    for (size_t i = 0; i < b->n; i++) {
        enum store_send_outcome o = b->res[i].outcome;
        if (o != STORE_SEND_SENT && o != STORE_SEND_FAILED && o != STORE_SEND_BOUNCED)
            continue;
        snprintf(src[i], 24, "%lld", (long long)b->rows[i].id);
        evs[x.nevs++] = (struct mail_event){o == STORE_SEND_SENT     ? MAIL_EV_SENT
                                            : o == STORE_SEND_FAILED ? MAIL_EV_FAILED
                                                                     : MAIL_EV_BOUNCED,
                                            b->rows[i].campaign_id,
                                            b->rows[i].email,
                                            src[i],
                                            x.now,
                                            NULL};
    }
    int rc = store_run_tx(b->t->s->o.store, record_tx, &x);
    if (rc) {
        log_error("cannot record a send batch (its rows are retried once their lease ends)",
                  json_pack("{s:s, s:i}", "error", herald_strerror(rc), "rows", (int)b->n));
        return;
    }
    for (size_t i = 0; i < b->n; i++)
        count(b->t->s, &b->res[i]);
}

void sender_run_batch(struct sender_thread *t, struct store_send_row *rows, size_t n)
{
    struct batch b = {.t = t, .rows = rows, .n = n, .last_check_ms = clock_now_ms()};
    b.res = calloc(n, sizeof(*b.res));
    b.msgid = calloc(n, sizeof(*b.msgid));
    b.err = calloc(n, sizeof(*b.err));
    b.unmailable = calloc(n, sizeof(*b.unmailable));
    char(*src)[24] = calloc(n, sizeof(*src));
    struct mail_event *evs = calloc(n, sizeof(*evs));
    if (b.res && b.msgid && b.err && b.unmailable && src && evs) {
        for (size_t i = 0; i < n; i++)
            do_row(&b, i);
        record(&b, src, evs);
    } else {
        log_error("out of memory in a send batch (its rows are retried once their lease ends)",
                  NULL);
    }
    sender_content_put(t->s, b.content);
    free(b.res);
    free(b.msgid);
    free(b.err);
    free(b.unmailable);
    free(src);
    free(evs);
}
