/* This process's copy of the suppression list (struct store_supp): refreshed from the store
 * when its row count changes, looked up by the event writers and the Mixpanel forwarder. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "store/internal.h"
#include "store/privacy.h"

#define HASH_HEX 64
#define EXISTS_MS 5000

static int64_t query_i64(struct store_conn *c, enum store_stmt id, int *rc)
{
    struct store_res r = {0};
    *rc = store_query(c, id, NULL, 0, &r);
    int64_t v = *rc || r.nrows == 0 ? 0 : store_res_i64(&r, 0, 0);
    store_res_free(&r);
    return v;
}

static int cmp_hash(const void *a, const void *b)
{
    return memcmp(a, b, HASH_HEX);
}

/* Reads the salt and every hash into a new sorted array (lock not held: the store's work). */
static int load(struct store_conn *c, char salt[65], char **hashes, size_t *n)
{
    struct store_res r = {0};
    int rc = store_query(c, STMT_PRIV_SALT_GET, NULL, 0, &r);
    if (!rc && r.nrows > 0)
        snprintf(salt, 65, "%s", store_res_text(&r, 0, 0));
    store_res_free(&r);
    *hashes = NULL;
    *n = 0;
    if (rc || (rc = store_query(c, STMT_PRIV_SUPP_ALL, NULL, 0, &r)))
        return rc;
    if (r.nrows > 0 && !(*hashes = malloc((size_t)r.nrows * HASH_HEX)))
        rc = HERALD_ERR_NOMEM;
    for (int i = 0; !rc && i < r.nrows; i++) {
        const char *h = store_res_text(&r, i, 0);
        if (h && strlen(h) == HASH_HEX)
            memcpy(*hashes + HASH_HEX * (*n)++, h, HASH_HEX);
    }
    store_res_free(&r);
    if (!rc && *n > 1)
        qsort(*hashes, *n, HASH_HEX, cmp_hash);
    return rc;
}

enum herald_err store_suppression_refresh(struct store_conn *c, int64_t max_age_ms, bool *any)
{
    struct store_supp *s = &c->st->supp;
    int64_t now = clock_now_ms();
    pthread_mutex_lock(&s->mu);
    bool fresh = s->checked_ms && now - s->checked_ms < max_age_ms;
    int64_t known = s->count;
    *any = s->n > 0;
    pthread_mutex_unlock(&s->mu);
    if (fresh)
        return HERALD_OK;
    int rc = HERALD_OK;
    /* A schema rolled back below the privacy tables holds no list: no failed statement (which
       would abort a PostgreSQL transaction), just an empty list. Known tables are looked for
       again only every EXISTS_MS. */
    bool exists = s->exists_ms && now - s->exists_ms < EXISTS_MS;
    if (!exists && (exists = query_i64(c, STMT_PRIV_SUPP_EXISTS, &rc) > 0) && !rc)
        s->exists_ms = now; /* a racy write of a hint: at worst one more look */
    int64_t count = exists && !rc ? query_i64(c, STMT_PRIV_SUPP_COUNT, &rc) : -1;
    if (rc)
        return rc;
    char salt[65] = "", *hashes = NULL;
    size_t n = 0;
    if (count > 0 && count != known && (rc = load(c, salt, &hashes, &n)))
        return rc;
    pthread_mutex_lock(&s->mu);
    s->checked_ms = now;
    if (count != known) {
        free(s->hashes);
        s->hashes = hashes;
        s->n = n;
        s->count = count;
        memcpy(s->salt, salt, sizeof(salt));
        hashes = NULL;
    }
    *any = s->n > 0;
    pthread_mutex_unlock(&s->mu);
    free(hashes);
    return HERALD_OK;
}

bool store_suppression_hit(struct store *st, const char *email)
{
    struct store_supp *s = &st->supp;
    char norm[512], h[STORE_PRIVACY_HASH_LEN];
    while (email && isspace((unsigned char)*email))
        email++;
    size_t len = email ? strlen(email) : 0;
    while (len > 0 && isspace((unsigned char)email[len - 1]))
        len--;
    if (len == 0 || len >= sizeof(norm))
        return false;
    for (size_t i = 0; i < len; i++)
        norm[i] = (char)tolower((unsigned char)email[i]);
    norm[len] = '\0';
    pthread_mutex_lock(&s->mu);
    bool hit = false;
    if (s->n > 0) {
        store_privacy_hash(s->salt, norm, h);
        hit = bsearch(h, s->hashes, s->n, HASH_HEX, cmp_hash) != NULL;
    }
    pthread_mutex_unlock(&s->mu);
    return hit;
}

int64_t store_suppression_version(struct store *st)
{
    pthread_mutex_lock(&st->supp.mu);
    int64_t v = st->supp.count;
    pthread_mutex_unlock(&st->supp.mu);
    return v;
}

struct refresh_arg {
    int64_t max_age_ms;
    bool any;
};

static int refresh_tx(struct store_conn *c, void *arg)
{
    struct refresh_arg *a = arg;
    return store_suppression_refresh(c, a->max_age_ms, &a->any);
}

enum herald_err store_suppression_refresh_read(struct store *st, int64_t max_age_ms)
{
    struct refresh_arg a = {max_age_ms, false};
    return store_run_read(st, refresh_tx, &a);
}
