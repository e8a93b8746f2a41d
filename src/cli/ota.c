/* herald ota validate [--channel ID] [--json]: the reachable / auth / read checks of every OTA
 * channel (or one), printed per check, exit status 1 when any check failed; and the start and
 * stop of the channels domain and the pull kind for herald serve. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/log.h"
#include "cli/cli.h"
#include "ota/channels.h"
#include "ota/pull.h"
#include "ota/xml.h"
#include "store/store.h"

static const char ota_help[] =
    "usage: herald ota validate [--channel ID] [--json]\n\n"
    "Checks each OTA channel (or channel ID) end to end: reachable (the endpoint answers),\n"
    "auth (the credentials are accepted), read (a harmless read parses; nothing is\n"
    "acknowledged). Prints one line per check; --json prints the API's answer per channel.\n"
    "Exit status: 0 when every check passed or was skipped, 1 when one failed, 2 on a usage\n"
    "or configuration error.\n";

static void print_validation(const struct ota_channel *ch, const struct ota_validation *v)
{
    printf("channel %lld \"%s\" (%s, %s, hotel %s): %s\n", (long long)ch->id, ch->name,
           ota_channel_type_name(ch->type), ota_channel_mode_name(ch->mode), ch->hotel_code,
           v->ok ? "OK" : "FAILED");
    for (int i = 0; i < OTA_CHECKS; i++)
        printf("  %-10s %-8s %6lld ms  %s\n", v->checks[i].name,
               ota_check_result_name(v->checks[i].result), (long long)v->checks[i].duration_ms,
               v->checks[i].message);
}

/* Validates every channel of chs (or only `only`); returns the exit status. */
static int validate_all(struct app *app, struct ota_channels *chs, int64_t only, bool as_json)
{
    struct ota_channel *rows = NULL;
    size_t n = 0;
    struct herald_error err = {0};
    if (ota_channels_all(chs, &rows, &n, &err)) {
        fprintf(stderr, "herald: cannot read the OTA channels: %s\n", herald_error_message(&err));
        return 1;
    }
    int status = 0, seen = 0;
    long timeout = app->cfg.upstream_timeout_ms;
    for (size_t i = 0; i < n; i++) {
        if (only && rows[i].id != only)
            continue;
        seen++;
        struct ota_validation v;
        if (ota_channel_validate(chs, rows[i].id, timeout, (size_t)app->cfg.ota_max_message_bytes,
                                 &v, &err)) {
            fprintf(stderr, "herald: channel %lld: %s\n", (long long)rows[i].id,
                    herald_error_message(&err));
            status = 1;
            continue;
        }
        if (as_json) {
            json_t *j = api_ota_validation_json(&v);
            char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
            printf("%s\n", text ? text : "{}");
            free(text);
            json_decref(j);
        } else {
            print_validation(&rows[i], &v);
        }
        status = v.ok ? status : 1;
    }
    ota_channels_free_array(rows, n);
    if (only && !seen) {
        fprintf(stderr, "herald: no OTA channel %lld\n", (long long)only);
        return 1;
    }
    if (!seen && !as_json)
        printf("no OTA channels configured\n");
    return status;
}

int cli_ota(struct app *app, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "validate") != 0) {
        bool help = argc > 1 && !strcmp(argv[1], "--help");
        fputs(ota_help, help ? stdout : stderr);
        return help ? 0 : 2;
    }
    int64_t only = 0;
    bool as_json = false;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            as_json = true;
        else if (!strcmp(argv[i], "--channel") && i + 1 < argc &&
                 api_positive_id(argv[i + 1], &only))
            i++;
        else {
            fputs(ota_help, stderr);
            return 2;
        }
    }
    struct ota_channels *chs = NULL;
    ota_xml_init();
    if (cli_open_store(app, &app->store))
        return 2;
    int rc = ota_channels_open(app->store, app->cfg.ota_secret_file, &chs);
    int status = 2;
    if (rc)
        cli_error("cannot read or create HERALD_OTA_SECRET_FILE", rc);
    else
        status = validate_all(app, chs, only, as_json);
    ota_channels_close(chs);
    store_close(app->store);
    app->store = NULL;
    return status;
}

enum herald_err cli_ota_start(struct app *app)
{
    int rc = ota_channels_open(app->store, app->cfg.ota_secret_file, &app->ota_channels);
    if (rc) {
        cli_error("cannot read or create HERALD_OTA_SECRET_FILE", rc);
        return rc;
    }
    ota_channels_allow_insecure(app->ota_channels,
                                strcmp(app->cfg.allow_insecure_upstream, "true") == 0);
    struct ota_pull_opts po = {
        .st = app->store,
        .chs = app->ota_channels,
        .reservations = &app->ota_reservations, /* opened under the reservations anchor */
        .timeout_ms = app->cfg.upstream_timeout_ms,
        .max_message_bytes = (size_t)app->cfg.ota_max_message_bytes,
        .tick_ms = 1000,
    };
    rc = ota_pull_start(app->jobs, &po, &app->ota_pull);
    if (rc)
        cli_error("cannot register the OTA pull job kind", rc);
    return rc;
}

void cli_ota_stop(struct app *app)
{
    ota_pull_stop(app->ota_pull);
    app->ota_pull = NULL;
    ota_channels_close(app->ota_channels);
    app->ota_channels = NULL;
}
