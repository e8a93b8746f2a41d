/* herald backup FILE / herald restore FILE: consistent online copies, verified, optionally
 * encrypted with AES-256-GCM (HERALD_BACKUP_KEY_FILE); restore refuses while a server runs. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crypto.h"
#include "cli/cli.h"
#include "store/store.h"

static bool wants_help(int argc, char **argv, const char *usage)
{
    if (argc == 2 && strcmp(argv[1], "--help") != 0 && strcmp(argv[1], "-h") != 0)
        return false;
    bool asked = argc == 2;
    fputs(usage, asked ? stdout : stderr);
    return true;
}

static int load_backup_key(struct app *app, uint8_t key[CRYPTO_AES_KEY_LEN], bool *have)
{
    *have = *app->cfg.backup_key_file != '\0';
    if (!*have)
        return HERALD_OK;
    enum herald_err rc = crypto_load_key_file(app->cfg.backup_key_file, key);
    if (rc)
        fprintf(stderr,
                "herald: HERALD_BACKUP_KEY_FILE must hold 32 raw bytes or 64 hex digits (%s)\n",
                app->cfg.backup_key_file);
    return rc;
}

int cli_backup(struct app *app, int argc, char **argv)
{
    static const char usage[] =
        "usage: herald backup FILE\n\nWrites a consistent copy of the live database to FILE "
        "(SQLite: online backup;\nPostgreSQL: pg_dump custom format), verifies it, and encrypts "
        "it when\nHERALD_BACKUP_KEY_FILE is set. Safe while the server runs.\n";
    if (wants_help(argc, argv, usage))
        return argc == 2 ? 0 : 2;
    const char *path = argv[1];
    uint8_t key[CRYPTO_AES_KEY_LEN];
    bool encrypt;
    if (load_backup_key(app, key, &encrypt))
        return 1;
    struct store *st;
    if (cli_open_store(app, &st))
        return 1;
    char plain[4200], partial[4200];
    snprintf(plain, sizeof(plain), "%s.plain.partial", path);
    snprintf(partial, sizeof(partial), "%s.partial", path);
    mode_t old = umask(077);
    int status = 1;
    enum herald_err rc = store_backup(st, plain);
    if (rc) {
        cli_error("backup failed", rc);
        goto done;
    }
    rc = store_verify_backup(st, plain);
    if (rc) {
        cli_error("the new backup does not verify", rc);
        goto done;
    }
    if (encrypt) {
        rc = crypto_encrypt_file(key, plain, partial);
        if (rc) {
            cli_error("cannot encrypt the backup", rc);
            goto done;
        }
    } else if (rename(plain, partial) != 0) {
        cli_error("cannot write the backup", HERALD_ERR_IO);
        goto done;
    }
    if (rename(partial, path) != 0) {
        cli_error("cannot write the backup", HERALD_ERR_IO);
        goto done;
    }
    struct stat sb;
    stat(path, &sb);
    fprintf(stderr, "herald: backup of %s written to %s (%lld bytes%s)\n", store_backend_name(st),
            path, (long long)sb.st_size, encrypt ? ", encrypted" : "");
    status = 0;
done:
    unlink(plain);
    unlink(partial);
    umask(old);
    memset(key, 0, sizeof(key));
    store_close(st);
    return status;
}

/* Takes the instance lock, decrypts when needed, verifies, restores and reads the result back;
 * prints what went wrong. Returns the exit status. */
static int restore_from(struct store *st, const char *path, const uint8_t *key, bool encrypted)
{
    char plain[4200];
    snprintf(plain, sizeof(plain), "%s.restore.partial", path);
    const char *source = path;
    int pending = 0;
    enum herald_err rc = store_lock_instance(st, true);
    if (rc == HERALD_ERR_CONFLICT)
        fprintf(stderr, "herald restore: a Herald server is running on this database; "
                        "stop it first\n");
    else if (rc)
        cli_error("cannot take the instance lock", rc);
    if (rc)
        goto done;
    if (encrypted) {
        rc = crypto_decrypt_file(key, path, plain);
        if (rc) {
            cli_error(rc == HERALD_ERR_BACKUP_INVALID
                          ? "cannot decrypt the backup (wrong key or damaged file)"
                          : "cannot decrypt the backup",
                      rc);
            goto done;
        }
        source = plain;
    }
    rc = store_verify_backup(st, source);
    if (rc) {
        cli_error("the backup does not verify; the database was not touched", rc);
        goto done;
    }
    rc = store_restore(st, source);
    if (rc) {
        cli_error("restore failed", rc);
        goto done;
    }
    rc = store_migrations_pending(st, &pending);
    if (rc) {
        cli_error("restored, but the database cannot be read back", rc);
        goto done;
    }
    fprintf(stderr, "herald: restored %s from %s%s\n", store_backend_name(st), path,
            pending ? "; migrations are pending: run herald migrate up" : "");
done:
    unlink(plain);
    return rc ? 1 : 0;
}

int cli_restore(struct app *app, int argc, char **argv)
{
    static const char usage[] =
        "usage: herald restore FILE\n\nReplaces the contents of the configured database with "
        "the backup in FILE,\nafter checking it. Refuses while a Herald server is running on the "
        "database.\nEncrypted backups need the HERALD_BACKUP_KEY_FILE they were made with.\n";
    if (wants_help(argc, argv, usage))
        return argc == 2 ? 0 : 2;
    const char *path = argv[1];
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "herald restore: cannot read %s\n", path);
        return 1;
    }
    uint8_t key[CRYPTO_AES_KEY_LEN];
    bool have_key;
    if (load_backup_key(app, key, &have_key))
        return 1;
    bool encrypted = crypto_file_is_encrypted(path);
    if (encrypted && !have_key) {
        fprintf(stderr, "herald restore: %s is encrypted; set HERALD_BACKUP_KEY_FILE\n", path);
        return 1;
    }
    struct store *st;
    if (cli_open_store(app, &st))
        return 1;
    mode_t old = umask(077);
    int status = restore_from(st, path, key, encrypted);
    umask(old);
    memset(key, 0, sizeof(key));
    store_close(st);
    return status;
}
