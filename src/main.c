/* herald: one binary, subcommands. Builds the app context from the configuration and hands
 * it to the command. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "app.h"
#include "base/config.h"
#include "base/log.h"
#include "cli/cli.h"
#include "store/store.h"

static const char usage[] =
    "usage: herald COMMAND [ARGS]\n\n"
    "Commands:\n"
    "  serve                     run the HTTP server\n"
    "  migrate [up|down [N]|status]  apply, revert or list schema migrations\n"
    "  keys create|list|revoke|rotate|bootstrap  manage API keys\n"
    "  backup [FILE|list]        write a verified, encrypted backup; list local and S3 ones\n"
    "  restore FILE|--remote N   replace the database with a backup (server stopped)\n"
    "  dkim keygen --domain D --selector S  write a DKIM key, print its DNS TXT record\n"
    "  ota validate [--channel ID]  check OTA channels: reachable, auth, read\n"
    "  version                   print the version\n\n"
    "Options:\n"
    "  --help                    this text; COMMAND --help for one command\n"
    "  --help-config [--markdown]  every configuration variable\n\n"
    "Configuration comes from HERALD_* environment variables and ./.env.\n";

void cli_error(const char *what, int rc)
{
    fprintf(stderr, "herald: %s: %s\n", what, herald_strerror((enum herald_err)rc));
}

enum herald_err cli_open_store(struct app *app, struct store **out)
{
    struct store_opts so = {
        .url = app->cfg.database_url,
        .pool_min = app->cfg.db_pool_min,
        .pool_max = app->cfg.db_pool_max,
        .sqlite_sync_full = strcmp(app->cfg.sqlite_synchronous, "full") == 0,
    };
    int rc = store_open(&so, out);
    if (rc) {
        fprintf(stderr, "herald: cannot open the %s database (HERALD_DATABASE_URL): %s\n",
                strncmp(app->cfg.database_url, "sqlite:", 7) == 0 ? "SQLite" : "PostgreSQL",
                herald_strerror((enum herald_err)rc));
        return rc;
    }
    return 0;
}

/* Files Herald creates (SQLite database, WAL, SHM, backups, keys) are private to its user; and
 * the open-file limit goes to its hard maximum, for the HTTP connections (listen.c keeps the
 * connection limit below it). */
static void process_setup(void)
{
    umask(077);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    process_setup();
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--help-config")) {
        cfg_write_help(stdout, argc > 2 && !strcmp(argv[2], "--markdown"));
        return 0;
    }
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        printf("herald %s\n", HERALD_VERSION);
        return 0;
    }
    static const struct {
        const char *name;
        int (*run)(struct app *, int, char **);
    } commands[] = {
        {"serve", cli_serve},   {"migrate", cli_migrate}, {"keys", cli_keys},
        {"backup", cli_backup}, {"restore", cli_restore}, {"dkim", cli_dkim},
        {"ota", cli_ota},
    };
    int (*run)(struct app *, int, char **) = NULL;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            run = commands[i].run;
    if (!run) {
        fprintf(stderr, "herald: unknown command \"%s\"\n\n%s", argv[1], usage);
        return 2;
    }
    struct app app = {0};
    char err[512] = "";
    const char *env_file = getenv("HERALD_ENV_FILE");
    if (cfg_load_dotenv(env_file && *env_file ? env_file : ".env", err, sizeof(err)) ||
        cfg_load(&app.cfg, err, sizeof(err))) {
        fprintf(stderr, "herald: configuration error: %s\n", err);
        cfg_free(&app.cfg);
        return 2;
    }
    log_set_level((enum log_level)app.cfg.log_level);
    /* Before any thread exists, as libcurl requires. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "herald: cannot initialise libcurl\n");
        cfg_free(&app.cfg);
        return 1;
    }
    int status = run(&app, argc - 1, argv + 1);
    curl_global_cleanup();
    cfg_free(&app.cfg);
    return status;
}
