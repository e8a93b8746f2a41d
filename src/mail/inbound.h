/* The inbound SMTP listener (HERALD_BOUNCE_LISTEN): a small, strict SMTP server that takes
 * delivery status notifications and complaint reports for the VERP addresses
 * (`bounces+TOKEN@…`, also the bare `bounces@…` a feedback loop can be pointed at) and the
 * mailto: unsubscribes (`unsubscribe+TOKEN@…`), and hands each message to mail/bounce.h or
 * mail/unsubscribe.h. It never relays: any other recipient, or a token that does not verify,
 * is refused 550 at RCPT.
 *
 * Commands: EHLO/HELO, MAIL, RCPT, DATA (dot-unstuffed), RSET, NOOP, QUIT (VRFY 252, others
 * 502). Limits: max_connections at once (421 beyond), a timeout per command/line, 10 minutes
 * per session, message_max bytes per message (552), 16 recipients per message, command lines of
 * 512 bytes. A message is answered 250 only once what it caused is committed; a store failure is
 * answered 451 so the sender retries. One acceptor thread, one thread per connection. */
#ifndef HERALD_MAIL_INBOUND_H
#define HERALD_MAIL_INBOUND_H

#include <stddef.h>

#include "base/err.h"
#include "mail/token.h"

struct store;
struct mail_inbound;

#define MAIL_INBOUND_DEFAULT_CONNECTIONS 32
#define MAIL_INBOUND_DEFAULT_TIMEOUT_MS 60000
#define MAIL_INBOUND_DEFAULT_MESSAGE_MAX (10u << 20)

struct mail_inbound_opts {
    const char *listen; /* "host:port" ("[::1]:25" for IPv6); port 0 picks a free one */
    struct store *store;
    const struct mail_keyring *keys;
    const char *hostname; /* in the greeting; NULL: "herald" */
    int max_connections;  /* 0: MAIL_INBOUND_DEFAULT_CONNECTIONS */
    int timeout_ms;       /* 0: MAIL_INBOUND_DEFAULT_TIMEOUT_MS */
    size_t message_max;   /* 0: MAIL_INBOUND_DEFAULT_MESSAGE_MAX */
};

/* Binds and starts accepting; logs "bounce listener" with the bound port.
 * HERALD_ERR_CONFIG for a malformed address, HERALD_ERR_IO when it cannot bind. */
enum herald_err mail_inbound_start(const struct mail_inbound_opts *opts, struct mail_inbound **out);
int mail_inbound_port(const struct mail_inbound *in);
/* Stops accepting, tells open sessions 421 and waits (bounded) for them; takes NULL. */
void mail_inbound_stop(struct mail_inbound *in);

#endif
