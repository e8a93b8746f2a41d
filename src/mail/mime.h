/* Message building (RFC 5322, 2045, 2047, 8058): one recipient's message as CRLF text ready
 * for DKIM signing and SMTP DATA. Owned by the `transport` module.
 *
 * What mail_mime_build() writes, in this order: Message-ID (given or random, @domain), Date
 * (RFC 5322, UTC), From, To, Reply-To, Subject, MIME-Version, List-Unsubscribe and
 * List-Unsubscribe-Post (when an unsubscribe URL is given), the extra headers, Content-Type
 * (+ Content-Transfer-Encoding), an empty line, then the body: text and html as
 * multipart/alternative (text first) or the one given part alone, each quoted-printable
 * UTF-8 (lines <= 76). Non-ASCII display names and subjects become RFC 2047 encoded-words
 * (B or Q, each <= 75 characters, folded); ASCII names are quoted when they need to be.
 * Header injection is impossible: a CR or LF (or NUL) in any input is HERALD_ERR_INVALID,
 * and so is an address that is not local@domain made of printable ASCII without spaces,
 * quotes, angle brackets or commas, or an extra header name outside [A-Za-z0-9-].
 *
 * Thread-safe (no shared state); cheap enough for ~10,000 messages/s per core. */
#ifndef HERALD_MAIL_MIME_H
#define HERALD_MAIL_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define MIME_MESSAGE_ID_MAX 128 /* longest Message-ID (without <>), with its NUL */

struct mime_header {
    const char *name;  /* e.g. "Precedence", "Feedback-ID", "X-Campaign" */
    const char *value; /* UTF-8; non-ASCII is RFC 2047 encoded */
};

/* Everything is borrowed from the caller. NULL or "" means "absent" unless said otherwise. */
struct mime_message {
    const char *from_email; /* required */
    const char *from_name;
    const char *to_email; /* required */
    const char *to_name;
    const char *reply_to; /* an address */
    const char *subject;  /* required (may be "") */
    const char *html;     /* at least one of html and text */
    const char *text;
    const char *message_id;         /* "local@domain" without <>; NULL: a random one */
    const char *message_id_domain;  /* for a random Message-ID; NULL: the From domain */
    const char *unsubscribe_url;    /* https://… → List-Unsubscribe (+ -Post: One-Click) */
    const char *unsubscribe_mailto; /* "mailto:…" or a bare address; added to List-Unsubscribe */
    const struct mime_header *headers; /* extra headers (Precedence: bulk, Feedback-ID …) */
    size_t n_headers;
    int64_t date_ms; /* 0: now */
};

/* Writes a random Message-ID "<26 base32 chars>@domain" (without <>) into out.
 * HERALD_ERR_INVALID when the domain is empty, too long or has characters not allowed. */
enum herald_err mail_mime_message_id(const char *domain, char out[MIME_MESSAGE_ID_MAX]);

/* Appends the whole message to `out` (which the caller owns; its max must allow the message).
 * When message_id_out is not NULL it receives the Message-ID used (without <>).
 * HERALD_ERR_INVALID (err->field names the input: "from_email", "subject", "headers[2]" …),
 * HERALD_ERR_TOO_LARGE, HERALD_ERR_NOMEM. On error `out` may hold a partial message. */
enum herald_err mail_mime_build(const struct mime_message *m, struct buf *out,
                                char message_id_out[MIME_MESSAGE_ID_MAX], struct herald_error *err);

/* True when s is a syntactically acceptable envelope/header address (see above). */
int mail_mime_address_ok(const char *s);

#endif
