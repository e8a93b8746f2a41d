/* Owns the changes to OTA channels: the API's input checked field by field, credentials
 * sealed, and the create / update / delete transactions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "ota/channels.h"
#include "ota/channels_internal.h"
#include "ota/credentials.h"

static enum herald_err bad(struct herald_error *err, const char *field, const char *msg)
{
    return herald_error_set(err, HERALD_ERR_INVALID, field, "%s", msg);
}

static int set_text(char *dst, size_t size, const char *v, const char *field, bool nonempty,
                    struct herald_error *err)
{
    if (!v)
        return HERALD_OK;
    if ((nonempty && !v[0]) || strlen(v) >= size) {
        char msg[96];
        snprintf(msg, sizeof(msg), "must be %s1..%zu bytes", nonempty ? "" : "0 or ", size - 1);
        return bad(err, field, msg);
    }
    snprintf(dst, size, "%s", v);
    return HERALD_OK;
}

static int apply_credentials(struct ota_channel *ch, const struct ota_channel_input *in,
                             struct herald_error *err)
{
    if (!in->has_credentials)
        return HERALD_OK;
    int rc =
        set_text(ch->username, OTA_SECRET_MAX, in->username, "credentials.username", false, err);
    if (!rc)
        rc = set_text(ch->password, OTA_SECRET_MAX, in->password, "credentials.password", false,
                      err);
    if (!rc && in->webhook_secret && in->webhook_secret[0] &&
        (strncmp(in->webhook_secret, "whsec_", 6) != 0 || !in->webhook_secret[6]))
        return bad(err, "credentials.webhookSecret", "must be \"whsec_\" followed by base64");
    if (!rc)
        rc = set_text(ch->webhook_secret, OTA_SECRET_MAX, in->webhook_secret,
                      "credentials.webhookSecret", false, err);
    return rc;
}

static int apply_enums(struct ota_channel *ch, const struct ota_channel_input *in,
                       struct herald_error *err)
{
    if (in->type && !ota_channel_type_parse(in->type, &ch->type))
        return bad(err, "type", "must be booking, expedia, siteminder, alpinebits or generic");
    if (in->mode && !ota_channel_mode_parse(in->mode, &ch->mode))
        return bad(err, "mode", "must be pull or push");
    if (ch->mode == OTA_MODE_PULL && ch->type == OTA_TYPE_EXPEDIA)
        return bad(err, "mode", "expedia channels deliver by push only (no pull connector)");
    return HERALD_OK;
}

/* One endpoint URL ("" allowed): https://, or http:// where insecure upstreams are allowed. */
static int check_one_url(const char *u, const char *field, bool allow_http,
                         struct herald_error *err)
{
    bool http = !strncmp(u, "http://", 7);
    if (u[0] && !http && strncmp(u, "https://", 8) != 0)
        return bad(err, field, "must be an https:// URL");
    if (http && !allow_http)
        return bad(err, field,
                   "must be an https:// URL (http:// only with HERALD_ALLOW_INSECURE_UPSTREAM)");
    if (u[0] && strpbrk(u, " \t\r\n\"<>"))
        return bad(err, field, "must not contain spaces, quotes or angle brackets");
    return HERALD_OK;
}

static int check_url(const struct ota_channel *ch, bool allow_http, struct herald_error *err)
{
    int rc = check_one_url(ch->base_url, "baseUrl", allow_http, err);
    if (!rc)
        rc = check_one_url(ch->updates_url, "updatesUrl", allow_http, err);
    if (!rc && ch->mode == OTA_MODE_PULL && !ch->base_url[0])
        return bad(err, "baseUrl", "is required for a pull channel");
    return rc;
}

/* Applies `in` over *ch (defaults or the stored channel) and checks the result. */
static int apply_input(struct ota_channel *ch, const struct ota_channel_input *in, bool creating,
                       bool allow_http, struct herald_error *err)
{
    if (creating && !in->name)
        return bad(err, "name", "is required");
    if (creating && (!in->type || !in->mode || !in->hotel_code))
        return bad(err, !in->type ? "type" : !in->mode ? "mode" : "hotelCode", "is required");
    int rc = set_text(ch->name, OTA_NAME_MAX, in->name, "name", true, err);
    if (!rc)
        rc = apply_enums(ch, in, err);
    if (!rc)
        rc = set_text(ch->hotel_code, OTA_HOTEL_CODE_MAX, in->hotel_code, "hotelCode", true, err);
    if (!rc)
        rc = set_text(ch->base_url, OTA_URL_MAX, in->base_url, "baseUrl", false, err);
    if (!rc)
        rc = set_text(ch->updates_url, OTA_URL_MAX, in->updates_url, "updatesUrl", false, err);
    if (!rc)
        rc = check_url(ch, allow_http, err);
    if (rc)
        return rc;
    if (in->poll_seconds >= 0 && (in->poll_seconds < 1 || in->poll_seconds > 86400))
        return bad(err, "pollSeconds", "must be 1..86400");
    if (in->poll_seconds >= 0)
        ch->poll_seconds = (int)in->poll_seconds;
    if (in->enabled >= 0)
        ch->enabled = in->enabled != 0;
    if (in->takes_updates >= 0)
        ch->takes_updates = in->takes_updates != 0;
    return apply_credentials(ch, in, err);
}

/* The store row of a channel, its credentials sealed (row->credentials malloc'ed). */
static int to_row(struct ota_channels *chs, const struct ota_channel *ch,
                  struct store_ota_channel *row)
{
    memset(row, 0, sizeof(*row));
    row->id = ch->id;
    snprintf(row->name, sizeof(row->name), "%s", ch->name);
    snprintf(row->type, sizeof(row->type), "%s", ota_channel_type_name(ch->type));
    snprintf(row->mode, sizeof(row->mode), "%s", ota_channel_mode_name(ch->mode));
    snprintf(row->hotel_code, sizeof(row->hotel_code), "%s", ch->hotel_code);
    snprintf(row->base_url, sizeof(row->base_url), "%s", ch->base_url);
    snprintf(row->updates_url, sizeof(row->updates_url), "%s", ch->updates_url);
    row->poll_seconds = ch->poll_seconds;
    row->enabled = ch->enabled;
    row->takes_updates = ch->takes_updates;
    return ota_cred_seal(chs->key, ch, &row->credentials);
}

struct write_tx {
    struct ota_channels *chs;
    int64_t id;
    const struct ota_channel_input *in;
    struct herald_error *err;
};

static int create_tx(struct store_conn *c, void *arg)
{
    struct write_tx *t = arg;
    struct ota_channel ch = {.poll_seconds = 300, .enabled = true};
    struct store_ota_channel row;
    int rc = apply_input(&ch, t->in, true, t->chs->allow_insecure, t->err);
    if (!rc)
        rc = to_row(t->chs, &ch, &row);
    ota_channel_wipe(&ch);
    if (rc)
        return rc;
    rc = store_ota_channel_insert(c, &row, clock_now_ms(), &t->id);
    store_ota_channel_clear(&row);
    return rc;
}

static int update_tx(struct store_conn *c, void *arg)
{
    struct write_tx *t = arg;
    struct store_ota_channel row;
    struct ota_channel ch;
    int rc = store_ota_channel_get(c, t->id, &row);
    if (rc)
        return rc;
    rc = ota_channel_from_row(t->chs, &row, &ch);
    store_ota_channel_clear(&row);
    if (!rc)
        rc = apply_input(&ch, t->in, false, t->chs->allow_insecure, t->err);
    if (!rc)
        rc = to_row(t->chs, &ch, &row);
    ota_channel_wipe(&ch);
    if (rc)
        return rc;
    rc = store_ota_channel_update(c, &row, clock_now_ms());
    store_ota_channel_clear(&row);
    return rc;
}

/* The one place a write's failure becomes an error with its detail. */
static enum herald_err write_failed(int rc, struct herald_error *err)
{
    if (rc == HERALD_ERR_INVALID)
        return rc; /* err already says which field */
    if (rc == HERALD_ERR_DUPLICATE)
        return herald_error_set(err, rc, "name", "a channel with this name exists");
    if (rc == HERALD_ERR_NOT_FOUND)
        return herald_error_set(err, rc, "id", "no such channel");
    if (rc == HERALD_ERR_CRYPTO)
        return herald_error_set(err, rc, "credentials",
                                "the channel's stored credentials do not open with the key of "
                                "HERALD_OTA_SECRET_FILE");
    return herald_error_set(err, rc, NULL, NULL);
}

enum herald_err ota_channels_create(struct ota_channels *chs, const struct ota_channel_input *in,
                                    struct ota_channel_view *out, struct herald_error *err)
{
    struct write_tx t = {chs, 0, in, err};
    int rc = store_run_tx(chs->st, create_tx, &t);
    return rc ? write_failed(rc, err) : ota_channels_view(chs, t.id, out, err);
}

enum herald_err ota_channels_update(struct ota_channels *chs, int64_t id,
                                    const struct ota_channel_input *in,
                                    struct ota_channel_view *out, struct herald_error *err)
{
    struct write_tx t = {chs, id, in, err};
    int rc = store_run_tx(chs->st, update_tx, &t);
    return rc ? write_failed(rc, err) : ota_channels_view(chs, id, out, err);
}

static int delete_tx(struct store_conn *c, void *arg)
{
    return store_ota_channel_delete(c, *(int64_t *)arg);
}

enum herald_err ota_channels_delete(struct ota_channels *chs, int64_t id)
{
    return store_run_tx(chs->st, delete_tx, &id);
}
