/* One campaign's compiled content and the rendering of one recipient's signed message
 * (mail/sender_render.c), shared by the sender threads and the test sends.
 *
 * A struct mail_campaign_content holds a campaign's subject, HTML and text compiled once (merge
 * tags, mail/template.h) with its From, Reply-To and tracking flag; it is immutable once loaded, so
 * any number of threads render from it at once. mail_render_message() then writes, for one
 * recipient: the merge tags with the contact's values and its own unsubscribe and preference
 * URLs, the click-tracking rewrite and open pixel (when tracking is on), a footer with the
 * postal address and the unsubscribe/preferences links in both parts, List-Unsubscribe and
 * List-Unsubscribe-Post, the envelope sender and the DKIM signature(s)
 * (mail_transport_render()). With HERALD_BOUNCE_DOMAIN set, List-Unsubscribe carries the https
 * URL and mailto:unsubscribe+{token}@{bounce domain}, and the envelope sender is the VERP
 * address bounces+{MAIL_TOKEN_BOUNCE token}@{bounce domain}; without it, only the https URL
 * (+ One-Click) and the From address as envelope sender (nothing of ours would receive mail
 * sent to the From domain). Buffers live in struct mail_render_bufs, reused from message to
 * message.
 *
 * Content: a template campaign renders the snapshot copied into its row when sending began
 * (store_campaign_snapshot()); before that (test sends) the template as it is now.
 *
 * Errors: HERALD_ERR_NOT_FOUND (campaign or its template gone), HERALD_ERR_INVALID (a merge
 * tag that no longer compiles, a bad address: err->field), buffer and DKIM errors. */
#ifndef HERALD_MAIL_SENDER_RENDER_H
#define HERALD_MAIL_SENDER_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "mail/mime.h"
#include "mail/token.h"
#include "store/store.h"

struct mail_transport;

struct mail_render_opts {
    const struct mail_keyring *keys;
    const char *public_url;     /* without a trailing slash */
    const char *postal_address; /* HERALD_POSTAL_ADDRESS */
    const char *bounce_domain;  /* HERALD_BOUNCE_DOMAIN; "": no VERP, no mailto unsubscribe */
    struct mail_transport *transport;
};

struct mail_campaign_content {
    int64_t campaign_id;
    char *name, *from_email, *from_name, *reply_to;
    struct tmpl *subject, *html, *text; /* html or text may be NULL (absent part) */
    unsigned uses;                      /* enum tmpl_use of the three together */
    bool tracking;
    char from_domain[256];
};

/* Reads the campaign (and its template) and compiles it. Allocates *out
 * (mail_campaign_content_free()). */
enum herald_err mail_campaign_content_load(struct store *st, int64_t campaign_id,
                                           struct mail_campaign_content **out,
                                           struct herald_error *err);
void mail_campaign_content_free(struct mail_campaign_content *c);

/* The recipient of one message (borrowed). */
struct mail_recipient {
    int64_t contact_id, list_id; /* contact 0: not a contact (a test address) */
    const char *email, *name;
    const char *attributes; /* JSON object text or NULL */
};

/* A sender thread's reusable buffers and the last message's envelope and Message-ID. */
struct mail_render_bufs {
    struct buf subject, html, html2, text, msg;
    char message_id[MIME_MESSAGE_ID_MAX];
    char envelope_from[MAIL_TOKEN_MAX + 320];
};
void mail_render_bufs_init(struct mail_render_bufs *b);
void mail_render_bufs_free(struct mail_render_bufs *b);

/* Renders and signs one recipient's message into b->msg (b->envelope_from, b->message_id
 * set). `test` prefixes "[Test] " to the subject and adds X-Herald-Test: 1. */
enum herald_err mail_render_message(const struct mail_render_opts *o,
                                    const struct mail_campaign_content *c,
                                    const struct mail_recipient *r, bool test,
                                    struct mail_render_bufs *b, struct herald_error *err);

#endif
