/* DSN / ARF parsing (mail/bounce.c): any bytes parse without crashing or reading past the
 * input, and every field of the report stays a terminated string of its buffer. */
#include <stdlib.h>
#include <string.h>

#include "mail/bounce.h"

static void check_str(const char *s, size_t size)
{
    if (!memchr(s, '\0', size))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so ASan sees any read past the end. */
    char *msg = malloc(size ? size : 1);
    if (!msg)
        return 0;
    memcpy(msg, data, size);
    struct mail_bounce_report r;
    mail_bounce_parse(msg, size, &r);
    if (r.kind > MAIL_BOUNCE_COMPLAINT || r.nverp < 0 || r.nverp > MAIL_BOUNCE_CANDIDATES)
        abort();
    check_str(r.action, sizeof(r.action));
    check_str(r.status, sizeof(r.status));
    check_str(r.diagnostic, sizeof(r.diagnostic));
    check_str(r.feedback_type, sizeof(r.feedback_type));
    check_str(r.recipient, sizeof(r.recipient));
    check_str(r.report_id, sizeof(r.report_id));
    check_str(r.unsub, sizeof(r.unsub));
    check_str(r.detail, sizeof(r.detail));
    for (int i = 0; i < r.nverp; i++)
        check_str(r.verp[i], sizeof(r.verp[i]));
    if (r.kind != MAIL_BOUNCE_NONE && r.kind != MAIL_BOUNCE_COMPLAINT && r.status[0] &&
        r.status[0] != '2' && r.status[0] != '4' && r.status[0] != '5')
        abort();
    /* The SMTP listener's recipient check on the same bytes, as a NUL-terminated string. */
    char addr[400], tok[MAIL_TOKEN_MAX];
    size_t n = size < sizeof(addr) - 1 ? size : sizeof(addr) - 1;
    memcpy(addr, data, n);
    addr[n] = '\0';
    if (mail_bounce_local_token(addr, "bounces", tok))
        check_str(tok, sizeof(tok));
    free(msg);
    return 0;
}
