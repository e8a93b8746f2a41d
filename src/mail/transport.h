/* The mail transport: the SMTP pool + the DKIM signer + the sending options, one per process
 * (app->mail_transport; NULL when HERALD_SMTP_URL is empty, and Herald still serves).
 * Owned by the `transport` module.
 *
 * mail_transport_send() builds, signs and sends one message over a pooled connection: for
 * double opt-in confirmations and test sends. A campaign sender that keeps its own
 * connection per thread uses the pieces: mail_transport_render() (build + sign into a buffer),
 * mail_transport_pool() + mail_smtp_conn_open()/mail_smtp_send() (smtp.h). All of it is
 * thread-safe. */
#ifndef HERALD_MAIL_TRANSPORT_H
#define HERALD_MAIL_TRANSPORT_H

#include <stdbool.h>

#include "base/buf.h"
#include "base/err.h"
#include "mail/dkim.h"
#include "mail/mime.h"
#include "mail/smtp.h"

#define MAIL_MESSAGE_MAX (16u << 20) /* largest rendered message (buf max) */

struct mail_transport_opts {
    struct smtp_opts smtp;
    struct mail_dkim_opts dkim; /* dkim.key_file and ed25519_key_file NULL/"": unsigned mail */
    int acquire_timeout_ms;     /* wait for a pooled connection; 0: smtp.timeout_ms */
};

struct mail_transport;

/* Opens the pool and loads the DKIM key(s). Errors of mail_smtp_pool_open() and
 * mail_dkim_open() (HERALD_ERR_CONFIG naming the variable in err->field). */
enum herald_err mail_transport_open(const struct mail_transport_opts *o,
                                    struct mail_transport **out, struct herald_error *err);
/* Wakes waiting senders (see mail_smtp_pool_stop); call before stopping their threads. */
void mail_transport_stop(struct mail_transport *t);
void mail_transport_close(struct mail_transport *t);

/* False for NULL (HERALD_SMTP_URL empty): sending is not configured. */
bool mail_transport_configured(const struct mail_transport *t);
/* True when messages get DKIM signatures. */
bool mail_transport_signs(const struct mail_transport *t);

/* The pool, for senders that manage their own connections. */
struct smtp_pool *mail_transport_pool(struct mail_transport *t);

/* Appends the DKIM-Signature header(s) and then the message built from m to `out` (the
 * caller's buffer, max >= MAIL_MESSAGE_MAX advised; reuse it across messages with
 * buf_reset). message_id_out (may be NULL) receives the Message-ID. Errors of
 * mail_mime_build() and mail_dkim_sign(). */
enum herald_err mail_transport_render(struct mail_transport *t, const struct mime_message *m,
                                      struct buf *out, char message_id_out[MIME_MESSAGE_ID_MAX],
                                      struct herald_error *err);

/* Render + send one message to rcpt with envelope_from (the Return-Path; NULL: m->from_email)
 * over a pooled connection, waiting for rate tokens as long as needed. HERALD_OK when the
 * relay accepted it; HERALD_ERR_SMTP when it did not or could not be reached (out says how:
 * transient or permanent, code, stage, error text); HERALD_ERR_SENDING_NOT_CONFIGURED for
 * t == NULL; HERALD_ERR_INVALID for a bad message (err->field); HERALD_ERR_SHUTTING_DOWN.
 * `out` is always filled. */
enum herald_err mail_transport_send(struct mail_transport *t, const struct mime_message *m,
                                    const char *envelope_from, const char *rcpt,
                                    struct smtp_result *out, struct herald_error *err);

#endif
