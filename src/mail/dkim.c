/* DKIM signing (dkim.h): one DKIM_LIB and the PEM keys read once; each message gets its own
 * libopendkim signing handle per key (rsa-sha256, ed25519-sha256), relaxed/relaxed. */
#include "mail/dkim.h"

#include <opendkim/dkim.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_FILE_MAX (64 * 1024)
#define SIGHDR_PREFIX "DKIM-Signature: "

struct dkim_key {
    char *pem; /* NUL-terminated PEM text handed to dkim_sign() */
    char *selector;
    dkim_alg_t alg;
};

struct mail_dkim {
    DKIM_LIB *lib;
    char *domain;
    struct dkim_key keys[2];
    int n_keys;
};

/* The headers we sign when present (lower case, as libopendkim compares them). */
static const char *sign_headers[] = {"from",
                                     "to",
                                     "subject",
                                     "date",
                                     "message-id",
                                     "mime-version",
                                     "content-type",
                                     "content-transfer-encoding",
                                     "list-unsubscribe",
                                     "list-unsubscribe-post",
                                     "reply-to",
                                     NULL};

bool mail_dkim_ed25519_supported(void)
{
#ifdef DKIM_SIGN_ED25519SHA256
    return true;
#else
    return false;
#endif
}

/* Reads the whole PEM file and checks that OpenSSL parses it as a key of type `want`. */
static enum herald_err read_key(const char *path, int want, char **out, const char *var,
                                struct herald_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return herald_error_set(err, HERALD_ERR_CONFIG, var, "%s: cannot read the key file", var);
    char *pem = malloc(KEY_FILE_MAX + 1);
    size_t n = pem ? fread(pem, 1, KEY_FILE_MAX + 1, f) : 0;
    fclose(f);
    if (!pem)
        return HERALD_ERR_NOMEM;
    if (n == 0 || n > KEY_FILE_MAX) {
        free(pem);
        return herald_error_set(err, HERALD_ERR_CONFIG, var, "%s: empty or oversized key file",
                                var);
    }
    pem[n] = '\0';
    BIO *bio = BIO_new_mem_buf(pem, (int)n);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    int type = pkey ? EVP_PKEY_get_base_id(pkey) : 0;
    EVP_PKEY_free(pkey);
    if (type != want || strncmp(pem, "-----", 5) != 0) {
        free(pem);
        return herald_error_set(err, HERALD_ERR_CONFIG, var, "%s: not a PEM %s private key", var,
                                want == EVP_PKEY_RSA ? "RSA" : "Ed25519");
    }
    *out = pem;
    return HERALD_OK;
}

static enum herald_err add_key(struct mail_dkim *d, const char *path, const char *selector,
                               int type, const char *var, struct herald_error *err)
{
    struct dkim_key *k = &d->keys[d->n_keys];
    if (!selector || !*selector)
        return herald_error_set(err, HERALD_ERR_CONFIG, var, "%s needs its selector", var);
    enum herald_err rc = read_key(path, type, &k->pem, var, err);
    if (rc)
        return rc;
    k->selector = strdup(selector);
    if (!k->selector)
        return HERALD_ERR_NOMEM;
#ifdef DKIM_SIGN_ED25519SHA256
    k->alg = type == EVP_PKEY_RSA ? DKIM_SIGN_RSASHA256 : DKIM_SIGN_ED25519SHA256;
#else
    if (type != EVP_PKEY_RSA)
        return herald_error_set(err, HERALD_ERR_CONFIG, var,
                                "this libopendkim cannot sign with Ed25519");
    k->alg = DKIM_SIGN_RSASHA256;
#endif
    d->n_keys++;
    return HERALD_OK;
}

static enum herald_err start_lib(struct mail_dkim *d, struct herald_error *err)
{
    d->lib = dkim_init(NULL, NULL);
    if (!d->lib)
        return herald_error_set(err, HERALD_ERR_INTERNAL, NULL, "dkim_init failed");
    if (dkim_options(d->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, (void *)sign_headers,
                     sizeof(char **)) != DKIM_STAT_OK)
        return herald_error_set(err, HERALD_ERR_INTERNAL, NULL, "DKIM_OPTS_SIGNHDRS refused");
    return HERALD_OK;
}

enum herald_err mail_dkim_open(const struct mail_dkim_opts *o, struct mail_dkim **out,
                               struct herald_error *err)
{
    *out = NULL;
    bool rsa = o->key_file && *o->key_file, ed = o->ed25519_key_file && *o->ed25519_key_file;
    if (!rsa && !ed)
        return herald_error_set(err, HERALD_ERR_CONFIG, "HERALD_DKIM_KEY_FILE",
                                "HERALD_DKIM_KEY_FILE: no DKIM key given");
    if (!o->domain || !*o->domain)
        return herald_error_set(err, HERALD_ERR_CONFIG, "HERALD_DKIM_DOMAIN",
                                "HERALD_DKIM_DOMAIN is required to sign");
    struct mail_dkim *d = calloc(1, sizeof(*d));
    if (!d)
        return HERALD_ERR_NOMEM;
    enum herald_err rc = (d->domain = strdup(o->domain)) ? HERALD_OK : HERALD_ERR_NOMEM;
    if (!rc && rsa)
        rc = add_key(d, o->key_file, o->selector, EVP_PKEY_RSA, "HERALD_DKIM_KEY_FILE", err);
    if (!rc && ed)
        rc = add_key(d, o->ed25519_key_file, o->ed25519_selector, EVP_PKEY_ED25519,
                     "HERALD_DKIM_ED25519_KEY_FILE", err);
    if (!rc)
        rc = start_lib(d, err);
    if (rc) {
        mail_dkim_close(d);
        return rc;
    }
    *out = d;
    return HERALD_OK;
}

void mail_dkim_close(struct mail_dkim *d)
{
    if (!d)
        return;
    if (d->lib)
        dkim_close(d->lib);
    for (int i = 0; i < 2; i++) {
        free(d->keys[i].pem);
        free(d->keys[i].selector);
    }
    free(d->domain);
    free(d);
}

/* Appends "DKIM-Signature: " + the folded value with every line ending in CRLF. */
static enum herald_err append_sighdr(struct buf *sigs, const unsigned char *v, size_t len)
{
    enum herald_err rc = buf_append(sigs, SIGHDR_PREFIX, sizeof(SIGHDR_PREFIX) - 1);
    size_t start = 0;
    for (size_t i = 0; !rc && i < len; i++) {
        if (v[i] != '\n')
            continue;
        size_t end = (i > start && v[i - 1] == '\r') ? i - 1 : i;
        rc = buf_append(sigs, v + start, end - start);
        if (!rc)
            rc = buf_append(sigs, "\r\n", 2);
        start = i + 1;
    }
    if (!rc)
        rc = buf_append(sigs, v + start, len - start);
    return rc ? rc : buf_append(sigs, "\r\n", 2);
}

static enum herald_err sign_one(struct mail_dkim *d, const struct dkim_key *k, const char *msg,
                                size_t len, struct buf *sigs, struct herald_error *err)
{
    DKIM_STAT st = DKIM_STAT_OK;
    DKIM *h = dkim_sign(d->lib, (const unsigned char *)"herald", NULL, (dkim_sigkey_t)k->pem,
                        (const unsigned char *)k->selector, (const unsigned char *)d->domain,
                        DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, k->alg, -1, &st);
    if (!h)
        return herald_error_set(err, HERALD_ERR_CRYPTO, NULL, "dkim_sign: %s",
                                dkim_getresultstr(st));
    st = dkim_chunk(h, (unsigned char *)msg, len);
    if (st == DKIM_STAT_OK)
        st = dkim_chunk(h, NULL, 0);
    if (st == DKIM_STAT_OK)
        st = dkim_eom(h, NULL);
    unsigned char *v = NULL;
    size_t vlen = 0;
    if (st == DKIM_STAT_OK)
        st = dkim_getsighdr_d(h, sizeof(SIGHDR_PREFIX) - 1, &v, &vlen);
    enum herald_err rc = HERALD_OK;
    if (st != DKIM_STAT_OK) {
        const char *why = dkim_geterror(h);
        rc = herald_error_set(err, HERALD_ERR_CRYPTO, NULL, "DKIM signing failed: %s",
                              why && *why ? why : dkim_getresultstr(st));
    } else {
        rc = append_sighdr(sigs, v, vlen);
    }
    dkim_free(h);
    return rc;
}

enum herald_err mail_dkim_sign(struct mail_dkim *d, const char *msg, size_t len, struct buf *sigs,
                               struct herald_error *err)
{
    enum herald_err rc = HERALD_OK;
    for (int i = 0; !rc && i < d->n_keys; i++)
        rc = sign_one(d, &d->keys[i], msg, len, sigs, err);
    return rc;
}
