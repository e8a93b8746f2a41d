/* Private to mail/optin*.c: the double opt-in module's state. */
#ifndef HERALD_MAIL_OPTIN_INTERNAL_H
#define HERALD_MAIL_OPTIN_INTERNAL_H

#include "mail/optin.h"

struct mail_optin {
    struct store *st;
    struct jobs *jobs;
    const struct mail_keyring *keys;
    int token_hours;
    struct mail_transport *const *transport;
    char public_url[1025]; /* without a trailing slash */
    char from[330];
};

#endif
