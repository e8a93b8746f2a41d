/* DKIM signing (RFC 6376, RFC 8463) over libopendkim. Owned by the `transport` module.
 *
 * One struct mail_dkim per process holds the DKIM_LIB and the loaded private keys; it is
 * thread-safe: each mail_dkim_sign() call makes its own DKIM handle. Signatures are
 * rsa-sha256 relaxed/relaxed and, when an Ed25519 key is configured, also ed25519-sha256
 * relaxed/relaxed, over From, To, Subject, Date, Message-ID, MIME-Version, Content-Type,
 * Content-Transfer-Encoding, List-Unsubscribe, List-Unsubscribe-Post, Reply-To (headers absent
 * from a message are not listed). Keys are PEM files (PKCS#8 or traditional), as written by
 * `herald dkim keygen`. */
#ifndef HERALD_MAIL_DKIM_H
#define HERALD_MAIL_DKIM_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

struct mail_dkim_opts {
    const char *domain;           /* d= */
    const char *selector;         /* s= of the RSA key */
    const char *key_file;         /* RSA private key, PEM; NULL/"": no RSA signature */
    const char *ed25519_selector; /* s= of the Ed25519 key */
    const char *ed25519_key_file; /* NULL/"": no Ed25519 signature */
};

struct mail_dkim;

/* Loads the key(s) and starts libopendkim. HERALD_ERR_CONFIG (err->field names the variable:
 * "HERALD_DKIM_KEY_FILE" …) when a key is unreadable or not a key of the right type, when
 * no key at all is given, when domain or selector is missing, or when the installed
 * libopendkim cannot sign with Ed25519 and an Ed25519 key is given; HERALD_ERR_NOMEM. */
enum herald_err mail_dkim_open(const struct mail_dkim_opts *o, struct mail_dkim **out,
                               struct herald_error *err);
void mail_dkim_close(struct mail_dkim *d);

/* How many times libopendkim's per-message key load was answered from the keys parsed at
 * mail_dkim_open() (see dkim.c: libopendkim re-parses the PEM key for every message, which
 * costs more than the signature on OpenSSL 3.0). For tests and benchmarks. */
unsigned long mail_dkim_key_cache_hits(void);

/* True when this libopendkim build can sign ed25519-sha256. */
bool mail_dkim_ed25519_supported(void);

/* Signs the CRLF message msg[0..len) (headers, empty line, body) and appends the
 * "DKIM-Signature: …\r\n" header(s) to `sigs`; the caller sends sigs followed by the message.
 * HERALD_ERR_CRYPTO (err->message has libopendkim's text) when signing fails,
 * HERALD_ERR_NOMEM, HERALD_ERR_TOO_LARGE (sigs' max). */
enum herald_err mail_dkim_sign(struct mail_dkim *d, const char *msg, size_t len, struct buf *sigs,
                               struct herald_error *err);

enum mail_dkim_key_type { MAIL_DKIM_RSA, MAIL_DKIM_ED25519 };

/* Generates a key (RSA of `bits` 1024..4096, or Ed25519), writes it to `path` as PKCS#8 PEM
 * with mode 0600 (never overwriting: HERALD_ERR_DUPLICATE when the file exists) and appends
 * the DNS TXT value to publish to `txt`: "v=DKIM1; k=rsa; p=<base64 SubjectPublicKeyInfo>" or
 * "v=DKIM1; k=ed25519; p=<base64 of the 32-byte public key>" (RFC 8463). HERALD_ERR_INVALID
 * (bits), HERALD_ERR_IO (err->message says why), HERALD_ERR_CRYPTO. */
enum herald_err mail_dkim_keygen(enum mail_dkim_key_type type, int bits, const char *path,
                                 struct buf *txt, struct herald_error *err);

#endif
