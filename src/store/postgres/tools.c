/* Owns running pg_dump/pg_restore: a minimal environment (PATH, HOME and PG* only, never a
 * HERALD_* secret), every parameter of the database URL kept (sslmode, sslrootcert, ...) in a
 * conninfo without the password, which goes through PGPASSWORD instead of the command line. */
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "store/internal.h"
#include "store/postgres/tools.h"

extern char **environ;

#define ENV_MAX 64

/* keyword='value' with ' and \ escaped, as libpq's conninfo syntax wants. */
static int append_kv(struct buf *b, const char *kw, const char *val)
{
    int rc = buf_printf(b, "%s%s='", b->len ? " " : "", kw);
    for (const char *p = val; !rc && *p; p++)
        rc = (*p == '\'' || *p == '\\') ? buf_printf(b, "\\%c", *p) : buf_append(b, p, 1);
    return rc ? rc : buf_append_str(b, "'");
}

/* The URL as a conninfo string without the password (*password gets a copy, or NULL). */
static int url_to_conninfo(const char *url, struct buf *out, char **password)
{
    char *err = NULL;
    *password = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &err);
    if (!opts) {
        PQfreemem(err);
        return HERALD_ERR_CONFIG;
    }
    int rc = HERALD_OK;
    for (PQconninfoOption *o = opts; !rc && o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (!strcmp(o->keyword, "password"))
            rc = (*password = strdup(o->val)) ? HERALD_OK : HERALD_ERR_NOMEM;
        else
            rc = append_kv(out, o->keyword, o->val);
    }
    PQconninfoFree(opts);
    return rc;
}

/* The child's environment: PATH, HOME and PG* from ours, then PGPASSWORD. `pwd_env` holds
 * the "PGPASSWORD=..." string. */
static void child_env(const char *password, char *pwd_env, size_t cap, char **envp)
{
    size_t n = 0;
    for (char **e = environ; *e && n < ENV_MAX - 2; e++)
        if ((!strncmp(*e, "PG", 2) && strncmp(*e, "PGPASSWORD=", 11)) || !strncmp(*e, "PATH=", 5) ||
            !strncmp(*e, "HOME=", 5))
            envp[n++] = *e;
    if (password) {
        snprintf(pwd_env, cap, "PGPASSWORD=%s", password);
        envp[n++] = pwd_env;
    }
    envp[n] = NULL;
}

static int wait_tool(pid_t pid, const char *tool)
{
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return HERALD_ERR_IO;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        log_error("postgres tool failed", json_pack("{s:s, s:i}", "tool", tool, "status",
                                                    WIFEXITED(status) ? WEXITSTATUS(status) : -1));
        return HERALD_ERR_IO;
    }
    return HERALD_OK;
}

/* Runs argv (NULL-terminated, at most 28 entries) with --dbname=<conninfo> appended when
 * `with_db`, stdout to `stdout_path` when set. Everything is prepared before fork(): the child
 * only redirects and execs. */
static int run_pg_tool(const char *url, const char *const argv[], bool with_db,
                       const char *stdout_path)
{
    struct buf conninfo, dbarg;
    buf_init(&conninfo, 1 << 16);
    buf_init(&dbarg, 1 << 16);
    char *password = NULL, pwd_env[1200] = "";
    char *envp[ENV_MAX];
    const char *args[32];
    int n = 0, rc = url_to_conninfo(url, &conninfo, &password);
    if (!rc && with_db)
        rc = buf_printf(&dbarg, "--dbname=%s", conninfo.data ? conninfo.data : "");
    if (rc)
        goto done;
    for (; argv[n] && n < 28; n++)
        args[n] = argv[n];
    if (with_db)
        args[n++] = dbarg.data;
    args[n] = NULL;
    child_env(password, pwd_env, sizeof(pwd_env), envp);
    int out_fd =
        stdout_path ? open(stdout_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    pid_t pid = (stdout_path && out_fd < 0) ? -1 : fork();
    if (pid == 0) {
        /* pg_dump must not outlive us (a killed backup leaves nothing writing). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0)
            _exit(126);
        execvpe(args[0], (char *const *)args, envp);
        _exit(127);
    }
    if (out_fd >= 0)
        close(out_fd);
    rc = pid < 0 ? HERALD_ERR_IO : wait_tool(pid, argv[0]);
done:
    if (password)
        memset(password, 0, strlen(password));
    free(password);
    memset(pwd_env, 0, sizeof(pwd_env));
    buf_free(&conninfo);
    buf_free(&dbarg);
    return rc;
}

int pg_tool_backup(struct store *st, const char *path)
{
    char file_arg[4200];
    snprintf(file_arg, sizeof(file_arg), "--file=%s", path);
    const char *argv[] = {"pg_dump",         "--format=custom", "--no-owner",
                          "--no-privileges", file_arg,          NULL};
    return run_pg_tool(st->url, argv, true, NULL);
}

int pg_tool_verify_backup(struct store *st, const char *path)
{
    char list_path[4200];
    snprintf(list_path, sizeof(list_path), "%s.list", path);
    const char *argv[] = {"pg_restore", "--list", path, NULL};
    int rc = run_pg_tool(st->url, argv, false, list_path);
    if (!rc) {
        rc = HERALD_ERR_BACKUP_INVALID;
        FILE *f = fopen(list_path, "r");
        char line[1024];
        while (f && fgets(line, sizeof(line), f))
            if (strstr(line, "TABLE DATA") && strstr(line, "schema_migrations"))
                rc = HERALD_OK;
        if (f)
            fclose(f);
    } else {
        rc = HERALD_ERR_BACKUP_INVALID;
    }
    unlink(list_path);
    return rc;
}

int pg_tool_restore(struct store *st, const char *path)
{
    const char *argv[] = {
        "pg_restore",           "--clean",         "--if-exists", "--no-owner", "--no-privileges",
        "--single-transaction", "--exit-on-error", path,          NULL};
    return run_pg_tool(st->url, argv, true, NULL);
}
