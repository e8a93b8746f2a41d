#include "api/api.h"
#include "sync/mixpanel.h"

/* periodic_sync stays disabled until the scheduler exists; the shape is the contract the
 * dashboard and monitors rely on. */
enum http_result api_jobs_status(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct mixpanel_status ms;
    int rc = mixpanel_get_status(app->mixpanel, app->store, &ms);
    if (rc)
        return api_fail(req, rc);
    json_t *mixpanel = json_pack("{s:s}", "status", ms.status);
    if (app->mixpanel) {
        json_object_set_new(mixpanel, "lagEvents", json_integer(ms.lag_events));
        json_object_set_new(mixpanel, "lagSeconds", json_integer(ms.lag_seconds));
        json_object_set_new(mixpanel, "lastForwardedAt",
                            ms.last_forwarded_ms ? api_time(ms.last_forwarded_ms) : json_null());
        json_object_set_new(mixpanel, "lastError",
                            ms.last_error[0] ? json_string(ms.last_error) : json_null());
    } else {
        json_object_set_new(mixpanel, "lagEvents", json_null());
        json_object_set_new(mixpanel, "lagSeconds", json_null());
    }
    json_t *body = json_pack("{s:b, s:{s:{s:s, s:n, s:n, s:n}, s:o}}", "success", 1, "jobs",
                             "periodic_sync", "status", "disabled", "lastRunAt", "nextRunAt",
                             "lastError", "mixpanel_sync", mixpanel);
    http_reply_json(req, 200, body);
    return HTTP_REPLIED;
}
