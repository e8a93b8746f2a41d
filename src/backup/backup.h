/* Backups: always encrypted (AES-256-GCM, authenticated) with a key file created on first use;
 * plaintext only ever inside a private 0700 directory removed on exit and on SIGINT/SIGTERM;
 * named, listed and pruned in a backup directory; copied off-site to S3; and the "backup" job
 * kind that the schedule queues.
 *
 * Backup files are named herald-YYYYMMDDTHHMMSSZ.hbk (UTC); the name carries the time used
 * for retention, locally and remotely. */
#ifndef HERALD_BACKUP_BACKUP_H
#define HERALD_BACKUP_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backup/s3.h"
#include "base/crypto.h"
#include "base/err.h"
#include "store/store.h"

struct jobs;

struct backup_opts {
    const char *dir;      /* where named backups go (created 0700) */
    const char *key_file; /* the AES key; created on first backup when missing */
    int keep_days;        /* retention: older named backups are deleted (0: keep all) */
    struct s3_opts s3;    /* s3.url "" = no off-site copy */
};

/* ---- the key ---- */
/* Loads the key; when the file does not exist and `create` is set, creates it (0600, its
 * directory 0700) and sets *created. HERALD_ERR_NOT_FOUND (missing, not creating),
 * HERALD_ERR_CONFIG (unreadable or malformed), with a message in err. */
enum herald_err backup_key_load(const char *path, bool create, uint8_t key[CRYPTO_AES_KEY_LEN],
                                bool *created, struct herald_error *err);

/* ---- the private directory ---- */
struct backup_tmp {
    char dir[4096];     /* "" until opened */
    char plain[4200];   /* dir/db: the only plaintext copy */
    char fetched[4200]; /* dir/fetched.hbk: a downloaded (encrypted) backup */
};
/* Creates a 0700 directory ".herald-tmp-PID-XXXXXX" inside `near` (created 0700 when missing) and
 * registers it for removal on SIGINT/SIGTERM (handlers installed here; the signal is then
 * re-raised). HERALD_ERR_IO. */
enum herald_err backup_tmp_open(const char *near, struct backup_tmp *t);
/* Also removes `path` (a partial output outside the directory) on a signal. */
void backup_tmp_track(const struct backup_tmp *t, const char *path);
/* Removes the plaintext and the directory, and unregisters it. Safe on a closed one. */
void backup_tmp_close(struct backup_tmp *t);
/* Removes private directories left by a killed process (kill -9) inside `near`: its pid gone
 * and 10 minutes old, or a day old. Never one a running backup uses. */
void backup_tmp_sweep(const char *near);

/* ---- writing and reading ---- */
/* Copies the live database into tmp->plain, verifies it, encrypts it into `dest` (through
 * dest.partial, 0600, renamed when complete). The plaintext is removed before returning. */
enum herald_err backup_write(struct store *st, const uint8_t key[CRYPTO_AES_KEY_LEN],
                             const char *dest, struct backup_tmp *tmp, struct herald_error *err);
/* Checks that `src` is an authenticated Herald backup for this key and decrypts it into
 * tmp->plain, then verifies it as a backup of this backend. HERALD_ERR_BACKUP_INVALID for
 * anything else (plaintext, foreign, damaged, wrong key), with a message in err. */
enum herald_err backup_open(struct store *st, const uint8_t key[CRYPTO_AES_KEY_LEN],
                            const char *src, struct backup_tmp *tmp, struct herald_error *err);

/* ---- named backups in the directory, locally and remotely ---- */
/* The name for a backup taken at `ms` (UTC), e.g. herald-20261126T111500Z.hbk. */
void backup_name(int64_t ms, char out[64]);
/* The time in a backup's name; false for a name that is not one of ours. */
bool backup_name_time(const char *name, int64_t *ms);

struct backup_result {
    char path[4200];
    int64_t size;
    bool uploaded;
    int pruned_local, pruned_remote;
};
/* The whole scheduled run: a named backup in opts->dir, its upload, then retention. The key
 * is created on first use (*key_created). A failed upload fails the run (the local file
 * stays and is not written again by a retry that passes `reuse` = its path). */
enum herald_err backup_run(struct store *st, const struct backup_opts *opts, const char *reuse,
                           struct backup_result *out, bool *key_created, struct herald_error *err);
/* Deletes named backups older than keep_days, locally and remotely. */
enum herald_err backup_prune(const struct backup_opts *opts, int64_t now_ms, int *local,
                             int *remote, struct herald_error *err);

struct backup_entry {
    char name[64];
    int64_t time_ms;
    int64_t local_size, remote_size; /* -1: not there */
};
/* Named backups, local and remote merged, newest first. Allocates *out (free()). A remote
 * that cannot be listed is an error (the local list is still returned in *out). */
enum herald_err backup_list(const struct backup_opts *opts, struct backup_entry **out,
                            size_t *count, struct herald_error *err);
/* The time of the newest named backup in `dir` (0: none). */
int64_t backup_last_success_ms(const char *dir);

/* ---- the job kind ---- */
struct backup_kind;
/* Registers the "backup" kind (its params are {}); opts is copied, its strings must outlive
 * the jobs layer. */
enum herald_err backup_register(struct jobs *j, struct store *st, const struct backup_opts *opts,
                                struct backup_kind **out);
void backup_kind_free(struct backup_kind *k);

#endif
