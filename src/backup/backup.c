/* Owns the backup key file, the private 0700 directory that holds the only plaintext copy
 * (removed on SIGINT/SIGTERM too), and writing/reading one encrypted backup file. */
#include "backup/backup.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

/* ---- the key ---- */

/* mkdir -p with mode 0700 for the directories that are created. */
static int make_dirs(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return HERALD_ERR_IO;
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return HERALD_ERR_IO;
    return HERALD_OK;
}

static void parent_dir(const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "%s", path);
    char *slash = strrchr(out, '/');
    if (!slash)
        snprintf(out, cap, ".");
    else if (slash == out)
        out[1] = '\0';
    else
        *slash = '\0';
}

enum herald_err backup_key_load(const char *path, bool create, uint8_t key[CRYPTO_AES_KEY_LEN],
                                bool *created, struct herald_error *err)
{
    *created = false;
    if (access(path, F_OK) != 0) {
        if (!create)
            return herald_error_set(err, HERALD_ERR_NOT_FOUND, "HERALD_BACKUP_KEY_FILE",
                                    "the backup key %s does not exist", path);
        char dir[4096];
        parent_dir(path, dir, sizeof(dir));
        int rc = make_dirs(dir);
        if (!rc)
            rc = crypto_create_key_file(path);
        if (rc && rc != HERALD_ERR_DUPLICATE)
            return herald_error_set(err, HERALD_ERR_IO, "HERALD_BACKUP_KEY_FILE",
                                    "cannot create the backup key %s", path);
        *created = rc == HERALD_OK;
    }
    int rc = crypto_load_key_file(path, key);
    if (rc)
        return herald_error_set(err, HERALD_ERR_CONFIG, "HERALD_BACKUP_KEY_FILE",
                                "HERALD_BACKUP_KEY_FILE (%s) must hold 32 raw bytes or 64 hex "
                                "digits",
                                path);
    return HERALD_OK;
}

/* ---- the private directory and the signals that must not leave plaintext behind ---- */

/* A signal handler can reach only static storage: the directories open in this process, with
 * every path to remove written out beforehand (snprintf is not async-signal-safe). */
#define TMP_SLOTS 4
#define TMP_FILES 7
static struct {
    volatile sig_atomic_t used;
    char files[TMP_FILES][4300];
    char dir[4096];
} tmp_registry[TMP_SLOTS];
/* Serialises the threads that open and close directories (job workers); the handler only reads. */
static pthread_mutex_t tmp_registry_mu = PTHREAD_MUTEX_INITIALIZER;

static void remove_slot(int i)
{
    /* A child (pg_dump) may create its file a moment later: try again. */
    for (int round = 0; round < 20; round++) {
        for (int f = 0; f < TMP_FILES; f++)
            if (tmp_registry[i].files[f][0])
                unlink(tmp_registry[i].files[f]);
        if (rmdir(tmp_registry[i].dir) == 0 || errno == ENOENT)
            return;
        usleep(10000);
    }
}

static void on_fatal_signal(int sig)
{
    for (int i = 0; i < TMP_SLOTS; i++)
        if (tmp_registry[i].used)
            remove_slot(i);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        struct sigaction old;
        /* Leave alone a signal the process ignores or waits for (serve's sigwait). */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
            sigaction(sigs[i], &sa, NULL);
    }
}

static void register_tmp(const struct backup_tmp *t)
{
    static const char *const suffixes[TMP_FILES] = {"",      "-journal", "-wal", "-shm",
                                                    ".list", NULL,       NULL};
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_mutex_lock(&tmp_registry_mu);
    for (int i = 0; i < TMP_SLOTS; i++) {
        if (tmp_registry[i].used)
            continue;
        for (int f = 0; f < TMP_FILES; f++)
            if (suffixes[f])
                snprintf(tmp_registry[i].files[f], sizeof(tmp_registry[i].files[f]), "%s%s",
                         t->plain, suffixes[f]);
        snprintf(tmp_registry[i].files[5], sizeof(tmp_registry[i].files[0]), "%s", t->fetched);
        tmp_registry[i].files[6][0] = '\0';
        snprintf(tmp_registry[i].dir, sizeof(tmp_registry[i].dir), "%s", t->dir);
        tmp_registry[i].used = 1;
        break;
    }
    install_handlers();
    pthread_mutex_unlock(&tmp_registry_mu);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

enum herald_err backup_tmp_open(const char *near, struct backup_tmp *t)
{
    memset(t, 0, sizeof(*t));
    if (make_dirs(near))
        return HERALD_ERR_IO;
    snprintf(t->dir, sizeof(t->dir), "%s/.herald-tmp-%ld-XXXXXX", near, (long)getpid());
    if (!mkdtemp(t->dir)) { /* mkdtemp creates it 0700 */
        t->dir[0] = '\0';
        return HERALD_ERR_IO;
    }
    snprintf(t->plain, sizeof(t->plain), "%s/db", t->dir);
    snprintf(t->fetched, sizeof(t->fetched), "%s/fetched.hbk", t->dir);
    register_tmp(t);
    return HERALD_OK;
}

void backup_tmp_track(const struct backup_tmp *t, const char *path)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_mutex_lock(&tmp_registry_mu);
    for (int i = 0; i < TMP_SLOTS; i++)
        if (tmp_registry[i].used && !strcmp(tmp_registry[i].dir, t->dir))
            snprintf(tmp_registry[i].files[6], sizeof(tmp_registry[i].files[6]), "%s", path);
    pthread_mutex_unlock(&tmp_registry_mu);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void backup_tmp_close(struct backup_tmp *t)
{
    if (!t->dir[0])
        return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_mutex_lock(&tmp_registry_mu);
    for (int i = 0; i < TMP_SLOTS; i++)
        if (tmp_registry[i].used && !strcmp(tmp_registry[i].dir, t->dir)) {
            remove_slot(i);
            tmp_registry[i].used = 0;
        }
    pthread_mutex_unlock(&tmp_registry_mu);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    rmdir(t->dir);
    t->dir[0] = '\0';
}

/* A directory left by a process that is gone: its pid (in the name) no longer runs here and it
 * is 10 minutes old, or it is a day old (another host's, on shared storage). */
static bool abandoned(const char *path, const char *name)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return false;
    time_t age = time(NULL) - sb.st_mtime;
    long pid = strtol(name + 12, NULL, 10);
    bool dead = pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
    return (dead && age > 600) || age > 86400;
}

void backup_tmp_sweep(const char *near)
{
    DIR *d = opendir(near);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char sub[4400], path[4700];
        snprintf(sub, sizeof(sub), "%s/%s", near, e->d_name);
        if (strncmp(e->d_name, ".herald-tmp-", 12) != 0 || !abandoned(sub, e->d_name))
            continue;
        DIR *s = opendir(sub);
        struct dirent *f;
        while (s && (f = readdir(s)))
            if (f->d_name[0] != '.') {
                snprintf(path, sizeof(path), "%s/%s", sub, f->d_name);
                unlink(path);
            }
        if (s)
            closedir(s);
        rmdir(sub);
        log_info("removed a backup directory left by a killed process", NULL);
    }
    if (d)
        closedir(d);
}

/* ---- one backup file ---- */

enum herald_err backup_write(struct store *st, const uint8_t key[CRYPTO_AES_KEY_LEN],
                             const char *dest, struct backup_tmp *tmp, struct herald_error *err)
{
    char partial[4300];
    snprintf(partial, sizeof(partial), "%s.partial", dest);
    backup_tmp_track(tmp, partial);
    mode_t old = umask(077);
    int rc = store_backup(st, tmp->plain);
    if (rc) {
        herald_error_set(err, rc, "", "backup failed: %s", herald_strerror(rc));
        goto done;
    }
    rc = store_verify_backup(st, tmp->plain);
    if (rc) {
        herald_error_set(err, rc, "", "the new backup does not verify");
        goto done;
    }
    rc = crypto_encrypt_file(key, tmp->plain, partial);
    if (rc) {
        herald_error_set(err, rc, "", "cannot encrypt the backup into %s", partial);
        goto done;
    }
    if (rename(partial, dest) != 0)
        rc = herald_error_set(err, HERALD_ERR_IO, "", "cannot write %s", dest);
done:
    unlink(tmp->plain);
    unlink(partial);
    umask(old);
    return rc;
}

enum herald_err backup_open(struct store *st, const uint8_t key[CRYPTO_AES_KEY_LEN],
                            const char *src, struct backup_tmp *tmp, struct herald_error *err)
{
    if (!crypto_file_is_encrypted(src))
        return herald_error_set(err, HERALD_ERR_BACKUP_INVALID, "",
                                "%s is not an encrypted Herald backup; refusing it (a backup key "
                                "is configured, so only authenticated backups are restored)",
                                src);
    mode_t old = umask(077);
    int rc = crypto_decrypt_file(key, src, tmp->plain);
    umask(old);
    if (rc == HERALD_ERR_BACKUP_INVALID)
        return herald_error_set(err, rc, "",
                                "cannot decrypt the backup (wrong key or damaged file)");
    if (rc)
        return herald_error_set(err, rc, "", "cannot decrypt the backup");
    rc = store_verify_backup(st, tmp->plain);
    if (rc) {
        unlink(tmp->plain);
        return herald_error_set(err, HERALD_ERR_BACKUP_INVALID, "",
                                "the backup does not verify; the database was not touched");
    }
    return HERALD_OK;
}
