/* herald restore FILE | s3://BUCKET/PREFIX/NAME | --remote NAME: authenticates (with the key),
 * decrypts into a private directory, verifies, then replaces the database; server stopped. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backup/backup.h"
#include "cli/cli.h"
#include "store/store.h"

struct restore_args {
    const char *source;   /* a file, or an s3:// reference */
    const char *remote;   /* --remote NAME */
    bool allow_plaintext; /* only without a key: a backup from before encryption */
};

static int parse_args(int argc, char **argv, struct restore_args *a)
{
    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--remote") && i + 1 < argc)
            a->remote = argv[++i];
        else if (!strcmp(argv[i], "--allow-plaintext"))
            a->allow_plaintext = true;
        else if (argv[i][0] != '-' && !a->source)
            a->source = argv[i];
        else
            return HERALD_ERR_INVALID;
    }
    return (!a->source) == (!a->remote) ? HERALD_ERR_INVALID : HERALD_OK;
}

/* Downloads the remote backup into tmp->fetched. */
static int fetch_remote(const struct backup_opts *o, const struct restore_args *a,
                        struct backup_tmp *tmp, struct herald_error *err)
{
    if (!*o->s3.url)
        return herald_error_set(err, HERALD_ERR_CONFIG, "HERALD_BACKUP_S3_URL",
                                "remote restore needs HERALD_BACKUP_S3_URL");
    struct s3_client *c = NULL;
    char name[256];
    int rc = s3_client_new(&o->s3, &c, err);
    if (rc)
        return rc;
    if (a->remote)
        snprintf(name, sizeof(name), "%s", a->remote);
    else
        rc = s3_ref_name(c, a->source, name, err);
    if (!rc)
        rc = s3_get_file(c, name, tmp->fetched, err);
    s3_client_free(c);
    return rc;
}

/* Without a key: only a plaintext backup, and only when asked for explicitly. */
static int check_plaintext(const char *src, const struct restore_args *a, struct store *st,
                           struct herald_error *err)
{
    if (crypto_file_is_encrypted(src))
        return herald_error_set(err, HERALD_ERR_CONFIG, "HERALD_BACKUP_KEY_FILE",
                                "%s is encrypted; set HERALD_BACKUP_KEY_FILE to its key", src);
    if (!a->allow_plaintext)
        return herald_error_set(err, HERALD_ERR_BACKUP_INVALID, "",
                                "%s is not encrypted and no backup key exists; restore an "
                                "unencrypted backup only with --allow-plaintext",
                                src);
    if (store_verify_backup(st, src))
        return herald_error_set(err, HERALD_ERR_BACKUP_INVALID, "",
                                "the backup does not verify; the database was not touched");
    return HERALD_OK;
}

static int take_lock(struct store *st, struct herald_error *err)
{
    int rc = store_lock_instance(st, true);
    if (rc == HERALD_ERR_CONFLICT)
        return herald_error_set(err, rc, "",
                                "restore: a Herald server is running on this "
                                "database; stop it first");
    if (rc)
        return herald_error_set(err, rc, "", "cannot take the instance lock");
    return HERALD_OK;
}

static int restore(struct store *st, const struct backup_opts *o, const struct restore_args *a,
                   const uint8_t *key, struct herald_error *err)
{
    struct backup_tmp tmp = {0};
    int pending = 0, rc = take_lock(st, err);
    if (rc)
        return rc;
    if ((rc = backup_tmp_open(o->dir, &tmp)))
        return herald_error_set(err, rc, "", "cannot create a private directory in %s", o->dir);
    const char *src = a->source;
    if (a->remote || !strncmp(a->source, "s3://", 5)) {
        if ((rc = fetch_remote(o, a, &tmp, err)))
            goto done;
        src = tmp.fetched;
    }
    const char *plain = tmp.plain;
    if (key)
        rc = backup_open(st, key, src, &tmp, err);
    else if (!(rc = check_plaintext(src, a, st, err)))
        plain = src;
    if (rc)
        goto done;
    if ((rc = store_restore(st, plain))) {
        herald_error_set(err, rc, "", "restore failed");
        goto done;
    }
    if ((rc = store_migrations_pending(st, &pending))) {
        herald_error_set(err, rc, "", "restored, but the database cannot be read back");
        goto done;
    }
    fprintf(stderr, "herald: restored %s from %s%s\n", store_backend_name(st),
            a->remote ? a->remote : a->source,
            pending ? "; migrations are pending: run herald migrate up" : "");
done:
    backup_tmp_close(&tmp);
    return rc;
}

int cli_restore(struct app *app, int argc, char **argv)
{
    static const char usage[] =
        "usage: herald restore FILE | s3://BUCKET/PREFIX/NAME | --remote NAME\n\n"
        "Replaces the contents of the configured database with a backup, after authenticating\n"
        "it with HERALD_BACKUP_KEY_FILE and checking it. Remote backups (HERALD_BACKUP_S3_URL)\n"
        "are downloaded into a private directory first. Refuses while a Herald server runs on\n"
        "the database. While the key exists, anything it does not authenticate is refused;\n"
        "without a key, --allow-plaintext restores an unencrypted backup from before 0.2.\n";
    struct restore_args a;
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage, stdout);
        return 0;
    }
    if (parse_args(argc, argv, &a)) {
        fputs(usage, stderr);
        return 2;
    }
    if (!a.remote && strncmp(a.source, "s3://", 5) && access(a.source, R_OK) != 0) {
        fprintf(stderr, "herald restore: cannot read %s\n", a.source);
        return 1;
    }
    struct backup_opts o;
    cli_backup_opts(&app->cfg, &o);
    uint8_t key[CRYPTO_AES_KEY_LEN];
    bool created;
    struct herald_error err = {0};
    struct store *st = NULL;
    int rc = backup_key_load(o.key_file, false, key, &created, &err);
    bool have_key = rc == HERALD_OK;
    if (rc == HERALD_ERR_NOT_FOUND)
        rc = HERALD_OK;
    if (!rc && (rc = cli_open_store(app, &st)))
        return 1;
    if (!rc)
        rc = restore(st, &o, &a, have_key ? key : NULL, &err);
    if (rc)
        fprintf(stderr, "herald: %s\n", herald_error_message(&err));
    memset(key, 0, sizeof(key));
    store_close(st);
    return rc ? 1 : 0;
}
