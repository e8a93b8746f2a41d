#include "api/api.h"

/* Both jobs are reported as disabled until the sync engine runs them; the shape is the
 * contract the dashboard and monitors rely on. */
enum http_result api_jobs_status(struct http_request *req, void *ctx)
{
    (void)ctx;
    json_t *body =
        json_pack("{s:b, s:{s:{s:s, s:n, s:n, s:n}, s:{s:s, s:n, s:n}}}", "success", 1, "jobs",
                  "periodic_sync", "status", "disabled", "lastRunAt", "nextRunAt", "lastError",
                  "mixpanel_sync", "status", "disabled", "lagEvents", "lagSeconds");
    http_reply_json(req, 200, body);
    return HTTP_REPLIED;
}
