/* Contacts' validation (email, name, status, attributes, text) and the subscription rule with
 * its consent record (mail/contacts.h); the operations are in contacts_ops.c. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "events/key.h"
#include "mail/contacts.h"
#include "store/privacy.h"

const char *mail_text_trim(const char *s, size_t *len)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    *len = n;
    return s;
}

/* Length of the UTF-8 sequence at s (at most `left` bytes), 0 when malformed. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
    size_t n = s[0] < 0x80                   ? 1
               : s[0] >= 0xc2 && s[0] < 0xe0 ? 2
               : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
               : s[0] >= 0xf0 && s[0] < 0xf5 ? 4
                                             : 0;
    if (n == 0 || n > left)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
        return 0; /* overlong, surrogate, beyond U+10FFFF */
    return n;
}

bool mail_text_ok(const char *s, size_t len, bool multiline)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            if (!multiline || (p[i] != '\t' && p[i] != '\r' && p[i] != '\n'))
                return false;
        }
        size_t n = utf8_len(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

enum herald_err mail_email_normalize(const char *in, char out[MAIL_EMAIL_MAX])
{
    size_t n;
    const char *s = in ? mail_text_trim(in, &n) : "";
    if (!in || n == 0 || n >= MAIL_EMAIL_MAX)
        return HERALD_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[n] = '\0';
    return evkey_email_valid(out) ? HERALD_OK : HERALD_ERR_INVALID;
}

bool mail_contact_status_valid(const char *status)
{
    return status && (strcmp(status, "enabled") == 0 || strcmp(status, "blocklisted") == 0);
}

enum herald_err mail_attributes_check(json_t *attributes, struct herald_error *err)
{
    if (!json_is_object(attributes))
        return herald_error_set(err, HERALD_ERR_INVALID, "attributes",
                                "attributes must be a JSON object");
    if (json_object_size(attributes) > MAIL_ATTRIBUTES_MAX_KEYS)
        return herald_error_set(err, HERALD_ERR_INVALID, "attributes",
                                "attributes may have at most %d keys", MAIL_ATTRIBUTES_MAX_KEYS);
    size_t size = json_dumpb(attributes, NULL, 0, JSON_COMPACT);
    if (size == 0 || size > MAIL_ATTRIBUTES_MAX_BYTES)
        return herald_error_set(err, HERALD_ERR_INVALID, "attributes",
                                "attributes may take at most %d bytes as JSON",
                                MAIL_ATTRIBUTES_MAX_BYTES);
    return HERALD_OK;
}

/* The record of a new or restarted subscription under `optin`. */
static void fill_new(struct store_subscription *s, const char *optin,
                     const struct mail_consent *consent, int64_t now_ms)
{
    bool single = strcmp(optin, "single") == 0;
    snprintf(s->status, sizeof(s->status), "%s", single ? "confirmed" : "unconfirmed");
    snprintf(s->consent_method, sizeof(s->consent_method), "%s", consent->method);
    s->consent_at_ms = now_ms;
    s->consent_ip = (char *)consent->ip;
    s->consent_text = (char *)consent->text;
    s->confirmed_at_ms = single ? now_ms : 0;
    s->unsubscribed_at_ms = 0;
}

/* privacy: HERALD_ERR_CONFLICT when the contact's address is on the suppression list (an
 * erased address: no list, whichever path asks, may have it for marketing). */
static enum herald_err suppressed_contact(struct store_conn *c, int64_t contact_id)
{
    struct store_contact ct;
    int rc = store_contact_get(c, contact_id, &ct);
    if (rc)
        return rc;
    bool suppressed = false;
    rc = store_suppressed(c, ct.email, &suppressed);
    store_contact_clear(&ct);
    return rc ? rc : suppressed ? HERALD_ERR_CONFLICT : HERALD_OK;
}

enum herald_err mail_subscription_add_tx(struct store_conn *c, int64_t contact_id, int64_t list_id,
                                         const struct mail_consent *consent, int64_t now_ms,
                                         bool *needs_mail)
{
    char optin[8];
    *needs_mail = false;
    int rc = store_list_optin(c, list_id, optin);
    if (rc)
        return rc;
    if ((rc = suppressed_contact(c, contact_id)))
        return rc == HERALD_ERR_CONFLICT ? HERALD_OK : rc; /* privacy: never re-added */
    struct store_subscription cur;
    rc = store_subscription_get(c, contact_id, list_id, &cur);
    if (rc && rc != HERALD_ERR_NOT_FOUND)
        return rc;
    bool confirmed = !rc && strcmp(cur.status, "confirmed") == 0;
    bool unsubscribed = !rc && strcmp(cur.status, "unsubscribed") == 0;
    if (!rc)
        store_subscription_clear(&cur);
    if (confirmed)
        return HERALD_OK; /* kept with its consent record */
    if (unsubscribed && !consent->resubscribe && strcmp(consent->method, "form") != 0)
        return HERALD_OK; /* an unsubscribe is undone only by the person's new consent */
    struct store_subscription s = {.contact_id = contact_id, .list_id = list_id};
    fill_new(&s, optin, consent, now_ms);
    rc = store_subscription_upsert(c, &s, now_ms);
    if (!rc)
        *needs_mail = strcmp(optin, "double") == 0;
    return rc;
}
