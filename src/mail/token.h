/* Signed links: the tokens in unsubscribe, preference, confirmation, open and click URLs and
 * in the VERP Return-Path. A token carries who and what (kind, contact, campaign, list, expiry)
 * and a MAC over them and an optional bound string (a click's target URL), so nobody can
 * forge one, change its ids or turn a click link into an open redirect.
 *
 * Format: lower-case base32 (RFC 4648 alphabet, no padding) of
 *   kind (1 byte) | varint contact | varint campaign | varint list | varint expiry (unix s)
 *   | first 10 bytes of HMAC-SHA256(subkey, those bytes | 0x00 | bound)
 * Case-insensitive (it survives MTAs that fold a VERP local part) and short (~40 chars: a
 * VERP local part must stay within 64). */
#ifndef HERALD_MAIL_TOKEN_H
#define HERALD_MAIL_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define MAIL_TOKEN_KEY_LEN 32
#define MAIL_TOKEN_MAX 80 /* longest token, with its NUL */

enum mail_token_kind {
    MAIL_TOKEN_UNSUBSCRIBE = 'u', /* contact (+ campaign, list it came from) */
    MAIL_TOKEN_PREFERENCES = 'p', /* contact */
    MAIL_TOKEN_CONFIRM = 'c',     /* contact + list: double opt-in; expires */
    MAIL_TOKEN_OPEN = 'o',        /* contact + campaign */
    MAIL_TOKEN_CLICK = 'k',       /* contact + campaign, bound to the target URL */
    MAIL_TOKEN_BOUNCE = 'b',      /* contact + campaign: the VERP Return-Path */
};

struct mail_token {
    enum mail_token_kind kind;
    int64_t contact_id;  /* >= 0 */
    int64_t campaign_id; /* 0: none */
    int64_t list_id;     /* 0: none */
    int64_t expires_s;   /* unix seconds; 0: never */
};

/* The signing key: 32 bytes, read from HERALD_MAIL_SECRET_FILE (created on first start). */
struct mail_keyring {
    uint8_t key[MAIL_TOKEN_KEY_LEN];
};

/* Reads the key file, creating it (random, mode 0600; its directory too) when missing.
 * HERALD_ERR_IO, HERALD_ERR_CONFIG for an unreadable or malformed file. */
enum herald_err mail_keyring_load(const char *path, struct mail_keyring *out);

/* Writes the token for `t` into out (MAIL_TOKEN_MAX bytes). `bound` (may be NULL) is signed
 * but not carried: the same string must be given to mail_token_parse(). */
void mail_token_make(const struct mail_keyring *k, const struct mail_token *t, const char *bound,
                     char out[MAIL_TOKEN_MAX]);

/* Checks and decodes a token of kind `kind`: HERALD_ERR_TOKEN_INVALID when malformed, of
 * another kind or not signed by this key (or bound to another string), HERALD_ERR_TOKEN_EXPIRED
 * once past its expiry (now_s). The MAC is compared in constant time. */
enum herald_err mail_token_parse(const struct mail_keyring *k, enum mail_token_kind kind,
                                 const char *token, const char *bound, int64_t now_s,
                                 struct mail_token *out);

#endif
