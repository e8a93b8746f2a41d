#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "base/clock.h"
#include "base/log.h"
#include "cli/cli.h"
#include "events/ingest.h"
#include "jobs/cron.h"
#include "store/store.h"
#include "sync/engine.h"
#include "sync/mixpanel.h"
#include "sync/periodic.h"

static const char serve_help[] =
    "usage: herald serve\n\n"
    "Runs the HTTP server with the configuration from the environment (see herald "
    "--help-config).\nRefuses to start while migrations are pending (run herald migrate up).\n"
    "SIGTERM or SIGINT: stop accepting, finish requests under way, flush the event writer, "
    "exit 0.\n";

int cli_serve(struct app *app, int argc, char **argv)
{
    if (argc > 1) {
        fputs(serve_help, strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    /* Signals are taken by sigwait() below: block them before any thread starts. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int status = 1, rc;
    char cron_err[160] = "";
    struct cron cron;
    if (strcmp(app->cfg.sync_schedule, "off") != 0 &&
        cron_parse(app->cfg.sync_schedule, &cron, cron_err, sizeof(cron_err))) {
        fprintf(stderr, "herald: configuration error: HERALD_SYNC_SCHEDULE: %s\n", cron_err);
        return 2;
    }
    if (cli_open_store(app, &app->store))
        return 1;
    if ((rc = store_lock_instance(app->store, false))) {
        if (rc == HERALD_ERR_CONFLICT)
            fprintf(stderr, "herald: a restore is running on this database; try again after it\n");
        else
            cli_error("cannot take the instance lock", rc);
        goto done;
    }
    int pending = 0;
    if ((rc = store_migrations_pending(app->store, &pending))) {
        cli_error("cannot read the migration state", rc);
        goto done;
    }
    if (pending) {
        fprintf(stderr, "herald: %d migration(s) pending; run `herald migrate up` before serving\n",
                pending);
        goto done;
    }
    struct ingest_opts io = {app->cfg.writer_batch, app->cfg.writer_flush_ms,
                             app->cfg.writer_cache};
    if ((rc = ingest_start(app->store, &io, &app->ingest))) {
        cli_error("cannot start the event writer", rc);
        goto done;
    }
    if ((rc = sync_engine_start(app->store, app->ingest, &app->cfg, &app->sync))) {
        cli_error("cannot start the sync engine", rc);
        goto done;
    }
    if ((rc = periodic_start(app->store, app->sync, &app->cfg, &app->periodic, cron_err,
                             sizeof(cron_err)))) {
        if (rc == HERALD_ERR_INVALID)
            fprintf(stderr, "herald: configuration error: HERALD_SYNC_SCHEDULE: %s\n", cron_err);
        else
            cli_error("cannot start the periodic sync", rc);
        goto done;
    }
    if ((rc = mixpanel_start(app->store, &app->cfg, sync_engine_node(app->sync), &app->mixpanel))) {
        cli_error("cannot start Mixpanel forwarding", rc);
        goto done;
    }
    struct http_server_opts ho = {
        .host = app->cfg.listen_host,
        .port = app->cfg.listen_port,
        .threads = app->cfg.http_threads,
        .max_body = (size_t)app->cfg.max_body,
        .tls_cert_file = app->cfg.tls_cert_file,
        .tls_key_file = app->cfg.tls_key_file,
        .cors_origins = app->cfg.cors_origins,
        .rate_key_default = app->cfg.rate_limit,
        .rate_ip = app->cfg.rate_limit_ip,
        .metrics_token = app->cfg.metrics_token,
        .routes = api_routes,
        .nroutes = api_route_count,
        .handler_ctx = app,
        .key_lookup = api_key_lookup,
        .lookup_ctx = app,
    };
    app->started_ms = clock_now_ms();
    if ((rc = http_server_start(&ho, &app->http))) {
        cli_error("cannot start the HTTP server", rc);
        goto done;
    }
    /* Always written, whatever the level: operators and scripts read the bound port here. */
    log_emit(LOG_INFO, "listening",
             json_pack("{s:s, s:i, s:s, s:b, s:s}", "host", app->cfg.listen_host, "port",
                       http_server_port(app->http), "backend", store_backend_name(app->store),
                       "tls", *app->cfg.tls_cert_file != '\0', "version", HERALD_VERSION));
    int sig = 0;
    sigwait(&sigs, &sig);
    log_info("shutting down", json_pack("{s:s}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
    http_server_quiesce(app->http);
    if (!http_server_wait_idle(app->http, app->cfg.shutdown_timeout * 1000))
        log_warn("requests still in flight at the shutdown deadline", NULL);
    status = 0;
done:
    http_server_stop(app->http);
    app->http = NULL;
    periodic_stop(app->periodic);
    app->periodic = NULL;
    mixpanel_stop(app->mixpanel);
    app->mixpanel = NULL;
    sync_engine_stop(app->sync); /* releases running jobs with their cursors */
    app->sync = NULL;
    ingest_stop(app->ingest); /* commits whatever is queued */
    app->ingest = NULL;
    store_close(app->store);
    app->store = NULL;
    if (status == 0)
        log_info("stopped", NULL);
    return status;
}
