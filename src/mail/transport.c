/* The mail transport (transport.h): owns the SMTP pool and the DKIM signer of the process and
 * composes them: render (build + sign) and send one message over a pooled connection. */
#include "mail/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mail_transport {
    struct smtp_pool *pool;
    struct mail_dkim *dkim; /* NULL: unsigned */
    int acquire_timeout_ms;
};

enum herald_err mail_transport_open(const struct mail_transport_opts *o,
                                    struct mail_transport **out, struct herald_error *err)
{
    *out = NULL;
    struct mail_transport *t = calloc(1, sizeof(*t));
    if (!t)
        return HERALD_ERR_NOMEM;
    t->acquire_timeout_ms = o->acquire_timeout_ms > 0 ? o->acquire_timeout_ms : o->smtp.timeout_ms;
    enum herald_err rc = mail_smtp_pool_open(&o->smtp, &t->pool, err);
    bool sign = (o->dkim.key_file && *o->dkim.key_file) ||
                (o->dkim.ed25519_key_file && *o->dkim.ed25519_key_file);
    if (!rc && sign)
        rc = mail_dkim_open(&o->dkim, &t->dkim, err);
    if (rc) {
        mail_transport_close(t);
        return rc;
    }
    *out = t;
    return HERALD_OK;
}

void mail_transport_stop(struct mail_transport *t)
{
    if (t)
        mail_smtp_pool_stop(t->pool);
}

void mail_transport_close(struct mail_transport *t)
{
    if (!t)
        return;
    mail_smtp_pool_close(t->pool);
    mail_dkim_close(t->dkim);
    free(t);
}

bool mail_transport_configured(const struct mail_transport *t)
{
    return t != NULL;
}

bool mail_transport_signs(const struct mail_transport *t)
{
    return t && t->dkim;
}

struct smtp_pool *mail_transport_pool(struct mail_transport *t)
{
    return t->pool;
}

/* The signatures are computed over the message, then the message is moved behind them. */
enum herald_err mail_transport_render(struct mail_transport *t, const struct mime_message *m,
                                      struct buf *out, char message_id_out[MIME_MESSAGE_ID_MAX],
                                      struct herald_error *err)
{
    size_t start = out->len;
    enum herald_err rc = mail_mime_build(m, out, message_id_out, err);
    if (rc || !t->dkim)
        return rc;
    struct buf sigs;
    buf_init(&sigs, 16 * 1024);
    rc = mail_dkim_sign(t->dkim, out->data + start, out->len - start, &sigs, err);
    if (!rc)
        rc = buf_append(out, sigs.data, sigs.len); /* room at the end, then rotate */
    if (!rc) {
        size_t msg_len = out->len - start - sigs.len;
        memmove(out->data + start + sigs.len, out->data + start, msg_len);
        memcpy(out->data + start, sigs.data, sigs.len);
    }
    buf_free(&sigs);
    return rc;
}

static enum herald_err send_rendered(struct mail_transport *t, const char *from, const char *rcpt,
                                     const struct buf *msg, struct smtp_result *out)
{
    struct smtp_conn *c = NULL;
    enum herald_err rc = mail_smtp_acquire(t->pool, t->acquire_timeout_ms, &c);
    if (rc) {
        snprintf(out->error, sizeof(out->error), "%s",
                 rc == HERALD_ERR_SMTP ? "no free SMTP connection" : "stopping");
        return rc;
    }
    rc = mail_smtp_send(c, from, rcpt, msg->data, msg->len, -1, out);
    mail_smtp_release(t->pool, c);
    if (!rc && out->status != SMTP_OK)
        rc = out->stage == SMTP_STAGE_RATE ? HERALD_ERR_SHUTTING_DOWN : HERALD_ERR_SMTP;
    return rc;
}

enum herald_err mail_transport_send(struct mail_transport *t, const struct mime_message *m,
                                    const char *envelope_from, const char *rcpt,
                                    struct smtp_result *out, struct herald_error *err)
{
    *out = (struct smtp_result){.status = SMTP_TRANSIENT};
    if (!t) {
        snprintf(out->error, sizeof(out->error), "sending is not configured");
        return herald_error_set(err, HERALD_ERR_SENDING_NOT_CONFIGURED, NULL, NULL);
    }
    struct buf msg;
    buf_init(&msg, MAIL_MESSAGE_MAX);
    enum herald_err rc = mail_transport_render(t, m, &msg, NULL, err);
    if (!rc)
        rc = send_rendered(t, envelope_from ? envelope_from : m->from_email, rcpt, &msg, out);
    if (rc == HERALD_ERR_SMTP)
        herald_error_set(err, rc, NULL, "%s", out->error);
    else if (rc == HERALD_ERR_INVALID && !(err && err->message[0]))
        herald_error_set(err, rc, "rcpt", "the recipient or sender address is invalid");
    buf_free(&msg);
    return rc;
}
