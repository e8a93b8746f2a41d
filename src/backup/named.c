/* Owns named backups in the backup directory and under the S3 prefix: the naming scheme, the
 * scheduled run (backup, upload, retention), the merged list and the last success time. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/backup.h"
#include "base/clock.h"
#include "base/log.h"

void backup_name(int64_t ms, char out[64])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 64, "herald-%Y%m%dT%H%M%SZ.hbk", &tm);
}

bool backup_name_time(const char *name, int64_t *ms)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (strlen(name) != 27 || strncmp(name, "herald-", 7) != 0 || strcmp(name + 23, ".hbk") != 0)
        return false;
    const char *end = strptime(name + 7, "%Y%m%dT%H%M%SZ", &tm);
    if (!end || end != name + 23)
        return false;
    *ms = (int64_t)timegm(&tm) * 1000;
    return true;
}

static bool s3_configured(const struct backup_opts *o)
{
    return o->s3.url && *o->s3.url;
}

/* Writes the named backup (or reuses `reuse`, a complete file from an earlier attempt). */
static int write_named(struct store *st, const struct backup_opts *o, const uint8_t *key,
                       const char *reuse, struct backup_result *out, struct herald_error *err)
{
    struct stat sb;
    if (reuse && *reuse && stat(reuse, &sb) == 0) {
        snprintf(out->path, sizeof(out->path), "%s", reuse);
        out->size = sb.st_size;
        return HERALD_OK;
    }
    char name[64];
    backup_name(clock_now_ms(), name);
    snprintf(out->path, sizeof(out->path), "%s/%s", o->dir, name);
    if (access(out->path, F_OK) == 0)
        return herald_error_set(err, HERALD_ERR_CONFLICT, "", "%s already exists", out->path);
    struct backup_tmp tmp;
    backup_tmp_sweep(o->dir);
    int rc = backup_tmp_open(o->dir, &tmp);
    if (rc)
        return herald_error_set(err, rc, "HERALD_BACKUP_DIR", "cannot use %s", o->dir);
    rc = backup_write(st, key, out->path, &tmp, err);
    backup_tmp_close(&tmp);
    if (!rc && stat(out->path, &sb) == 0)
        out->size = sb.st_size;
    return rc;
}

static int upload(const struct backup_opts *o, const char *path, struct herald_error *err)
{
    struct s3_client *c = NULL;
    int rc = s3_client_new(&o->s3, &c, err);
    if (rc)
        return rc;
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    rc = s3_put_file(c, name, path, err);
    s3_client_free(c);
    return rc;
}

enum herald_err backup_run(struct store *st, const struct backup_opts *o, const char *reuse,
                           struct backup_result *out, bool *key_created, struct herald_error *err)
{
    uint8_t key[CRYPTO_AES_KEY_LEN];
    memset(out, 0, sizeof(*out));
    int rc = backup_key_load(o->key_file, true, key, key_created, err);
    if (rc)
        return rc;
    rc = write_named(st, o, key, reuse, out, err);
    memset(key, 0, sizeof(key));
    if (rc)
        return rc;
    if (s3_configured(o)) {
        rc = upload(o, out->path, err);
        if (rc)
            return rc;
        out->uploaded = true;
    }
    return backup_prune(o, clock_now_ms(), &out->pruned_local, &out->pruned_remote, err);
}

static int prune_remote(const struct backup_opts *o, int64_t cutoff, int *remote,
                        struct herald_error *err)
{
    struct s3_client *c = NULL;
    struct s3_object *objs = NULL;
    size_t n = 0;
    int rc = s3_client_new(&o->s3, &c, err);
    if (!rc)
        rc = s3_list(c, &objs, &n, err);
    for (size_t i = 0; !rc && i < n; i++) {
        int64_t ms;
        if (!backup_name_time(objs[i].name, &ms) || ms >= cutoff)
            continue;
        rc = s3_delete(c, objs[i].name, err);
        if (!rc)
            (*remote)++;
    }
    free(objs);
    s3_client_free(c);
    return rc;
}

enum herald_err backup_prune(const struct backup_opts *o, int64_t now_ms, int *local, int *remote,
                             struct herald_error *err)
{
    *local = *remote = 0;
    if (o->keep_days <= 0)
        return HERALD_OK;
    int64_t cutoff = now_ms - (int64_t)o->keep_days * 86400 * 1000;
    DIR *d = opendir(o->dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int64_t ms;
        char path[4400];
        if (!backup_name_time(e->d_name, &ms) || ms >= cutoff)
            continue;
        snprintf(path, sizeof(path), "%s/%s", o->dir, e->d_name);
        if (unlink(path) == 0)
            (*local)++;
    }
    if (d)
        closedir(d);
    if (*local)
        log_info("old backups deleted",
                 json_pack("{s:i, s:i}", "count", *local, "keepDays", o->keep_days));
    return s3_configured(o) ? prune_remote(o, cutoff, remote, err) : HERALD_OK;
}

/* Adds or updates the entry `name` (local or remote size). */
static int merge_entry(struct backup_entry **rows, size_t *n, const char *name, int64_t ms,
                       int64_t size, bool remote)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*rows)[i].name, name)) {
            *(remote ? &(*rows)[i].remote_size : &(*rows)[i].local_size) = size;
            return HERALD_OK;
        }
    struct backup_entry *grown = realloc(*rows, (*n + 1) * sizeof(**rows));
    if (!grown)
        return HERALD_ERR_NOMEM;
    *rows = grown;
    struct backup_entry *e = &grown[(*n)++];
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->time_ms = ms;
    e->local_size = remote ? -1 : size;
    e->remote_size = remote ? size : -1;
    return HERALD_OK;
}

static int newest_first(const void *a, const void *b)
{
    const struct backup_entry *x = a, *y = b;
    return x->time_ms < y->time_ms ? 1 : x->time_ms > y->time_ms ? -1 : 0;
}

static int list_remote(const struct backup_opts *o, struct backup_entry **rows, size_t *n,
                       struct herald_error *err)
{
    struct s3_client *c = NULL;
    struct s3_object *objs = NULL;
    size_t k = 0;
    int rc = s3_client_new(&o->s3, &c, err);
    if (!rc)
        rc = s3_list(c, &objs, &k, err);
    for (size_t i = 0; !rc && i < k; i++) {
        int64_t ms;
        if (backup_name_time(objs[i].name, &ms))
            rc = merge_entry(rows, n, objs[i].name, ms, objs[i].size, true);
    }
    free(objs);
    s3_client_free(c);
    return rc;
}

enum herald_err backup_list(const struct backup_opts *o, struct backup_entry **out, size_t *count,
                            struct herald_error *err)
{
    *out = NULL;
    *count = 0;
    int rc = HERALD_OK;
    DIR *d = opendir(o->dir);
    struct dirent *e;
    while (!rc && d && (e = readdir(d))) {
        int64_t ms;
        char path[4400];
        struct stat sb;
        snprintf(path, sizeof(path), "%s/%s", o->dir, e->d_name);
        if (backup_name_time(e->d_name, &ms) && stat(path, &sb) == 0)
            rc = merge_entry(out, count, e->d_name, ms, sb.st_size, false);
    }
    if (d)
        closedir(d);
    if (!rc && s3_configured(o))
        rc = list_remote(o, out, count, err);
    if (*count)
        qsort(*out, *count, sizeof(**out), newest_first);
    return rc;
}

int64_t backup_last_success_ms(const char *dir)
{
    int64_t newest = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int64_t ms;
        if (backup_name_time(e->d_name, &ms) && ms > newest)
            newest = ms;
    }
    if (d)
        closedir(d);
    return newest;
}
