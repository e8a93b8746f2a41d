/* PostgreSQL backend (libpq): statements prepared per connection on first use, SQLSTATEs
 * mapped onto soft failures, duplicates and errors; backups through pg_dump/pg_restore. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "store/internal.h"
#include "store/postgres/tools.h"

/* Advisory lock key: servers hold it shared, restore takes it exclusively. */
#define INSTANCE_LOCK_KEY "1213352004"

struct pg_state {
    PGconn *lock_conn;
};

struct pg_conn {
    PGconn *conn;
    bool prepared[STMT__COUNT];
};

static int pg_connect_url(const char *url, PGconn **out)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {url, "5", "herald", NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn)
        return HERALD_ERR_NOMEM;
    if (PQstatus(conn) != CONNECTION_OK) {
        /* The message may name the host but never the password. */
        log_error("postgres connect failed", json_pack("{s:s}", "error", PQerrorMessage(conn)));
        PQfinish(conn);
        return HERALD_ERR_DB_SOFT;
    }
    *out = conn;
    return HERALD_OK;
}

static void ignore_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static int map_result(PGconn *conn, PGresult *res, const char *what)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return HERALD_OK;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (PQstatus(conn) != CONNECTION_OK)
        return HERALD_ERR_DB_SOFT;
    if (state) {
        if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strncmp(state, "08", 2) ||
            !strcmp(state, "57P01") || !strcmp(state, "57P02") || !strcmp(state, "57P03") ||
            !strcmp(state, "55P03"))
            return HERALD_ERR_DB_SOFT;
        if (!strcmp(state, "23505"))
            return HERALD_ERR_DUPLICATE;
    }
    log_error("postgres error", json_pack("{s:s, s:s, s:s}", "op", what, "sqlstate",
                                          state ? state : "", "error", PQerrorMessage(conn)));
    return HERALD_ERR_DB;
}

static int pg_open(struct store *st, const struct store_opts *opts)
{
    (void)opts;
    st->be_state = calloc(1, sizeof(struct pg_state));
    return st->be_state ? HERALD_OK : HERALD_ERR_NOMEM;
}

static void pg_close(struct store *st)
{
    free(st->be_state);
    st->be_state = NULL;
}

static int pg_connect(struct store *st, void **out)
{
    struct pg_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return HERALD_ERR_NOMEM;
    int rc = pg_connect_url(st->url, &c->conn);
    if (rc) {
        free(c);
        return rc;
    }
    PQsetNoticeProcessor(c->conn, ignore_notice, NULL);
    *out = c;
    return HERALD_OK;
}

static void pg_disconnect(void *conn)
{
    struct pg_conn *c = conn;
    if (!c)
        return;
    PQfinish(c->conn);
    free(c);
}

static bool pg_usable(void *conn)
{
    struct pg_conn *c = conn;
    return PQstatus(c->conn) == CONNECTION_OK;
}

static int pg_exec(void *conn, const char *sql)
{
    struct pg_conn *c = conn;
    PGresult *res = PQexec(c->conn, sql);
    int rc = map_result(c->conn, res, "exec");
    PQclear(res);
    return rc;
}

/* Parameters one statement binds: a row written in one statement rather than two saves a
 * round trip (OTA revisions bind 25). */
#define PG_MAX_PARAMS 32

static void release_result(void *res)
{
    PQclear(res);
}

static int pg_query(void *conn, enum store_stmt id, const struct store_val *params, int nparams,
                    struct store_res *out)
{
    struct pg_conn *c = conn;
    char name[16];
    memset(out, 0, sizeof(*out));
    snprintf(name, sizeof(name), "h%d", (int)id);
    if (!c->prepared[id]) {
        PGresult *res = PQprepare(c->conn, name, store_stmt_sql(id, DIALECT_POSTGRES), 0, NULL);
        int rc = map_result(c->conn, res, "prepare");
        PQclear(res);
        if (rc)
            return rc;
        c->prepared[id] = true;
    }
    const char *values[PG_MAX_PARAMS];
    char ints[PG_MAX_PARAMS][24];
    if (nparams > PG_MAX_PARAMS)
        return HERALD_ERR_INTERNAL;
    for (int i = 0; i < nparams; i++) {
        if (params[i].type == SV_NULL) {
            values[i] = NULL;
        } else if (params[i].type == SV_INT) {
            snprintf(ints[i], sizeof(ints[i]), "%" PRId64, params[i].i);
            values[i] = ints[i];
        } else {
            values[i] = params[i].text;
        }
    }
    PGresult *res = PQexecPrepared(c->conn, name, nparams, values, NULL, NULL, 0);
    int rc = map_result(c->conn, res, "query");
    if (rc) {
        PQclear(res);
        return rc;
    }
    int nrows = PQntuples(res), ncols = PQnfields(res);
    if (nrows > 0) {
        out->cells = calloc((size_t)nrows * (size_t)ncols, sizeof(char *));
        if (!out->cells) {
            PQclear(res);
            return HERALD_ERR_NOMEM;
        }
    }
    out->nrows = nrows;
    out->ncols = ncols;
    /* The cells point into the PGresult, which the result keeps until store_res_free(). */
    for (int r = 0; r < nrows; r++)
        for (int col = 0; col < ncols; col++)
            if (!PQgetisnull(res, r, col))
                out->cells[r * ncols + col] = PQgetvalue(res, r, col);
    const char *tuples = PQcmdTuples(res);
    out->changes = tuples && *tuples ? strtoll(tuples, NULL, 10) : 0;
    out->owner = res;
    out->release = release_result;
    return HERALD_OK;
}

static int pg_lock_instance(struct store *st, bool exclusive)
{
    struct pg_state *s = st->be_state;
    if (!s->lock_conn) {
        int rc = pg_connect_url(st->url, &s->lock_conn);
        if (rc)
            return rc;
        PQsetNoticeProcessor(s->lock_conn, ignore_notice, NULL);
    }
    const char *sql = exclusive ? "SELECT pg_try_advisory_lock(" INSTANCE_LOCK_KEY ")"
                                : "SELECT pg_try_advisory_lock_shared(" INSTANCE_LOCK_KEY ")";
    PGresult *res = PQexec(s->lock_conn, sql);
    int rc = map_result(s->lock_conn, res, "lock");
    if (!rc && (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0))
        rc = HERALD_ERR_CONFLICT;
    PQclear(res);
    return rc;
}

static void pg_unlock_instance(struct store *st)
{
    struct pg_state *s = st->be_state;
    if (s && s->lock_conn) {
        PQfinish(s->lock_conn);
        s->lock_conn = NULL;
    }
}

const struct store_backend store_postgres_backend = {
    .name = "postgres",
    .dialect = DIALECT_POSTGRES,
    .open = pg_open,
    .close = pg_close,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .usable = pg_usable,
    .exec = pg_exec,
    .query = pg_query,
    .begin_write_sql = "BEGIN",
    .begin_read_sql = "BEGIN READ ONLY",
    .migrate_lock_sql = "SELECT pg_advisory_xact_lock(1213352005)",
    .backup = pg_tool_backup,
    .verify_backup = pg_tool_verify_backup,
    .restore = pg_tool_restore,
    .lock_instance = pg_lock_instance,
    .unlock_instance = pg_unlock_instance,
};
