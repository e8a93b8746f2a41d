/* Open and click tracking (mail/tracking.c): the links a campaign's HTML carries and what the
 * public endpoints do when they are followed.
 *
 * Sending side: mail_tracking_rewrite_links() replaces every http(s) href of a rendered HTML
 * part by HERALD_PUBLIC_URL/t/c/{token}?u={the percent-encoded URL}, where the token
 * (MAIL_TOKEN_CLICK: contact + campaign) is bound to that exact URL, so a changed u= or a
 * forged token is refused and the redirect is never open. Unsubscribe and preference links
 * stay untouched (they work without tracking). mail_tracking_append_pixel() adds the 1x1
 * open pixel HERALD_PUBLIC_URL/t/o/{token}.gif (MAIL_TOKEN_OPEN).
 *
 * Receiving side (GET /t/o/{token}[.gif], GET /t/c/{token}?u=): a valid token records a
 * mail_feedback row ('open' / 'click' with the URL) and an emailsOpened / emailsClicked
 * event in the same transaction; the event key makes the event once per recipient (opens)
 * and once per recipient and link (clicks). A token for a message that has no send-queue
 * row (a test send) is valid but records nothing.
 *
 * Thread-safe: no state of its own. */
#ifndef HERALD_MAIL_TRACKING_H
#define HERALD_MAIL_TRACKING_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "mail/token.h"
#include "store/store.h"

/* Who a tracked link belongs to. public_url has no trailing slash. */
struct mail_tracking_link {
    const struct mail_keyring *keys;
    const char *public_url;
    int64_t campaign_id, contact_id;
};

/* Appends html[0..len) to out with each href="http(s)://…" (or '…') replaced by its click
 * URL. Links under public_url/unsubscribe/ and public_url/preferences/, and hrefs holding an
 * entity this function does not decode, are copied unchanged. Buffer errors. */
enum herald_err mail_tracking_rewrite_links(const struct mail_tracking_link *l, const char *html,
                                            size_t len, struct buf *out);
/* Appends the <img> of the open pixel. Buffer errors. */
enum herald_err mail_tracking_append_pixel(const struct mail_tracking_link *l, struct buf *out);

/* Appends s percent-encoded (every byte but A-Z a-z 0-9 - . _ ~). */
enum herald_err mail_tracking_pct_encode(const char *s, struct buf *out);

/* GET /t/o/{token}: HERALD_ERR_TOKEN_INVALID for a forged or malformed token (the pixel is
 * still answered by the caller if it wishes), store errors. */
enum herald_err mail_tracking_open(struct store *st, const struct mail_keyring *k,
                                   const char *token, int64_t now_ms);
/* GET /t/c/{token}?u=url: HERALD_ERR_TOKEN_INVALID when the token is forged or not bound to
 * this url, or the url is not http(s); any other return means the link is genuine (redirect
 * to url) but the click could not be recorded. */
enum herald_err mail_tracking_click(struct store *st, const struct mail_keyring *k,
                                    const char *token, const char *url, int64_t now_ms);

#endif
