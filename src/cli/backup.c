/* herald backup [FILE | list] / herald restore FILE|s3://...|--remote NAME: encrypted,
 * verified backups (src/backup/), listed locally and on S3; restore refuses while a server runs
 * and, with a key, anything it cannot authenticate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup.h"
#include "base/clock.h"
#include "cli/cli.h"
#include "store/store.h"

/* -1: go on; otherwise the exit status after printing the usage (0 when asked for). */
static int usage_status(int argc, char **argv, const char *usage)
{
    bool asked = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
    if (!asked && argc <= 2)
        return -1;
    fputs(usage, asked ? stdout : stderr);
    return asked ? 0 : 2;
}

void cli_backup_opts(const struct cfg *cfg, struct backup_opts *o)
{
    *o = (struct backup_opts){
        .dir = cfg->backup_dir,
        .key_file = cfg->backup_key_file,
        .keep_days = cfg->backup_keep_days,
        .s3 = {cfg->backup_s3_url, cfg->backup_s3_region, cfg->backup_s3_access_key_file,
               cfg->backup_s3_secret_key_file, cfg->upstream_timeout_ms},
    };
}

static void say_key_created(const char *path)
{
    fprintf(stderr,
            "herald: created the backup key %s (mode 0600). Keep a copy somewhere other than "
            "the backups: without it no backup can be restored.\n",
            path);
}

/* herald backup FILE: one encrypted backup at FILE. */
static int backup_to_file(struct app *app, const struct backup_opts *o, const char *path)
{
    uint8_t key[CRYPTO_AES_KEY_LEN];
    bool created;
    struct herald_error err = {0};
    struct store *st = NULL;
    struct backup_tmp tmp = {0};
    int rc = backup_key_load(o->key_file, true, key, &created, &err);
    if (rc)
        goto done;
    if (created)
        say_key_created(o->key_file);
    if ((rc = cli_open_store(app, &st)))
        goto quiet;
    backup_tmp_sweep(o->dir);
    if ((rc = backup_tmp_open(o->dir, &tmp))) {
        herald_error_set(&err, rc, "", "cannot create a private directory in %s", o->dir);
        goto done;
    }
    rc = backup_write(st, key, path, &tmp, &err);
    if (rc)
        goto done;
    struct stat sb;
    stat(path, &sb);
    fprintf(stderr, "herald: backup of %s written to %s (%lld bytes, encrypted with %s)\n",
            store_backend_name(st), path, (long long)sb.st_size, o->key_file);
done:
    if (rc)
        fprintf(stderr, "herald: %s\n", herald_error_message(&err));
quiet:
    backup_tmp_close(&tmp);
    memset(key, 0, sizeof(key));
    store_close(st);
    return rc ? 1 : 0;
}

/* herald backup: a named backup in HERALD_BACKUP_DIR, uploaded, then retention. */
static int backup_named(struct app *app, const struct backup_opts *o)
{
    struct store *st = NULL;
    if (cli_open_store(app, &st))
        return 1;
    struct backup_result res;
    struct herald_error err = {0};
    bool created = false;
    int rc = backup_run(st, o, NULL, &res, &created, &err);
    if (created)
        say_key_created(o->key_file);
    if (rc)
        fprintf(stderr, "herald: %s\n", herald_error_message(&err));
    else
        fprintf(stderr,
                "herald: backup of %s written to %s (%lld bytes, encrypted with %s)%s; %d old "
                "backup(s) deleted locally, %d remotely\n",
                store_backend_name(st), res.path, (long long)res.size, o->key_file,
                res.uploaded ? ", uploaded to S3" : "", res.pruned_local, res.pruned_remote);
    store_close(st);
    return rc ? 1 : 0;
}

static int backup_list_cmd(const struct backup_opts *o)
{
    struct backup_entry *rows = NULL;
    size_t n = 0;
    struct herald_error err = {0};
    int rc = backup_list(o, &rows, &n, &err);
    printf("%-28s %-22s %14s %14s\n", "NAME", "TAKEN (UTC)", "LOCAL BYTES", "REMOTE BYTES");
    for (size_t i = 0; i < n; i++) {
        char when[40], local[24] = "-", remote[24] = "-";
        clock_format_iso(rows[i].time_ms, when, sizeof(when));
        if (rows[i].local_size >= 0)
            snprintf(local, sizeof(local), "%lld", (long long)rows[i].local_size);
        if (rows[i].remote_size >= 0)
            snprintf(remote, sizeof(remote), "%lld", (long long)rows[i].remote_size);
        printf("%-28s %-22s %14s %14s\n", rows[i].name, when, local, remote);
    }
    if (rc)
        fprintf(stderr, "herald: cannot list the remote backups: %s\n", herald_error_message(&err));
    free(rows);
    return rc ? 1 : 0;
}

int cli_backup(struct app *app, int argc, char **argv)
{
    static const char usage[] =
        "usage: herald backup [FILE]\n       herald backup list\n\n"
        "Writes a consistent copy of the live database, verified and encrypted (AES-256-GCM)\n"
        "with HERALD_BACKUP_KEY_FILE, which is created on first use. Without FILE the backup\n"
        "goes to HERALD_BACKUP_DIR as herald-YYYYMMDDTHHMMSSZ.hbk, is uploaded when\n"
        "HERALD_BACKUP_S3_URL is set, and backups older than HERALD_BACKUP_KEEP_DAYS are\n"
        "deleted. `list` shows local and remote backups. Safe while the server runs.\n";
    int status = usage_status(argc, argv, usage);
    if (status >= 0)
        return status;
    struct backup_opts o;
    cli_backup_opts(&app->cfg, &o);
    if (argc == 1)
        return backup_named(app, &o);
    if (!strcmp(argv[1], "list"))
        return backup_list_cmd(&o);
    return backup_to_file(app, &o, argv[1]);
}
