/* Owns OTA channels as a domain: the key and rate limiters, validation of the API's input,
 * and create / read / change / delete / list, each in one transaction over store/ota_channels.h. */
#include "ota/channels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "ota/channels_internal.h"
#include "ota/credentials.h"

static const char *const type_names[OTA_TYPE_COUNT] = {"booking", "expedia", "siteminder",
                                                       "alpinebits", "generic"};

const char *ota_channel_type_name(enum ota_channel_type type)
{
    return (unsigned)type < OTA_TYPE_COUNT ? type_names[type] : "unknown";
}

const char *ota_channel_mode_name(enum ota_channel_mode mode)
{
    return mode == OTA_MODE_PUSH ? "push" : "pull";
}

bool ota_channel_type_parse(const char *s, enum ota_channel_type *out)
{
    for (int i = 0; s && i < OTA_TYPE_COUNT; i++)
        if (!strcmp(s, type_names[i])) {
            *out = (enum ota_channel_type)i;
            return true;
        }
    return false;
}

bool ota_channel_mode_parse(const char *s, enum ota_channel_mode *out)
{
    if (s && !strcmp(s, "pull"))
        *out = OTA_MODE_PULL;
    else if (s && !strcmp(s, "push"))
        *out = OTA_MODE_PUSH;
    else
        return false;
    return true;
}

enum herald_err ota_channels_open(struct store *st, const char *key_file, struct ota_channels **out)
{
    struct ota_channels *chs = calloc(1, sizeof(*chs));
    if (!chs)
        return HERALD_ERR_NOMEM;
    int rc = ota_cred_load_key(key_file, chs->key);
    if (rc) {
        free(chs);
        return rc;
    }
    chs->st = st;
    /* A budget no documented channel objects to (Booking.com asks for a GET every 20 s per
       queue; SiteMinder every 2-5 min): the per-channel pace comes from poll_seconds. */
    struct cfg_rate rate = {20, 1};
    for (int i = 0; i < OTA_TYPE_COUNT; i++)
        hc_limiter_init(&chs->limiters[i], &rate);
    *out = chs;
    return HERALD_OK;
}

void ota_channels_close(struct ota_channels *chs)
{
    if (!chs)
        return;
    for (int i = 0; i < OTA_TYPE_COUNT; i++)
        hc_limiter_destroy(&chs->limiters[i]);
    crypto_wipe(chs->key, sizeof(chs->key));
    free(chs);
}

void ota_channels_allow_insecure(struct ota_channels *chs, bool allow)
{
    chs->allow_insecure = allow;
}

struct store *ota_channels_store(struct ota_channels *chs)
{
    return chs->st;
}

void ota_channel_wipe(struct ota_channel *ch)
{
    crypto_wipe(ch->username, sizeof(ch->username));
    crypto_wipe(ch->password, sizeof(ch->password));
    crypto_wipe(ch->webhook_secret, sizeof(ch->webhook_secret));
}

enum herald_err ota_channel_from_row(struct ota_channels *chs, const struct store_ota_channel *row,
                                     struct ota_channel *out)
{
    memset(out, 0, sizeof(*out));
    out->id = row->id;
    snprintf(out->name, sizeof(out->name), "%s", row->name);
    ota_channel_type_parse(row->type, &out->type);
    ota_channel_mode_parse(row->mode, &out->mode);
    snprintf(out->hotel_code, sizeof(out->hotel_code), "%s", row->hotel_code);
    snprintf(out->base_url, sizeof(out->base_url), "%s", row->base_url);
    snprintf(out->updates_url, sizeof(out->updates_url), "%s", row->updates_url);
    out->poll_seconds = (int)row->poll_seconds;
    out->enabled = row->enabled;
    out->takes_updates = row->takes_updates;
    out->created_at_ms = row->created_at_ms;
    out->updated_at_ms = row->updated_at_ms;
    return ota_cred_open(chs->key, row->credentials, out);
}

static void view_from_row(const struct store_ota_channel *row, struct ota_channel_view *v)
{
    v->next_pull_at_ms = row->next_pull_at_ms;
    v->last_pull_at_ms = row->last_pull_at_ms;
    snprintf(v->last_pull_status, sizeof(v->last_pull_status), "%s", row->last_pull_status);
    snprintf(v->last_error, sizeof(v->last_error), "%s", row->last_error ? row->last_error : "");
}

/* ---- reads ---- */

struct get_tx {
    struct ota_channels *chs;
    int64_t id;
    struct ota_channel_view *view;
};

static int get_tx(struct store_conn *c, void *arg)
{
    struct get_tx *t = arg;
    struct store_ota_channel row;
    int rc = store_ota_channel_get(c, t->id, &row);
    if (rc)
        return rc;
    memset(t->view, 0, sizeof(*t->view));
    rc = ota_channel_from_row(t->chs, &row, &t->view->ch);
    view_from_row(&row, t->view);
    store_ota_channel_clear(&row);
    return rc;
}

static enum herald_err crypto_failure(struct herald_error *err)
{
    return herald_error_set(err, HERALD_ERR_CRYPTO, "credentials",
                            "the channel's stored credentials do not open with the key of "
                            "HERALD_OTA_SECRET_FILE");
}

enum herald_err ota_channels_view(struct ota_channels *chs, int64_t id,
                                  struct ota_channel_view *out, struct herald_error *err)
{
    struct get_tx t = {chs, id, out};
    int rc = store_run_read(chs->st, get_tx, &t);
    if (rc == HERALD_ERR_CRYPTO)
        return crypto_failure(err);
    if (rc == HERALD_ERR_NOT_FOUND)
        return herald_error_set(err, rc, "id", "no such channel");
    return rc ? herald_error_set(err, rc, NULL, NULL) : HERALD_OK;
}

enum herald_err ota_channels_get(struct ota_channels *chs, int64_t id, struct ota_channel *out,
                                 struct herald_error *err)
{
    struct ota_channel_view v;
    int rc = ota_channels_view(chs, id, &v, err);
    if (!rc)
        *out = v.ch;
    ota_channel_wipe(&v.ch);
    return rc;
}

struct list_tx {
    struct ota_channels *chs;
    int64_t after;
    int limit;
    struct ota_channel_view *rows;
    size_t n;
};

static int list_tx(struct store_conn *c, void *arg)
{
    struct list_tx *t = arg;
    struct store_ota_channel *rows = NULL;
    size_t n = 0;
    ota_channels_free_views(t->rows, t->n); /* a retried transaction starts again */
    t->rows = NULL;
    t->n = 0;
    int rc = store_ota_channel_list(c, t->after, t->limit, &rows, &n);
    if (!rc && n && !(t->rows = calloc(n, sizeof(*t->rows))))
        rc = HERALD_ERR_NOMEM;
    for (size_t i = 0; !rc && i < n; i++, t->n++) {
        rc = ota_channel_from_row(t->chs, &rows[i], &t->rows[i].ch);
        view_from_row(&rows[i], &t->rows[i]);
    }
    store_ota_channels_free(rows, n);
    return rc;
}

enum herald_err ota_channels_list(struct ota_channels *chs, int64_t after_id, int limit,
                                  struct ota_channel_view **out, size_t *n,
                                  struct herald_error *err)
{
    struct list_tx t = {chs, after_id, limit, NULL, 0};
    int rc = store_run_read(chs->st, list_tx, &t);
    if (rc) {
        ota_channels_free_views(t.rows, t.n);
        return rc == HERALD_ERR_CRYPTO ? crypto_failure(err)
                                       : herald_error_set(err, rc, NULL, NULL);
    }
    *out = t.rows;
    *n = t.n;
    return HERALD_OK;
}

void ota_channels_free_views(struct ota_channel_view *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        ota_channel_wipe(&rows[i].ch);
    free(rows);
}

enum herald_err ota_channels_all(struct ota_channels *chs, struct ota_channel **out, size_t *n,
                                 struct herald_error *err)
{
    struct ota_channel_view *views = NULL;
    size_t count = 0;
    *out = NULL;
    *n = 0;
    int rc = ota_channels_list(chs, 0, 0, &views, &count, err);
    if (rc)
        return rc;
    struct ota_channel *rows = count ? calloc(count, sizeof(*rows)) : NULL;
    if (count && !rows) {
        ota_channels_free_views(views, count);
        return herald_error_set(err, HERALD_ERR_NOMEM, NULL, NULL);
    }
    for (size_t i = 0; i < count; i++)
        rows[i] = views[i].ch;
    ota_channels_free_views(views, count);
    *out = rows;
    *n = count;
    return HERALD_OK;
}

void ota_channels_free_array(struct ota_channel *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        ota_channel_wipe(&rows[i]);
    free(rows);
}
