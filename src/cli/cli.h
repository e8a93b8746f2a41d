/* Subcommands of the herald binary; each returns the process exit status. */
#ifndef HERALD_CLI_CLI_H
#define HERALD_CLI_CLI_H

#include "app.h"
#include "base/err.h"

struct store;
struct backup_opts;

/* Opens the configured store, printing a clear message on failure. */
enum herald_err cli_open_store(struct app *app, struct store **out);
/* Prints "herald: <what>: <error text>" on stderr. */
void cli_error(const char *what, int rc);

int cli_serve(struct app *app, int argc, char **argv);
int cli_migrate(struct app *app, int argc, char **argv);
int cli_keys(struct app *app, int argc, char **argv);
int cli_backup(struct app *app, int argc, char **argv);
int cli_restore(struct app *app, int argc, char **argv);
int cli_dkim(struct app *app, int argc, char **argv);
/* Opens app->mail_transport from the configuration (NULL when HERALD_SMTP_URL is empty);
 * cli_transport_close() wakes its waiting senders and closes it (NULL is fine). */
enum herald_err cli_transport_open(const struct cfg *cfg, struct mail_transport **out);
void cli_transport_close(struct mail_transport *t);
/* The backup module's options from the configuration (strings borrowed from cfg). */
void cli_backup_opts(const struct cfg *cfg, struct backup_opts *o);

/* hotels: OTA channels (cli/ota.c): `herald ota validate`, and the channels domain and the
 * ota_pull kind + scheduler for serve (start before jobs_start; stop after jobs_free). */
int cli_ota(struct app *app, int argc, char **argv);
enum herald_err cli_ota_start(struct app *app);
void cli_ota_stop(struct app *app);

#endif
