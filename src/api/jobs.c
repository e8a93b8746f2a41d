/* GET /api/jobs/status: the background work of this node at a glance, the periodic sync's
 * schedule, the backup schedule with the last backup, and Mixpanel forwarding. */
#include "api/api.h"
#include "backup/backup.h"
#include "jobs/schedule.h"
#include "privacy/privacy.h"
#include "sync/mixpanel.h"

/* The backup schedule and the newest named backup in HERALD_BACKUP_DIR. */
static int backup_status(struct app *app, json_t **out)
{
    struct jobs_schedule_status bs;
    int rc = jobs_schedule_status(app->schedule, "periodic_backup", &bs);
    if (rc)
        return rc;
    int64_t last = backup_last_success_ms(app->cfg.backup_dir);
    *out = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:b}", "status", bs.status, "schedule",
                     app->cfg.backup_schedule, "lastSuccessAt", last ? api_time(last) : json_null(),
                     "lastRunAt", bs.last_run_ms ? api_time(bs.last_run_ms) : json_null(),
                     "nextRunAt", bs.next_run_ms ? api_time(bs.next_run_ms) : json_null(),
                     "lastError", bs.last_error[0] ? json_string(bs.last_error) : json_null(),
                     "offsite", *app->cfg.backup_s3_url != '\0');
    return *out ? HERALD_OK : HERALD_ERR_NOMEM;
}

/* privacy: the retention schedule, its settings and what its last run removed. */
static int retention_status(struct app *app, json_t **out)
{
    struct jobs_schedule_status rs;
    int rc = jobs_schedule_status(app->schedule, "privacy_retention", &rs);
    rc = rc ? rc : privacy_retention_status(app->privacy, out);
    if (rc)
        return rc;
    json_object_set_new(*out, "status", json_string(rs.status));
    json_object_set_new(*out, "nextRunAt", rs.next_run_ms ? api_time(rs.next_run_ms) : json_null());
    json_object_set_new(*out, "lastError",
                        rs.last_error[0] ? json_string(rs.last_error) : json_null());
    return HERALD_OK;
}

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
    struct jobs_schedule_status ps;
    if ((rc = jobs_schedule_status(app->schedule, "periodic_sync", &ps))) {
        json_decref(mixpanel);
        return api_fail(req, rc);
    }
    json_t *periodic =
        json_pack("{s:s, s:o, s:o, s:o}", "status", ps.status, "lastRunAt",
                  ps.last_run_ms ? api_time(ps.last_run_ms) : json_null(), "nextRunAt",
                  ps.next_run_ms ? api_time(ps.next_run_ms) : json_null(), "lastError",
                  ps.last_error[0] ? json_string(ps.last_error) : json_null());
    json_t *backup = NULL;
    if ((rc = backup_status(app, &backup))) {
        json_decref(mixpanel);
        json_decref(periodic);
        return api_fail(req, rc);
    }
    /* privacy: a store without the privacy tables (migration 0017 rolled back) does not
     * hide the rest of the status. */
    json_t *retention = NULL;
    if ((rc = retention_status(app, &retention)))
        retention =
            json_pack("{s:s, s:s}", "status", "unavailable", "lastError", herald_err_code(rc));
    json_t *body =
        json_pack("{s:b, s:{s:o, s:o, s:o, s:o}}", "success", 1, "jobs", "periodic_sync", periodic,
                  "mixpanel_sync", mixpanel, "backup", backup, "privacy_retention", retention);
    http_reply_json(req, 200, body);
    return HTTP_REPLIED;
}
