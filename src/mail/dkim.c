/* DKIM signing (dkim.h): one DKIM_LIB and the PEM keys read once; each message gets its own
 * libopendkim signing handle per key (rsa-sha256, ed25519-sha256), relaxed/relaxed. */
#include "mail/dkim.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <opendkim/dkim.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/crypto.h"

#define KEY_FILE_MAX (64 * 1024)
#define ARENA_BLOCK (32 * 1024)
#define SIGHDR_PREFIX "DKIM-Signature: "

struct dkim_key {
    char *pem; /* NUL-terminated PEM text handed to dkim_sign() */
    size_t pem_len;
    EVP_PKEY *pkey; /* the same key, parsed once (see the key cache below) */
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

/* Signed once more than they occur ("over-signed"): a relay or a replayer cannot add a second
 * From, Subject or List-Unsubscribe without breaking the signature (what bulk-sender
 * guidelines ask for). Content-Transfer-Encoding is left out: a relay may re-encode parts. */
static const char *oversign_headers[] = {"from",
                                         "to",
                                         "subject",
                                         "date",
                                         "message-id",
                                         "mime-version",
                                         "content-type",
                                         "list-unsubscribe",
                                         "list-unsubscribe-post",
                                         "reply-to",
                                         NULL};

/* ---- the parsed-key cache ---------------------------------------------------------------
 * libopendkim 2.11 parses the PEM key again for every message (dkim_eom → dkim_privkey_load →
 * PEM_read_bio_PrivateKey). With OpenSSL 3.0's decoders that costs more than the RSA
 * signature itself: measured here 470 signatures/s per core through libopendkim, 1,680/s
 * with the key parsed once. So Herald defines PEM_read_bio_PrivateKey: the dynamic linker
 * binds libopendkim's call to it, and when the memory BIO holds exactly the PEM text of a key
 * a mail_dkim loaded, it answers a new reference to the parsed EVP_PKEY (libopendkim frees
 * its reference after signing; signing with a shared EVP_PKEY is thread-safe). Any other call
 * goes on to OpenSSL's own function. This table is the one process-wide state it needs: the
 * function has OpenSSL's signature, no context argument.
 * One more libopendkim 2.11 fault: it never frees the EVP_PKEY of an ed25519-sha256 signature
 * (LeakSanitizer). So an Ed25519 key is handed out as a copy marked with ex_data whose free
 * callback records the free; after dkim_free() the signer frees a copy the library kept, and
 * only then, so a libopendkim that frees it is not freed twice. */

#define CACHE_SLOTS 8

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static const struct dkim_key *cache[CACHE_SLOTS];
static atomic_ulong cache_hits;

struct handout {
    EVP_PKEY *copy; /* the Ed25519 copy given to libopendkim for this signature */
    bool freed;     /* set by the ex_data free callback */
};

static _Thread_local struct handout *tls_handout; /* the signature being made on this thread */
static int handout_idx = -1;
static pthread_once_t handout_once = PTHREAD_ONCE_INIT;

static void handout_freed(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                          void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    if (ptr)
        ((struct handout *)ptr)->freed = true;
}

static void handout_init(void)
{
    handout_idx = EVP_PKEY_get_ex_new_index(0, NULL, NULL, NULL, handout_freed);
}

/* A reference to the parsed key for libopendkim: the key itself (RSA), or a marked copy. */
static EVP_PKEY *hand_out(EVP_PKEY *pkey)
{
    struct handout *h = tls_handout;
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519 || !h || h->copy || handout_idx < 0)
        return EVP_PKEY_up_ref(pkey) ? pkey : NULL;
    EVP_PKEY *copy = EVP_PKEY_dup(pkey);
    if (copy && !EVP_PKEY_set_ex_data(copy, handout_idx, h)) {
        EVP_PKEY_free(copy);
        copy = NULL;
    }
    h->copy = copy;
    return copy;
}

typedef EVP_PKEY *(*pem_read_fn)(BIO *, EVP_PKEY **, pem_password_cb *, void *);

static EVP_PKEY *cache_find(BIO *bp)
{
    char *data = NULL;
    long n = BIO_method_type(bp) == BIO_TYPE_MEM ? BIO_get_mem_data(bp, &data) : 0;
    EVP_PKEY *hit = NULL;
    pthread_mutex_lock(&cache_mu);
    for (int i = 0; n > 0 && !hit && i < CACHE_SLOTS; i++)
        if (cache[i] && cache[i]->pem_len == (size_t)n && memcmp(cache[i]->pem, data, n) == 0)
            hit = hand_out(cache[i]->pkey);
    pthread_mutex_unlock(&cache_mu);
    return hit;
}

EVP_PKEY *PEM_read_bio_PrivateKey(BIO *bp, EVP_PKEY **x, pem_password_cb *cb, void *u)
{
    EVP_PKEY *hit = !x && !cb ? cache_find(bp) : NULL;
    if (hit) {
        atomic_fetch_add(&cache_hits, 1);
        return hit;
    }
    static _Atomic(pem_read_fn) real;
    pem_read_fn f = atomic_load(&real);
    if (!f) {
        void *sym = dlvsym(RTLD_NEXT, "PEM_read_bio_PrivateKey", "OPENSSL_3.0.0");
        if (!sym)
            sym = dlsym(RTLD_NEXT, "PEM_read_bio_PrivateKey");
        memcpy(&f, &sym, sizeof(f));
        atomic_store(&real, f);
    }
    return f ? f(bp, x, cb, u) : NULL;
}

static void cache_put(const struct dkim_key *k, bool add)
{
    pthread_mutex_lock(&cache_mu);
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (add ? !cache[i] : cache[i] == k) {
            cache[i] = add ? k : NULL;
            break;
        }
    pthread_mutex_unlock(&cache_mu);
}

unsigned long mail_dkim_key_cache_hits(void)
{
    return atomic_load(&cache_hits);
}

/* ---- per-message memory -----------------------------------------------------------------
 * libopendkim allocates through the malloc/free given to dkim_init(), with the closure given
 * to dkim_sign(). Each signature gets an arena as its closure: allocations are bumps in 32 KiB
 * blocks, frees are nothing, and the whole arena goes after dkim_free(). Cheaper than malloc,
 * and it reclaims what the library forgets: libopendkim 2.11 leaks the 64-byte signature
 * buffer of every ed25519-sha256 signature (found with LeakSanitizer). Library-level
 * allocations (no closure) use malloc and free. */

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    max_align_t data[];
};

struct arena {
    struct arena_block *head;
};

static void *arena_malloc(void *closure, size_t n)
{
    if (!closure)
        return malloc(n);
    struct arena *a = closure;
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    struct arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        *b = (struct arena_block){.next = a->head, .cap = cap};
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    return p;
}

static void arena_free(void *closure, void *p)
{
    if (!closure)
        free(p);
}

static void arena_release(struct arena *a)
{
    while (a->head) {
        struct arena_block *b = a->head;
        a->head = b->next;
        free(b);
    }
}

bool mail_dkim_ed25519_supported(void)
{
#ifdef DKIM_SIGN_ED25519SHA256
    return true;
#else
    return false;
#endif
}

/* Reads the whole PEM file and checks that OpenSSL parses it as a key of type `want`. */
static enum herald_err read_key(const char *path, int want, struct dkim_key *k, const char *var,
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
    if (type != want || strncmp(pem, "-----", 5) != 0 || strlen(pem) != n) {
        EVP_PKEY_free(pkey);
        free(pem);
        return herald_error_set(err, HERALD_ERR_CONFIG, var, "%s: not a PEM %s private key", var,
                                want == EVP_PKEY_RSA ? "RSA" : "Ed25519");
    }
    k->pem = pem;
    k->pem_len = n;
    k->pkey = pkey;
    return HERALD_OK;
}

static enum herald_err add_key(struct mail_dkim *d, const char *path, const char *selector,
                               int type, const char *var, struct herald_error *err)
{
    struct dkim_key *k = &d->keys[d->n_keys];
    if (!selector || !*selector)
        return herald_error_set(err, HERALD_ERR_CONFIG, var, "%s needs its selector", var);
    enum herald_err rc = read_key(path, type, k, var, err);
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
    cache_put(k, true);
    return HERALD_OK;
}

static enum herald_err start_lib(struct mail_dkim *d, struct herald_error *err)
{
    d->lib = dkim_init(arena_malloc, arena_free);
    if (!d->lib)
        return herald_error_set(err, HERALD_ERR_INTERNAL, NULL, "dkim_init failed");
    if (dkim_options(d->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, (void *)sign_headers,
                     sizeof(char **)) != DKIM_STAT_OK)
        return herald_error_set(err, HERALD_ERR_INTERNAL, NULL, "DKIM_OPTS_SIGNHDRS refused");
    if (dkim_options(d->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, (void *)oversign_headers,
                     sizeof(char **)) != DKIM_STAT_OK)
        return herald_error_set(err, HERALD_ERR_INTERNAL, NULL, "DKIM_OPTS_OVERSIGNHDRS refused");
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
        cache_put(&d->keys[i], false);
        EVP_PKEY_free(d->keys[i].pkey);
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
    struct arena mem = {0};
    struct handout ho = {0};
    pthread_once(&handout_once, handout_init);
    tls_handout = &ho;
    DKIM *h = dkim_sign(d->lib, (const unsigned char *)"herald", &mem, (dkim_sigkey_t)k->pem,
                        (const unsigned char *)k->selector, (const unsigned char *)d->domain,
                        DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, k->alg, -1, &st);
    if (!h) {
        tls_handout = NULL;
        arena_release(&mem);
        return herald_error_set(err, HERALD_ERR_CRYPTO, NULL, "dkim_sign: %s",
                                dkim_getresultstr(st));
    }
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
    tls_handout = NULL;
    if (ho.copy && !ho.freed)
        EVP_PKEY_free(ho.copy); /* the reference libopendkim kept */
    arena_release(&mem);
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

/* ---- key generation -------------------------------------------------------------------- */

static EVP_PKEY *generate(enum mail_dkim_key_type type, int bits)
{
    EVP_PKEY_CTX *ctx =
        EVP_PKEY_CTX_new_id(type == MAIL_DKIM_RSA ? EVP_PKEY_RSA : EVP_PKEY_ED25519, NULL);
    EVP_PKEY *pkey = NULL;
    if (ctx && EVP_PKEY_keygen_init(ctx) == 1 &&
        (type != MAIL_DKIM_RSA || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) == 1))
        EVP_PKEY_keygen(ctx, &pkey);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* The p= value: base64 of the DER SubjectPublicKeyInfo (RSA) or of the raw key (Ed25519). */
static enum herald_err public_txt(EVP_PKEY *pkey, enum mail_dkim_key_type type, struct buf *txt)
{
    unsigned char raw[1024], *p = raw;
    size_t n = sizeof(raw);
    if (type == MAIL_DKIM_RSA) {
        int len = i2d_PUBKEY(pkey, NULL);
        if (len <= 0 || (size_t)len > sizeof(raw) || i2d_PUBKEY(pkey, &p) != len)
            return HERALD_ERR_CRYPTO;
        n = (size_t)len;
    } else if (EVP_PKEY_get_raw_public_key(pkey, raw, &n) != 1) {
        return HERALD_ERR_CRYPTO;
    }
    char b64[4 * (sizeof(raw) / 3 + 1) + 1];
    crypto_b64(raw, n, b64);
    return buf_printf(txt, "v=DKIM1; k=%s; p=%s", type == MAIL_DKIM_RSA ? "rsa" : "ed25519", b64);
}

static enum herald_err write_pem(EVP_PKEY *pkey, const char *path, struct herald_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return errno == EEXIST
                   ? herald_error_set(err, HERALD_ERR_DUPLICATE, "out", "%s already exists", path)
                   : herald_error_set(err, HERALD_ERR_IO, "out", "%s: %s", path, strerror(errno));
    FILE *f = fdopen(fd, "w");
    bool ok = f && PEM_write_PKCS8PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) == 1;
    if (f)
        ok = fclose(f) == 0 && ok;
    else
        close(fd);
    if (!ok) {
        unlink(path);
        return herald_error_set(err, HERALD_ERR_IO, "out", "%s: cannot write the key", path);
    }
    return HERALD_OK;
}

enum herald_err mail_dkim_keygen(enum mail_dkim_key_type type, int bits, const char *path,
                                 struct buf *txt, struct herald_error *err)
{
    if (type == MAIL_DKIM_RSA && (bits < 1024 || bits > 4096))
        return herald_error_set(err, HERALD_ERR_INVALID, "bits", "bits must be 1024..4096");
    EVP_PKEY *pkey = generate(type, bits);
    if (!pkey)
        return herald_error_set(err, HERALD_ERR_CRYPTO, NULL, "key generation failed");
    enum herald_err rc = public_txt(pkey, type, txt);
    if (!rc)
        rc = write_pem(pkey, path, err);
    EVP_PKEY_free(pkey);
    return rc;
}
