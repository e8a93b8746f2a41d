/* GET /api/migrations (each migration and whether it is applied) and POST
 * /api/migrations/rollback (backup first, no running sync, base schema and cursor kept). */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "backup/backup.h"
#include "jobs/jobs.h"
#include "store/store.h"
#include "sync/mixpanel.h"

#define MAX_MIGRATIONS 256
/* The migration whose down script drops forward_cursors (the Mixpanel forwarding cursor). */
#define CURSOR_MIGRATION "forwarding"

/* The migrations as a JSON list in *out (json_decref it), with the counts. */
static enum herald_err migrations_json(struct store *st, int *pending, int *applied, json_t **out)
{
    struct store_migration_state rows[MAX_MIGRATIONS];
    size_t n = 0;
    *out = NULL;
    enum herald_err rc = store_migrations(st, rows, MAX_MIGRATIONS, &n);
    if (rc)
        return rc;
    json_t *list = json_array();
    *pending = *applied = 0;
    for (size_t i = 0; list && i < n; i++) {
        *pending += !rows[i].applied;
        *applied += rows[i].applied;
        json_array_append_new(
            list, json_pack("{s:i, s:s, s:b, s:o}", "version", rows[i].version, "name",
                            rows[i].name, "applied", rows[i].applied, "appliedAt",
                            rows[i].applied ? api_time(rows[i].applied_at_ms) : json_null()));
    }
    *out = list;
    return list ? HERALD_OK : HERALD_ERR_NOMEM;
}

enum http_result api_migrations_list(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int pending, applied;
    json_t *list;
    enum herald_err rc = migrations_json(app->store, &pending, &applied, &list);
    if (rc)
        return api_fail(req, rc);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:s, s:o, s:i}", "success", 1, "backend",
                              store_backend_name(app->store), "migrations", list, "pending",
                              pending));
    return HTTP_REPLIED;
}

struct rollback_req {
    long long steps;
    bool force;
};

/* The body is optional: none (or an empty one) means one step, no force. */
static enum herald_err rollback_parse(struct http_request *req, struct rollback_req *r)
{
    size_t len = 0;
    const char *body = http_req_body(req, &len);
    *r = (struct rollback_req){1, false};
    if (!body || len == 0)
        return HERALD_OK;
    json_t *doc = NULL;
    const struct http_field spec[] = {{"steps", HF_INT, false, 1, 100, &r->steps},
                                      {"force", HF_BOOL, false, 0, 0, &r->force}};
    enum herald_err rc = http_parse_json(req, spec, 2, &doc);
    json_decref(doc);
    return rc;
}

/* HERALD_ERR_CONFLICT while a sync job runs anywhere (any node). */
static enum herald_err no_sync_running(struct jobs *j, struct herald_error *err)
{
    struct jobs_info *infos = NULL;
    size_t n = 0;
    enum herald_err rc = jobs_list(j, "running", 0, NULL, 1000, &infos, &n);
    bool busy = false;
    for (size_t i = 0; !rc && i < n; i++)
        busy |= strcmp(infos[i].kind, "sync") == 0;
    jobs_infos_free(infos, n);
    if (!rc && busy) {
        herald_error_set(err, HERALD_ERR_CONFLICT, "force",
                         "a sync job is running; wait for it, cancel it, or send "
                         "{\"force\":true}");
        rc = HERALD_ERR_CONFLICT;
    }
    return rc;
}

/* What the rollback may revert: not the base schema, not the forwarding cursor. */
static enum herald_err rollback_allowed(struct store *st, long long steps, struct herald_error *err)
{
    struct store_migration_state rows[MAX_MIGRATIONS];
    size_t n = 0, applied = 0;
    enum herald_err rc = store_migrations(st, rows, MAX_MIGRATIONS, &n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        applied += rows[i].applied;
    if ((size_t)steps > applied) {
        herald_error_set(err, HERALD_ERR_INVALID, "steps", "steps exceeds the applied migrations");
        return HERALD_ERR_INVALID;
    }
    if ((size_t)steps >= applied) {
        /* The base migration holds the API keys this very request authenticated with. */
        herald_error_set(err, HERALD_ERR_CONFLICT, "steps",
                         "rolling back the base schema over the API would lock every client "
                         "out; use `herald migrate down` with the server stopped");
        return HERALD_ERR_CONFLICT;
    }
    /* The newest `steps` applied migrations are the ones reverted. */
    long long left = steps;
    for (size_t i = n; i-- > 0 && left > 0;) {
        if (!rows[i].applied)
            continue;
        left--;
        if (strcmp(rows[i].name, CURSOR_MIGRATION) == 0) {
            herald_error_set(err, HERALD_ERR_CONFLICT, "steps",
                             "this rollback would drop the Mixpanel forwarding cursor; use "
                             "`herald migrate down` with the server stopped");
            return HERALD_ERR_CONFLICT;
        }
    }
    return HERALD_OK;
}

/* An encrypted named backup in HERALD_BACKUP_DIR, through the backup module. */
static enum herald_err rollback_backup(struct app *app, struct backup_result *res,
                                       struct herald_error *err)
{
    const struct cfg *cfg = &app->cfg;
    struct backup_opts o = {
        .dir = cfg->backup_dir,
        .key_file = cfg->backup_key_file,
        .keep_days = cfg->backup_keep_days,
        .s3 = {cfg->backup_s3_url, cfg->backup_s3_region, cfg->backup_s3_access_key_file,
               cfg->backup_s3_secret_key_file, cfg->upstream_timeout_ms},
    };
    bool created = false;
    enum herald_err rc = backup_run(app->store, &o, NULL, res, &created, err);
    if (rc == HERALD_ERR_CONFLICT) {
        /* Named backups are to the second: one was taken this second; take the next. */
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
        *err = (struct herald_error){0};
        rc = backup_run(app->store, &o, NULL, res, &created, err);
    }
    return rc;
}

/* The rollback itself with the job workers and the Mixpanel forwarder paused (running jobs
 * released, imports in flight landed), both resumed after. */
static enum herald_err rollback_paused(struct app *app, int steps, int *reverted,
                                       struct herald_error *err)
{
    enum herald_err rc = jobs_pause(app->jobs, 10000);
    if (rc)
        herald_error_set(err, rc, NULL, "the running jobs did not stop within 10 s");
    else if ((rc = mixpanel_pause(app->mixpanel, 10000)))
        herald_error_set(err, rc, NULL, "the Mixpanel imports in flight did not land within 10 s");
    else
        rc = store_migrate_down(app->store, steps, reverted);
    mixpanel_resume(app->mixpanel);
    jobs_resume(app->jobs);
    return rc;
}

enum http_result api_migrations_rollback(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct rollback_req r;
    if (rollback_parse(req, &r))
        return HTTP_REPLIED;
    struct herald_error err = {0};
    struct backup_result res = {0};
    static pthread_mutex_t rollback_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&rollback_lock);
    int reverted = 0;
    enum herald_err rc = rollback_allowed(app->store, r.steps, &err);
    if (!rc && !r.force)
        rc = no_sync_running(app->jobs, &err);
    if (!rc)
        rc = rollback_backup(app, &res, &err);
    if (!rc)
        rc = rollback_paused(app, (int)r.steps, &reverted, &err);
    pthread_mutex_unlock(&rollback_lock);
    if (rc)
        return err.code ? api_fail_err(req, &err) : api_fail(req, rc);
    int pending, applied;
    json_t *list;
    if ((rc = migrations_json(app->store, &pending, &applied, &list)))
        return api_fail(req, rc);
    char abs[PATH_MAX]; /* the server's working directory means nothing to a client */
    const char *path = realpath(res.path, abs) ? abs : res.path;
    http_reply_json(req, 200,
                    json_pack("{s:b, s:i, s:o, s:i, s:s}", "success", 1, "reverted", reverted,
                              "migrations", list, "pending", pending, "backup", path));
    return HTTP_REPLIED;
}
