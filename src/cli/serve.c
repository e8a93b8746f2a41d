/* herald serve: starts the store, the event writer, the job layer with its kinds and
 * schedules, Mixpanel forwarding and the HTTP server; stops them in reverse on a signal. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "backup/backup.h"
#include "base/clock.h"
#include "base/log.h"
#include "cli/cli.h"
#include "events/ingest.h"
#include "jobs/cron.h"
#include "jobs/jobs.h"
#include "jobs/schedule.h"
#include "mail/import.h"
#include "mail/inbound.h"
#include "mail/optin.h"
#include "mail/token.h"
#include "ota/automations.h"
#include "ota/pull.h"
#include "ota/push.h"
#include "ota/reservations.h"
#include "ota/updates.h"
#include "privacy/privacy.h"
#include "store/store.h"
#include "sync/mixpanel.h"
#include "sync/mixpanel_retry.h"
#include "sync/sync.h"

static const char serve_help[] =
    "usage: herald serve\n\n"
    "Runs the HTTP server with the configuration from the environment (see herald "
    "--help-config).\nRefuses to start while migrations are pending (run herald migrate up).\n"
    "SIGTERM or SIGINT: stop accepting, finish requests under way, flush the event writer, "
    "exit 0.\n";

static void schedule_error(const char *msg)
{
    fprintf(stderr, "herald: configuration error: HERALD_SYNC_SCHEDULE: %s\n", msg);
}

/* Opens the store, takes the shared instance lock and checks that no migration is pending. */
static int open_store(struct app *app)
{
    int rc, pending = 0;
    if ((rc = cli_open_store(app, &app->store)))
        return rc;
    if ((rc = store_lock_instance(app->store, false))) {
        if (rc == HERALD_ERR_CONFLICT)
            fprintf(stderr, "herald: a restore is running on this database; try again after it\n");
        else
            cli_error("cannot take the instance lock", rc);
        return rc;
    }
    if ((rc = store_migrations_pending(app->store, &pending))) {
        cli_error("cannot read the migration state", rc);
        return rc;
    }
    if (pending) {
        fprintf(stderr, "herald: %d migration(s) pending; run `herald migrate up` before serving\n",
                pending);
        return HERALD_ERR_MIGRATIONS_PENDING;
    }
    return HERALD_OK;
}

/* The job kinds of this node: sync, and Mixpanel's dead-letter retry when it is configured. */
static int register_kinds(struct app *app, struct sync_opts *so, const struct mixpanel_opts *mo)
{
    sync_opts_from_cfg(&app->cfg, so);
    struct backup_opts bo;
    cli_backup_opts(&app->cfg, &bo);
    int rc = sync_start(app->store, app->ingest, app->jobs, so, &app->sync);
    if (!rc)
        rc = backup_register(app->jobs, app->store, &bo, &app->backup);
    /* email: contacts, lists, imports, double opt-in */
    struct mail_optin_opts oo = {
        .st = app->store,
        .jobs = app->jobs,
        .keys = &app->mail_keys,
        .public_url = app->cfg.public_url,
        .token_hours = app->cfg.optin_token_hours,
        .mail_from = app->cfg.mail_from,
        .dkim_domain = app->cfg.dkim_domain,
        .transport = &app->mail_transport,
    };
    if (!rc)
        rc = mail_optin_start(&oo, &app->mail_optin);

    /* email: CSV contact imports */
    if (!rc)
        rc = mail_import_register(app->jobs, app->store,
                                  &(struct mail_import_opts){app->cfg.import_max_rows},
                                  &app->imports);

    /* email: templates */

    /* email: SMTP transport and DKIM */
    if (!rc)
        rc = cli_transport_open(&app->cfg, &app->mail_transport);

    /* email: campaigns and the sender */
    if (!rc)
        rc = api_campaigns_start(app);

    /* email: feedback (tracking, unsubscribe, bounces, statistics) */
    if (!rc && app->cfg.bounce_listen[0]) {
        struct mail_inbound_opts bo_in = {
            .listen = app->cfg.bounce_listen, .store = app->store, .keys = &app->mail_keys};
        rc = mail_inbound_start(&bo_in, &app->inbound);
        if (rc)
            cli_error("cannot start the bounce listener (HERALD_BOUNCE_LISTEN)", rc);
    }

    /* hotels: OTA channels, validation and pull */
    if (!rc)
        rc = cli_ota_start(app);

    /* hotels: reservations */
    if (!rc)
        rc = ota_reservations_open(app->store, &app->ota_reservations);

    /* hotels: push endpoints and webhooks */
    if (!rc) {
        struct ota_push_opts po = {
            .store = app->store,
            .channels = app->ota_channels,
            .reservations = app->ota_reservations,
            .max_message_bytes = (size_t)app->cfg.ota_max_message_bytes,
            .tolerance_s = app->cfg.ota_webhook_tolerance_s,
        };
        rc = ota_push_open(&po, &app->ota_push);
        if (rc)
            cli_error("cannot start the OTA push endpoints", rc);
    }

    /* hotels: rates and availability out */
    if (!rc) {
        struct ota_updates_opts uo = {.st = app->store,
                                      .chs = app->ota_channels,
                                      .key_file = app->cfg.ota_secret_file,
                                      .jobs = app->jobs,
                                      .timeout_ms = app->cfg.upstream_timeout_ms,
                                      .job_lease_ms = app->cfg.job_lease_seconds * 1000LL,
                                      .backoff_max_ms =
                                          app->cfg.ota_delivery_backoff_max_s * 1000LL};
        rc = ota_updates_register(&uo, &app->ota_updates);
    }

    /* hotels: guests and automations */
    if (!rc)
        rc = api_automations_start(app);

    /* privacy: export, erasure, retention, audit */
    struct privacy_opts po = {
        .st = app->store,
        .jobs = app->jobs,
        .events_days = app->cfg.retention_events_days,
        .sends_days = app->cfg.retention_sends_days,
        .reservations_days = app->cfg.retention_reservations_days,
        .dead_letters_days = app->cfg.retention_dead_letters_days,
        .mixpanel_token = app->cfg.mixpanel_token,
        .mixpanel_gdpr_token = app->cfg.mixpanel_gdpr_token,
        .mixpanel_gdpr_base_url = app->cfg.mixpanel_gdpr_base_url,
        .hash_emails = app->cfg.mixpanel_hash_emails,
        .hash_secret = app->cfg.mixpanel_hash_secret,
        .timeout_ms = app->cfg.upstream_timeout_ms,
        .max_attempts = app->cfg.job_max_attempts,
    };
    if (!rc && (rc = privacy_start(&po, &app->privacy)))
        cli_error("cannot start the privacy domain", rc);

    if (rc || !mixpanel_configured(mo))
        return rc;
    return mixpanel_retry_register(app->jobs, mo, &app->mixpanel_retry);
}

static void mixpanel_opts_from_cfg(const struct cfg *cfg, const char *node,
                                   struct mixpanel_opts *mo)
{
    *mo = (struct mixpanel_opts){
        .token = cfg->mixpanel_token,
        .service_account = cfg->mixpanel_service_account,
        .secret = cfg->mixpanel_secret,
        .project_id = cfg->mixpanel_project_id,
        .base_url = cfg->mixpanel_base_url,
        .node = node,
        .hash_emails = cfg->mixpanel_hash_emails,
        .hash_secret = cfg->mixpanel_hash_secret,
        .batch = cfg->mixpanel_batch,
        .backoff_ms = cfg->mixpanel_backoff_ms,
        .grace_ms = cfg->mixpanel_grace_ms,
        .timeout_ms = cfg->upstream_timeout_ms,
    };
}

/* The periodic incremental sync: one schedule row, when a schedule is set and a platform is
 * configured. */
static int start_schedules(struct app *app)
{
    char err[200] = "";
    json_t *params = NULL, *empty = json_object();
    struct jobs_schedule_def defs[8], *d = defs;
    if (strcmp(app->cfg.sync_schedule, "off") != 0 && (params = sync_periodic_params(app->sync)))
        *d++ = (struct jobs_schedule_def){"periodic_sync", app->cfg.sync_schedule, "sync", params};
    if (strcmp(app->cfg.backup_schedule, "off") != 0)
        *d++ = (struct jobs_schedule_def){"periodic_backup", app->cfg.backup_schedule, "backup",
                                          empty};
    /* privacy: the daily retention job */
    if (strcmp(app->cfg.retention_schedule, "off") != 0)
        *d++ = (struct jobs_schedule_def){"privacy_retention", app->cfg.retention_schedule,
                                          "retention", empty};
    /* hotels: guests and automations: the scheduler's tick */
    if (app->automations)
        *d++ = (struct jobs_schedule_def){OTA_AUTOMATION_TICK_KIND,
                                          ota_automations_schedule_expr(app->automations),
                                          OTA_AUTOMATION_TICK_KIND, empty};
    int rc =
        jobs_schedule_start(app->jobs, defs, (size_t)(d - defs), &app->schedule, err, sizeof(err));
    json_decref(params); /* the schedule keeps its normalised copy */
    json_decref(empty);
    if (rc == HERALD_ERR_INVALID)
        schedule_error(err);
    else if (rc)
        cli_error("cannot start the schedules", rc);
    return rc;
}

/* Everything behind the HTTP server, in dependency order. */
static int start_domain(struct app *app, struct sync_opts *so, struct mixpanel_opts *mo)
{
    const struct cfg *cfg = &app->cfg;
    struct ingest_opts io = {cfg->writer_batch, cfg->writer_flush_ms, cfg->writer_cache,
                             cfg->writer_queue_max};
    struct jobs_opts jo = {cfg->sync_workers, (int64_t)cfg->job_lease_seconds * 1000,
                           cfg->job_max_attempts};
    int rc = ingest_start(app->store, &io, &app->ingest);
    if (rc) {
        cli_error("cannot start the event writer", rc);
        return rc;
    }
    rc = jobs_new(app->store, &jo, &app->jobs);
    if (rc)
        goto jobs_failed;
    mixpanel_opts_from_cfg(cfg, jobs_node(app->jobs), mo);
    rc = mail_keyring_load(cfg->mail_secret_file, &app->mail_keys);
    if (rc) {
        cli_error("cannot read or create HERALD_MAIL_SECRET_FILE", rc);
        return rc;
    }
    rc = register_kinds(app, so, mo);
    if (rc)
        goto jobs_failed;
    rc = jobs_start(app->jobs);
    if (rc)
        goto jobs_failed;
    if ((rc = ota_pull_schedule(app->ota_pull))) {
        cli_error("cannot start the OTA pull scheduler", rc);
        return rc;
    }
    rc = start_schedules(app);
    if (rc)
        return rc;
    rc = mixpanel_start(app->store, mo, &app->mixpanel);
    if (rc)
        cli_error("cannot start Mixpanel forwarding", rc);
    return rc;
jobs_failed:
    cli_error("cannot start the job workers", rc);
    return rc;
}

static int start_http(struct app *app)
{
    const struct cfg *cfg = &app->cfg;
    struct http_server_opts ho = {
        .host = cfg->listen_host,
        .port = cfg->listen_port,
        .threads = cfg->http_threads,
        .max_body = (size_t)cfg->max_body,
        .tls_cert_file = cfg->tls_cert_file,
        .tls_key_file = cfg->tls_key_file,
        .cors_origins = cfg->cors_origins,
        .rate_key_default = cfg->rate_limit,
        .rate_ip = cfg->rate_limit_ip,
        .rate_ip_keyed = cfg->rate_limit_ip_keyed,
        .rate_links = cfg->rate_limit_links,
        .max_connections = cfg->http_max_connections,
        .per_ip_connections = cfg->http_per_ip_connections,
        .idle_timeout_sec = cfg->http_idle_timeout,
        .metrics_token = cfg->metrics_token,
        .routes = api_routes,
        .nroutes = api_route_count,
        .handler_ctx = app,
        .key_lookup = api_key_lookup,
        .lookup_ctx = app,
        /* privacy: audit */
        .audit = api_audit_hook,
        .audit_ctx = app,
        /* hotels: push endpoints and webhooks (the partners' access class) */
        .rate_partner = cfg->ota_push_rate,
        .max_partner_body = (size_t)cfg->ota_max_message_bytes,
        .partner_error = api_ota_partner_error,
    };
    app->started_ms = clock_now_ms();
    int rc = http_server_start(&ho, &app->http);
    if (rc) {
        cli_error("cannot start the HTTP server", rc);
        return rc;
    }
    /* Always written, whatever the level: operators and scripts read the bound port here. */
    log_emit(LOG_INFO, "listening",
             json_pack("{s:s, s:i, s:s, s:b, s:s}", "host", cfg->listen_host, "port",
                       http_server_port(app->http), "backend", store_backend_name(app->store),
                       "tls", *cfg->tls_cert_file != '\0', "version", HERALD_VERSION));
    return HERALD_OK;
}

/* In reverse order of starting; each stop takes NULL. */
static void stop_all(struct app *app)
{
    http_server_stop(app->http);
    app->http = NULL;
    jobs_schedule_stop(app->schedule);
    app->schedule = NULL;
    ota_pull_halt(app->ota_pull); /* its scheduler queues jobs: before jobs_free */
    mixpanel_stop(app->mixpanel);
    app->mixpanel = NULL;
    jobs_free(app->jobs); /* releases running jobs with their progress */
    app->jobs = NULL;
    /* privacy: export, erasure, retention, audit */
    privacy_stop(app->privacy); /* after the HTTP server and the jobs: flushes the audit queue */
    app->privacy = NULL;

    /* hotels: guests and automations */
    api_automations_stop(app);

    /* hotels: rates and availability out */
    ota_updates_free(app->ota_updates); /* after the jobs layer: no delivery runs now */
    app->ota_updates = NULL;

    /* hotels: push endpoints and webhooks */
    ota_push_close(app->ota_push);
    app->ota_push = NULL;

    /* hotels: reservations */
    ota_reservations_close(app->ota_reservations);
    app->ota_reservations = NULL;

    /* hotels: OTA channels, validation and pull */
    cli_ota_stop(app);

    mail_import_free(app->imports); /* email: CSV contact imports (after the jobs layer) */
    app->imports = NULL;
    /* email: feedback */
    mail_inbound_stop(app->inbound);
    app->inbound = NULL;

    /* email: campaigns and the sender */
    api_campaigns_stop(app);

    /* email: SMTP transport and DKIM */
    cli_transport_close(app->mail_transport);
    app->mail_transport = NULL;

    /* email: templates */

    /* email: contacts */
    mail_optin_free(app->mail_optin);
    app->mail_optin = NULL;

    sync_stop(app->sync);
    app->sync = NULL;
    mixpanel_retry_free(app->mixpanel_retry);
    app->mixpanel_retry = NULL;
    backup_kind_free(app->backup);
    app->backup = NULL;
    ingest_stop(app->ingest); /* commits whatever is queued */
    app->ingest = NULL;
    store_close(app->store);
    app->store = NULL;
}

static void wait_for_signal(struct app *app, sigset_t *sigs)
{
    int sig = 0;
    sigwait(sigs, &sig);
    log_info("shutting down", json_pack("{s:s}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
    http_server_quiesce(app->http);
    if (!http_server_wait_idle(app->http, app->cfg.shutdown_timeout * 1000))
        log_warn("requests still in flight at the shutdown deadline", NULL);
}

int cli_serve(struct app *app, int argc, char **argv)
{
    if (argc > 1) {
        fputs(serve_help, strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    /* Signals are taken by sigwait(): block them before any thread starts. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    char cron_err[160] = "";
    struct cron cron;
    if (strcmp(app->cfg.sync_schedule, "off") != 0 &&
        cron_parse(app->cfg.sync_schedule, &cron, cron_err, sizeof(cron_err))) {
        schedule_error(cron_err);
        return 2;
    }
    if (strcmp(app->cfg.backup_schedule, "off") != 0 &&
        cron_parse(app->cfg.backup_schedule, &cron, cron_err, sizeof(cron_err))) {
        fprintf(stderr, "herald: configuration error: HERALD_BACKUP_SCHEDULE: %s\n", cron_err);
        return 2;
    }
    if (strcmp(app->cfg.retention_schedule, "off") != 0 && /* privacy */
        cron_parse(app->cfg.retention_schedule, &cron, cron_err, sizeof(cron_err))) {
        fprintf(stderr, "herald: configuration error: HERALD_RETENTION_SCHEDULE: %s\n", cron_err);
        return 2;
    }
    struct sync_opts so; /* outlive the domain, which keeps pointers into them */
    struct mixpanel_opts mo;
    int status = 1;
    if (!open_store(app) && !start_domain(app, &so, &mo) && !start_http(app)) {
        wait_for_signal(app, &sigs);
        status = 0;
    }
    stop_all(app);
    if (status == 0)
        log_info("stopped", NULL);
    return status;
}
