/* SQLite backend: WAL mode, a busy timeout, one connection per pooled slot (each used by one
 * thread at a time, so SQLITE_OPEN_NOMUTEX), statements prepared once per connection. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "store/internal.h"

struct sqlite_state {
    char *path;
    int lock_fd;
};

struct sqlite_conn {
    sqlite3 *db;
    sqlite3_stmt *stmts[STMT__COUNT];
    bool sync_full;
};

static int map_error(sqlite3 *db, int rc, const char *what)
{
    int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        return HERALD_ERR_DB_SOFT;
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return HERALD_ERR_DUPLICATE;
    log_error("sqlite error", json_pack("{s:s, s:i, s:s}", "op", what, "code", rc, "error",
                                        db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    if (primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN)
        return HERALD_ERR_IO;
    return HERALD_ERR_DB;
}

static int ensure_parent_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return HERALD_ERR_NOMEM;
    const char *dir = dirname(copy);
    int rc = HERALD_OK;
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        log_error("cannot create database directory", json_pack("{s:s}", "dir", dir));
        rc = HERALD_ERR_IO;
    }
    free(copy);
    return rc;
}

static int sq_open(struct store *st, const struct store_opts *opts)
{
    (void)opts;
    struct sqlite_state *s = calloc(1, sizeof(*s));
    if (!s)
        return HERALD_ERR_NOMEM;
    s->lock_fd = -1;
    s->path = strdup(st->url + strlen("sqlite:"));
    if (!s->path || !*s->path) {
        free(s->path);
        free(s);
        return HERALD_ERR_CONFIG;
    }
    int rc = ensure_parent_dir(s->path);
    if (rc) {
        free(s->path);
        free(s);
        return rc;
    }
    st->be_state = s;
    return HERALD_OK;
}

static void sq_close(struct store *st)
{
    struct sqlite_state *s = st->be_state;
    if (!s)
        return;
    free(s->path);
    free(s);
    st->be_state = NULL;
}

static int open_db(const char *path, int flags, sqlite3 **out)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = map_error(db, rc, "open");
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, 5000);
    *out = db;
    return HERALD_OK;
}

static int sq_connect(struct store *st, void **out)
{
    struct sqlite_state *s = st->be_state;
    struct sqlite_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return HERALD_ERR_NOMEM;
    int rc = open_db(s->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &c->db);
    if (rc) {
        free(c);
        return rc;
    }
    c->sync_full = st->sqlite_sync_full;
    const char *pragmas = c->sync_full ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                                         "PRAGMA foreign_keys=ON;"
                                       : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                                         "PRAGMA foreign_keys=ON;";
    int src = sqlite3_exec(c->db, pragmas, NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        rc = map_error(c->db, src, "pragmas");
        sqlite3_close(c->db);
        free(c);
        return rc;
    }
    *out = c;
    return HERALD_OK;
}

static void sq_disconnect(void *conn)
{
    struct sqlite_conn *c = conn;
    if (!c)
        return;
    for (int i = 0; i < STMT__COUNT; i++)
        sqlite3_finalize(c->stmts[i]);
    sqlite3_close(c->db);
    free(c);
}

static bool sq_usable(void *conn)
{
    (void)conn;
    return true;
}

static int sq_exec(void *conn, const char *sql)
{
    struct sqlite_conn *c = conn;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? HERALD_OK : map_error(c->db, rc, "exec");
}

/* "$1" → "?1": SQLite's numbered parameters keep each number's position. */
static char *to_sqlite_params(const char *sql)
{
    char *out = strdup(sql);
    if (!out)
        return NULL;
    for (char *p = out; *p; p++)
        if (*p == '$' && p[1] >= '0' && p[1] <= '9')
            *p = '?';
    return out;
}

static int get_stmt(struct sqlite_conn *c, enum store_stmt id, sqlite3_stmt **out)
{
    if (!c->stmts[id]) {
        char *sql = to_sqlite_params(store_stmt_sql(id, DIALECT_SQLITE));
        if (!sql)
            return HERALD_ERR_NOMEM;
        int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->stmts[id], NULL);
        free(sql);
        if (rc != SQLITE_OK)
            return map_error(c->db, rc, "prepare");
    }
    *out = c->stmts[id];
    return HERALD_OK;
}

static int sq_query(void *conn, enum store_stmt id, const struct store_val *params, int nparams,
                    struct store_res *out)
{
    struct sqlite_conn *c = conn;
    sqlite3_stmt *stmt = NULL;
    memset(out, 0, sizeof(*out));
    int rc = get_stmt(c, id, &stmt);
    if (rc)
        return rc;
    for (int i = 0; i < nparams; i++) {
        int brc;
        if (params[i].type == SV_NULL)
            brc = sqlite3_bind_null(stmt, i + 1);
        else if (params[i].type == SV_INT)
            brc = sqlite3_bind_int64(stmt, i + 1, params[i].i);
        else
            brc = sqlite3_bind_text(stmt, i + 1, params[i].text, -1, SQLITE_STATIC);
        if (brc != SQLITE_OK) {
            rc = map_error(c->db, brc, "bind");
            goto done;
        }
    }
    int ncols = sqlite3_column_count(stmt);
    size_t cap = 0;
    for (;;) {
        int src = sqlite3_step(stmt);
        if (src == SQLITE_DONE)
            break;
        if (src != SQLITE_ROW) {
            rc = map_error(c->db, sqlite3_extended_errcode(c->db), "step");
            goto done;
        }
        if ((size_t)(out->nrows + 1) * (size_t)ncols > cap) {
            size_t ncap = cap ? cap * 2 : (size_t)ncols * 8;
            char **cells = realloc(out->cells, ncap * sizeof(char *));
            if (!cells) {
                rc = HERALD_ERR_NOMEM;
                goto done;
            }
            out->cells = cells;
            cap = ncap;
        }
        out->ncols = ncols;
        char **row = out->cells + (size_t)out->nrows * (size_t)ncols;
        out->nrows++;
        for (int col = 0; col < ncols; col++) {
            const unsigned char *t = sqlite3_column_text(stmt, col);
            size_t len = t ? (size_t)sqlite3_column_bytes(stmt, col) : 0;
            row[col] = t ? store_res_copy(out, (const char *)t, len) : NULL;
            if (t && !row[col]) {
                for (int k = col + 1; k < ncols; k++)
                    row[k] = NULL;
                rc = HERALD_ERR_NOMEM;
                goto done;
            }
        }
    }
    out->ncols = ncols;
    out->changes = sqlite3_changes64(c->db);
done:
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (rc)
        store_res_free(out);
    return rc;
}

static int copy_database(sqlite3 *from, sqlite3 *to)
{
    sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
    if (!b)
        return map_error(to, sqlite3_errcode(to), "backup_init");
    int rc;
    do {
        rc = sqlite3_backup_step(b, 256);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            sqlite3_sleep(20);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    return rc == SQLITE_DONE ? HERALD_OK : map_error(to, rc, "backup_step");
}

static int sq_backup(struct store *st, const char *path)
{
    struct sqlite_state *s = st->be_state;
    sqlite3 *src = NULL, *dst = NULL;
    unlink(path);
    int rc = open_db(s->path, SQLITE_OPEN_READONLY, &src);
    if (!rc)
        rc = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &dst);
    if (!rc)
        rc = copy_database(src, dst);
    /* A backup is one self-contained file: no WAL beside it. */
    if (!rc && sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK)
        rc = HERALD_ERR_IO;
    sqlite3_close(src);
    sqlite3_close(dst);
    return rc;
}

static int check_integrity_cb(void *arg, int ncols, char **vals, char **names)
{
    (void)names;
    int *ok = arg;
    if (ncols < 1 || !vals[0] || strcmp(vals[0], "ok") != 0)
        *ok = 0;
    return 0;
}

static int sq_verify_backup(struct store *st, const char *path)
{
    (void)st;
    sqlite3 *db = NULL;
    int rc = open_db(path, SQLITE_OPEN_READONLY, &db);
    if (rc)
        return HERALD_ERR_BACKUP_INVALID;
    int ok = 1;
    if (sqlite3_exec(db, "PRAGMA integrity_check", check_integrity_cb, &ok, NULL) != SQLITE_OK ||
        !ok)
        rc = HERALD_ERR_BACKUP_INVALID;
    sqlite3_stmt *stmt = NULL;
    if (!rc && sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM schema_migrations", -1, &stmt, NULL) !=
                   SQLITE_OK)
        rc = HERALD_ERR_BACKUP_INVALID;
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rc;
}

static int sq_restore(struct store *st, const char *path)
{
    struct sqlite_state *s = st->be_state;
    sqlite3 *src = NULL, *dst = NULL;
    int rc = open_db(path, SQLITE_OPEN_READONLY, &src);
    if (!rc)
        rc = open_db(s->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &dst);
    if (!rc)
        rc = copy_database(src, dst);
    sqlite3_close(src);
    sqlite3_close(dst);
    return rc;
}

static int sq_lock_instance(struct store *st, bool exclusive)
{
    struct sqlite_state *s = st->be_state;
    if (s->lock_fd < 0) {
        char lock_path[4200];
        snprintf(lock_path, sizeof(lock_path), "%s.lock", s->path);
        s->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
        if (s->lock_fd < 0)
            return HERALD_ERR_IO;
    }
    if (flock(s->lock_fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0)
        return errno == EWOULDBLOCK ? HERALD_ERR_CONFLICT : HERALD_ERR_IO;
    return HERALD_OK;
}

static void sq_unlock_instance(struct store *st)
{
    struct sqlite_state *s = st->be_state;
    if (s && s->lock_fd >= 0) {
        close(s->lock_fd);
        s->lock_fd = -1;
    }
}

const struct store_backend store_sqlite_backend = {
    .name = "sqlite",
    .dialect = DIALECT_SQLITE,
    .open = sq_open,
    .close = sq_close,
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .usable = sq_usable,
    .exec = sq_exec,
    .query = sq_query,
    .begin_write_sql = "BEGIN IMMEDIATE",
    .begin_read_sql = "BEGIN DEFERRED",
    .migrate_lock_sql = NULL,
    .backup = sq_backup,
    .verify_backup = sq_verify_backup,
    .restore = sq_restore,
    .lock_instance = sq_lock_instance,
    .unlock_instance = sq_unlock_instance,
};
