/* herald migrate (up, down N, status) and herald keys (create, list, revoke, rotate,
 * bootstrap): argument checks, one store call each, and what the operator reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "cli/cli.h"
#include "keys/keys.h"
#include "privacy/privacy.h"
#include "store/store.h"

static const char migrate_help[] =
    "usage: herald migrate [up | down [N] | status]\n\n"
    "  up        apply every pending migration (the default; safe to repeat)\n"
    "  down [N]  revert the newest N applied migrations (default 1)\n"
    "  status    list migrations and whether each is applied\n";

static int print_status(struct store *st)
{
    struct store_migration_state rows[256];
    size_t n;
    enum herald_err rc = store_migrations(st, rows, 256, &n);
    if (rc) {
        cli_error("cannot read migrations", rc);
        return 1;
    }
    printf("backend: %s\n", store_backend_name(st));
    for (size_t i = 0; i < n; i++) {
        char at[40] = "";
        if (rows[i].applied)
            clock_format_iso(rows[i].applied_at_ms, at, sizeof(at));
        printf("%04d  %-32s %-8s %s\n", rows[i].version, rows[i].name,
               rows[i].applied ? "applied" : "pending", at);
    }
    return 0;
}

int cli_migrate(struct app *app, int argc, char **argv)
{
    const char *action = argc > 1 ? argv[1] : "up";
    if (!strcmp(action, "--help") || !strcmp(action, "-h")) {
        fputs(migrate_help, stdout);
        return 0;
    }
    long steps = 1;
    if (!strcmp(action, "down") && argc > 2) {
        char *end;
        steps = strtol(argv[2], &end, 10);
        if (*end || steps < 1 || steps > 1000) {
            fprintf(stderr, "herald migrate down: N must be a positive integer\n");
            return 2;
        }
    }
    if (strcmp(action, "up") && strcmp(action, "down") && strcmp(action, "status")) {
        fputs(migrate_help, stderr);
        return 2;
    }
    struct store *st;
    if (cli_open_store(app, &st))
        return 1;
    int status = 0, rc, count = 0;
    if (!strcmp(action, "status")) {
        status = print_status(st);
    } else if (!strcmp(action, "up")) {
        rc = store_migrate_up(st, &count);
        if (rc) {
            cli_error("migrate up failed", rc);
            status = 1;
        } else {
            fprintf(stderr, "herald: %d migration(s) applied; the schema is up to date\n", count);
        }
    } else {
        rc = store_migrate_down(st, (int)steps, &count);
        if (rc == HERALD_ERR_INVALID) {
            fprintf(stderr, "herald migrate down: fewer than %ld migrations are applied\n", steps);
            status = 1;
        } else if (rc) {
            cli_error("migrate down failed", rc);
            status = 1;
        } else {
            fprintf(stderr, "herald: %d migration(s) reverted\n", count);
        }
    }
    store_close(st);
    return status;
}

static const char keys_help[] =
    "usage: herald keys create --name NAME [--scopes a,b] [--rate-limit N/min]\n"
    "       herald keys list\n"
    "       herald keys revoke ID\n"
    "       herald keys rotate ID\n"
    "       herald keys bootstrap\n\n"
    "create and rotate print the new secret alone on stdout's first line (details on stderr);\n"
    "it is shown once and stored only as a hash. bootstrap creates an admin key only when no\n"
    "active key exists. Default scopes: " KEYS_DEFAULT_SCOPES " (docs/api.md has the table).\n"
    "Scopes:";

/* The help, with the scope list read from the table keys_validate_scopes() checks against. */
static void print_keys_help(FILE *f)
{
    fputs(keys_help, f);
    for (int i = 0; keys_known_scopes[i]; i++)
        fprintf(f, "%s%s", i % 6 ? ", " : i ? ",\n  " : "\n  ", keys_known_scopes[i]);
    fputc('\n', f);
}

static void print_key_details(const struct store_key *k)
{
    fprintf(stderr, "id: %s\nname: %s\nprefix: %s\nscopes: %s\nrate limit: %s\n", k->id, k->name,
            k->prefix, k->scopes, k->rate_limit[0] ? k->rate_limit : "server default");
}

/* privacy: an audit entry for each key change made here (actor "cli"); a failure to write it
 * is reported, the change itself stands. */
static void audit_key(struct store *st, const char *action, const char *key_id)
{
    char detail[128];
    snprintf(detail, sizeof(detail), "{\"keyId\":\"%s\"}", key_id);
    struct privacy_audit a = {.actor = "cli", .action = action, .detail = detail};
    enum herald_err rc = privacy_audit_write(st, &a);
    if (rc)
        cli_error("cannot write the audit entry", rc);
}

static int keys_create_cmd(struct store *st, int argc, char **argv)
{
    struct keys_new spec = {0};
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        const char **slot = !strcmp(arg, "--name")         ? &spec.name
                            : !strcmp(arg, "--scopes")     ? &spec.scopes
                            : !strcmp(arg, "--rate-limit") ? &spec.rate_limit
                                                           : NULL;
        if (!slot || i + 1 >= argc) {
            print_keys_help(stderr);
            return 2;
        }
        *slot = argv[++i];
    }
    if (!spec.name) {
        fprintf(stderr, "herald keys create: --name is required\n");
        return 2;
    }
    char secret[KEYS_SECRET_MAX];
    struct store_key key;
    struct herald_error err;
    enum herald_err rc = keys_create(st, &spec, secret, &key, &err);
    if (rc == HERALD_ERR_INVALID) {
        fprintf(stderr, "herald keys create: %s\n", herald_error_message(&err));
        return 2;
    }
    if (rc) {
        cli_error("cannot create the key", rc);
        return 1;
    }
    audit_key(st, "keys.create", key.id);
    printf("%s\n", secret);
    fflush(stdout);
    print_key_details(&key);
    fprintf(stderr, "Store this secret now: it is not shown again.\n");
    memset(secret, 0, sizeof(secret));
    return 0;
}

static int keys_list_cmd(struct store *st)
{
    struct store_key *keys = NULL;
    size_t n = 0;
    enum herald_err rc = keys_list(st, &keys, &n);
    if (rc) {
        cli_error("cannot list keys", rc);
        return 1;
    }
    printf("%-17s %-20s %-13s %-8s %-12s %-20s %s\n", "ID", "NAME", "PREFIX", "STATUS", "RATE",
           "CREATED", "SCOPES");
    for (size_t i = 0; i < n; i++) {
        char created[40];
        clock_format_iso(keys[i].created_at_ms, created, sizeof(created));
        printf("%-17s %-20.20s %-13s %-8s %-12s %-20s %s\n", keys[i].id, keys[i].name,
               keys[i].prefix, keys[i].revoked_at_ms ? "revoked" : "active",
               keys[i].rate_limit[0] ? keys[i].rate_limit : "default", created, keys[i].scopes);
    }
    free(keys);
    return 0;
}

/* Prints a new secret alone on stdout's first line, its details and `advice` on stderr. */
static void print_new_secret(const char *secret, const struct store_key *key, const char *advice)
{
    printf("%s\n", secret);
    fflush(stdout);
    print_key_details(key);
    fprintf(stderr, "%s\n", advice);
}

static int keys_revoke_cmd(struct store *st, int argc, char **argv)
{
    (void)argc;
    enum herald_err rc = keys_revoke(st, argv[2]);
    if (rc == HERALD_ERR_NOT_FOUND)
        fprintf(stderr, "herald keys revoke: no active key %s\n", argv[2]);
    else if (rc)
        cli_error("cannot revoke the key", rc);
    else
        fprintf(stderr, "revoked %s\n", argv[2]);
    if (!rc)
        audit_key(st, "keys.revoke", argv[2]);
    return rc ? 1 : 0;
}

static int keys_rotate_cmd(struct store *st, int argc, char **argv)
{
    (void)argc;
    char secret[KEYS_SECRET_MAX];
    struct store_key key;
    enum herald_err rc = keys_rotate(st, argv[2], secret, &key);
    if (rc == HERALD_ERR_NOT_FOUND)
        fprintf(stderr, "herald keys rotate: no active key %s\n", argv[2]);
    else if (rc)
        cli_error("cannot rotate the key", rc);
    else
        print_new_secret(secret, &key, "The previous secret no longer works. Store this one now.");
    if (!rc)
        audit_key(st, "keys.rotate", key.id);
    memset(secret, 0, sizeof(secret));
    return rc ? 1 : 0;
}

static int keys_bootstrap_cmd(struct store *st, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char secret[KEYS_SECRET_MAX];
    struct store_key key;
    bool created;
    enum herald_err rc = keys_bootstrap(st, secret, &key, &created);
    if (!rc && created)
        audit_key(st, "keys.bootstrap", key.id);
    if (rc)
        cli_error("cannot create the first key", rc);
    else if (created)
        print_new_secret(secret, &key,
                         "This is the first admin API key. Store it now: it is not shown again.");
    else
        fprintf(stderr, "herald: API keys exist already; none created\n");
    memset(secret, 0, sizeof(secret));
    return rc ? 1 : 0;
}

static int keys_list_args(struct store *st, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return keys_list_cmd(st);
}

static const struct {
    const char *name;
    bool needs_id; /* exactly one argument: the key id */
    int (*run)(struct store *st, int argc, char **argv);
} keys_actions[] = {
    {"create", false, keys_create_cmd},       {"list", false, keys_list_args},
    {"revoke", true, keys_revoke_cmd},        {"rotate", true, keys_rotate_cmd},
    {"bootstrap", false, keys_bootstrap_cmd},
};

int cli_keys(struct app *app, int argc, char **argv)
{
    const char *action = argc > 1 ? argv[1] : "--help";
    if (!strcmp(action, "--help") || !strcmp(action, "-h")) {
        print_keys_help(argc > 1 ? stdout : stderr);
        return argc > 1 ? 0 : 2;
    }
    size_t i = 0, n = sizeof(keys_actions) / sizeof(keys_actions[0]);
    while (i < n && strcmp(action, keys_actions[i].name) != 0)
        i++;
    if (i == n || (keys_actions[i].needs_id && argc != 3)) {
        print_keys_help(stderr);
        return 2;
    }
    struct store *st;
    if (cli_open_store(app, &st))
        return 1;
    int status = keys_actions[i].run(st, argc, argv);
    store_close(st);
    return status;
}
