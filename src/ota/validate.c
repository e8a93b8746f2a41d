/* Owns channel validation: the reachable / auth / read checks of one channel, each timed,
 * through the channel's pull connector, without acknowledging anything. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "ota/channels.h"
#include "ota/channels_internal.h"
#include "ota/pull_connector.h"

const char *ota_check_result_name(enum ota_check_result r)
{
    return r == OTA_CHECK_OK ? "ok" : r == OTA_CHECK_FAILED ? "failed" : "skipped";
}

__attribute__((format(printf, 4, 5))) static void set(struct ota_check *c, enum ota_check_result r,
                                                      int64_t t0, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    c->result = r;
    c->duration_ms = t0 ? clock_now_ms() - t0 : 0;
    vsnprintf(c->message, sizeof(c->message), fmt, ap);
    va_end(ap);
}

static void check_reachable(struct ota_channels *chs, const struct ota_channel *ch,
                            const struct ota_connector *conn, long timeout_ms, struct ota_check *c)
{
    struct ota_channel anon = *ch; /* no credentials on this request */
    ota_channel_wipe(&anon);
    anon.username[0] = anon.password[0] = anon.webhook_secret[0] = '\0';
    struct ota_send_opts o = {.timeout_ms = timeout_ms, .max_attempts = 1};
    struct ota_reply r = {0};
    int64_t t0 = clock_now_ms();
    ota_channel_get(chs, &anon, conn->probe_path, &o, &r);
    char status[32];
    snprintf(status, sizeof(status), "HTTP %ld", r.status);
    if (r.status > 0)
        set(c, OTA_CHECK_OK, t0, "the endpoint answers (%s)", status);
    else
        set(c, OTA_CHECK_FAILED, t0, "the endpoint does not answer: %s", r.error);
    ota_reply_free(&r);
}

/* auth and read from one harmless read of the first queue. */
static void check_auth_read(struct ota_channels *chs, const struct ota_channel *ch,
                            const struct ota_connector *conn, long timeout_ms, size_t max_bytes,
                            struct ota_check *auth, struct ota_check *read)
{
    struct ota_send_opts o = {.timeout_ms = timeout_ms, .max_attempts = 1};
    struct ota_reply r = {0};
    int64_t t0 = clock_now_ms();
    int rc = conn->fetch(chs, ch, 0, &o, &r);
    rc = rc ? ota_reply_refine(rc, &r) : ota_reply_check(&r);
    bool refused = rc == HERALD_ERR_SIGNATURE || r.status == 401 || r.status == 403;
    if (rc) {
        set(auth, OTA_CHECK_FAILED, t0, "%s: %s",
            refused ? "the channel refused the credentials"
                    : "the credentials could not be verified",
            r.error);
        set(read, OTA_CHECK_SKIPPED, 0, "%s", "skipped: auth failed");
        ota_reply_free(&r);
        return;
    }
    set(auth, OTA_CHECK_OK, t0, "%s", "the channel accepted the credentials");
    int64_t t1 = clock_now_ms();
    struct ota_res_message msg = {0};
    struct herald_error err = {0};
    rc = ota_reply_is_empty_batch(&r)
             ? HERALD_OK
             : ota_res_parse(r.body ? r.body : "", r.len, max_bytes, &msg, &err);
    char n[64];
    snprintf(n, sizeof(n), "%zu reservation message(s) waiting in \"%s\"", msg.n, conn->queues[0]);
    if (rc)
        set(read, OTA_CHECK_FAILED, t1, "the answer is not a reservation message: %s",
            herald_error_message(&err));
    else
        set(read, OTA_CHECK_OK, t1, "%s (nothing acknowledged)", n);
    read->duration_ms += r.duration_ms;
    ota_res_message_free(&msg);
    ota_reply_free(&r);
}

static void check_push(const struct ota_channel *ch, struct ota_validation *out)
{
    set(&out->checks[0], OTA_CHECK_SKIPPED, 0, "%s", "push channel: the channel calls Herald");
    bool creds = (ch->username[0] && ch->password[0]) || ch->webhook_secret[0];
    set(&out->checks[1], creds ? OTA_CHECK_OK : OTA_CHECK_FAILED, 0, "%s",
        creds ? "credentials are set for the channel's pushes"
              : "no credentials set: the channel's pushes would be refused");
    set(&out->checks[2], OTA_CHECK_SKIPPED, 0, "%s", "push channel: nothing to read");
}

enum herald_err ota_channel_validate(struct ota_channels *chs, int64_t id, long timeout_ms,
                                     size_t max_bytes, struct ota_validation *out,
                                     struct herald_error *err)
{
    static const char *const names[OTA_CHECKS] = {"reachable", "auth", "read"};
    memset(out, 0, sizeof(*out));
    out->channel_id = id;
    for (int i = 0; i < OTA_CHECKS; i++)
        out->checks[i].name = names[i];
    struct ota_channel ch;
    int rc = ota_channels_get(chs, id, &ch, err);
    if (rc)
        return rc;
    const struct ota_connector *conn = ota_connector_find(ch.type);
    if (ch.mode == OTA_MODE_PUSH || !conn) {
        check_push(&ch, out);
    } else {
        check_reachable(chs, &ch, conn, timeout_ms, &out->checks[0]);
        if (out->checks[0].result == OTA_CHECK_OK)
            check_auth_read(chs, &ch, conn, timeout_ms, max_bytes, &out->checks[1],
                            &out->checks[2]);
        else
            for (int i = 1; i < OTA_CHECKS; i++)
                set(&out->checks[i], OTA_CHECK_SKIPPED, 0, "%s", "skipped: not reachable");
    }
    ota_channel_wipe(&ch);
    out->ok = true;
    for (int i = 0; i < OTA_CHECKS; i++)
        out->ok = out->ok && out->checks[i].result != OTA_CHECK_FAILED;
    return HERALD_OK;
}
