/* Owns the "backup" job kind: one scheduled run (named backup, upload, retention) with its
 * lease, retries and dead letters from the jobs layer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backup/backup.h"
#include "base/log.h"
#include "jobs/jobs.h"

struct backup_kind {
    struct store *st;
    struct backup_opts opts; /* a copy; its strings are the configuration's */
};

/* Params are an empty object: everything comes from the configuration. */
static int validate(void *arg, json_t *raw, json_t **out, struct jobs_problem *problem)
{
    (void)arg;
    *out = NULL;
    if (raw && !json_is_object(raw)) {
        snprintf(problem->field, sizeof(problem->field), "%s", "params");
        snprintf(problem->message, sizeof(problem->message), "%s", "params must be an object");
        return HERALD_ERR_INVALID;
    }
    *out = json_object();
    return *out ? HERALD_OK : HERALD_ERR_NOMEM;
}

/* Keeps the path of a complete local file, so a retry after a failed upload reuses it. */
static void remember_file(struct jobs_ctx *ctx, const struct backup_result *res)
{
    struct stat sb;
    if (!res->path[0] || stat(res->path, &sb) != 0)
        return;
    json_t *progress = jobs_ctx_progress(ctx);
    json_object_set_new(progress, "file", json_string(res->path));
    json_object_set_new(progress, "size", json_integer((json_int_t)sb.st_size));
    json_object_set_new(progress, "uploaded", json_boolean(res->uploaded));
    jobs_ctx_checkpoint(ctx, true);
}

static int run(struct jobs_ctx *ctx)
{
    struct backup_kind *k = jobs_ctx_arg(ctx);
    const char *reuse = json_string_value(json_object_get(jobs_ctx_progress(ctx), "file"));
    char reuse_copy[4200] = "";
    if (reuse)
        snprintf(reuse_copy, sizeof(reuse_copy), "%s", reuse);
    struct backup_result res;
    struct herald_error err = {0};
    bool created = false;
    int rc = backup_run(k->st, &k->opts, reuse_copy, &res, &created, &err);
    if (created)
        log_warn("created the backup key: keep a copy apart from the backups; losing it loses "
                 "every backup",
                 json_pack("{s:s}", "keyFile", k->opts.key_file));
    remember_file(ctx, &res);
    if (rc) {
        jobs_ctx_fail(ctx, rc == HERALD_ERR_CONFIG, "%s", herald_error_message(&err));
        return rc;
    }
    log_info("backup written",
             json_pack("{s:s, s:I, s:b, s:i, s:i}", "file", res.path, "bytes", (json_int_t)res.size,
                       "uploaded", res.uploaded, "prunedLocal", res.pruned_local, "prunedRemote",
                       res.pruned_remote));
    return HERALD_OK;
}

static const struct jobs_kind backup_job_kind = {
    .name = "backup",
    .validate = validate,
    .run = run,
};

enum herald_err backup_register(struct jobs *j, struct store *st, const struct backup_opts *opts,
                                struct backup_kind **out)
{
    struct backup_kind *k = calloc(1, sizeof(*k));
    if (!k)
        return HERALD_ERR_NOMEM;
    k->st = st;
    k->opts = *opts;
    int rc = jobs_register(j, &backup_job_kind, k);
    if (rc) {
        free(k);
        return rc;
    }
    *out = k;
    return HERALD_OK;
}

void backup_kind_free(struct backup_kind *k)
{
    free(k);
}
