/* The inbound SMTP listener (HERALD_BOUNCE_LISTEN): a small, strict SMTP server that takes
 * delivery status notifications and complaint reports for the VERP addresses
 * (`bounces+TOKEN@…`, also the bare `bounces@…` a feedback loop can be pointed at) and the
 * mailto: unsubscribes (`unsubscribe+TOKEN@…`), and hands each message to mail/bounce.h or
 * mail/unsubscribe.h. It never relays: any other recipient, or a token that does not verify,
 * is refused 550 at RCPT.
 *
 * Commands: EHLO/HELO, MAIL, RCPT, DATA (dot-unstuffed), RSET, NOOP, QUIT (VRFY 252, others
 * 502). Limits (opts): max_connections at once and per_ip_max from one address (421 beyond);
 * absolute deadlines, which bytes trickling in do not extend: timeout_ms for each command line,
 * data_max_ms for a whole DATA, session_max_ms for the session; commands_max commands that do
 * not move a transaction on (NOOP, RSET, EHLO, refused ones...) per session (then 421);
 * message_max bytes per message (552), 16 recipients per message, command lines of 512 bytes.
 * A message is answered 250 only once what it caused is committed; a store failure is answered
 * 451 so the sender retries. One acceptor thread, one joinable thread per connection. */
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
#define MAIL_INBOUND_DEFAULT_SESSION_MS 600000
#define MAIL_INBOUND_DEFAULT_DATA_MS 300000
#define MAIL_INBOUND_DEFAULT_COMMANDS 100
#define MAIL_INBOUND_DEFAULT_PER_IP 4

struct mail_inbound_opts {
    const char *listen; /* "host:port" ("[::1]:25" for IPv6); port 0 picks a free one */
    struct store *store;
    const struct mail_keyring *keys;
    const char *hostname; /* in the greeting; NULL: "herald" */
    int max_connections;  /* 0: MAIL_INBOUND_DEFAULT_CONNECTIONS */
    int timeout_ms;       /* 0: MAIL_INBOUND_DEFAULT_TIMEOUT_MS */
    size_t message_max;   /* 0: MAIL_INBOUND_DEFAULT_MESSAGE_MAX */
    int session_max_ms;   /* 0: MAIL_INBOUND_DEFAULT_SESSION_MS */
    int data_max_ms;      /* 0: MAIL_INBOUND_DEFAULT_DATA_MS */
    int commands_max;     /* 0: MAIL_INBOUND_DEFAULT_COMMANDS */
    int per_ip_max;       /* 0: MAIL_INBOUND_DEFAULT_PER_IP */
};

/* Binds and starts accepting; logs "bounce listener" with the bound port.
 * HERALD_ERR_CONFIG for a malformed address, HERALD_ERR_IO when it cannot bind. */
enum herald_err mail_inbound_start(const struct mail_inbound_opts *opts, struct mail_inbound **out);
int mail_inbound_port(const struct mail_inbound *in);
/* Stops accepting, tells open sessions 421 (those still busy after a 5 s grace have their
 * sockets shut down) and joins every session thread: once it returns no session touches the
 * store. Takes NULL. */
void mail_inbound_stop(struct mail_inbound *in);

#endif
