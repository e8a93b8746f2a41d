/* The store's side of CSV contact imports (store/imports.c, statement block STMT_IMPORTS):
 * uploads spooled as ordered chunks (table import_chunks, base64url text), the import's
 * progress row (import_uploads, written in the transaction of each batch so a resumed job
 * continues exactly after the last committed one), and the multi-row batch statements over the
 * contacts helper's tables (contacts, subscriptions, mail_lists; migration 0007).
 *
 * A batch is JSON text: an array of [email, name, {attributes}] with unique, normalised emails.
 * All functions run inside the caller's transaction. Errors: HERALD_ERR_NOT_FOUND (no such
 * upload, chunk or list), HERALD_ERR_NOMEM, store errors (store.h). */
#ifndef HERALD_STORE_IMPORTS_H
#define HERALD_STORE_IMPORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* An upload and the progress of its import. */
struct store_import {
    char id[40];
    char job_id[40]; /* "" until the job is submitted */
    int64_t chunk_size, chunks, bytes;
    int64_t next_offset, next_line; /* where the next batch starts (a record boundary) */
    int64_t rows_read, imported, updated, skipped, invalid, subscribed;
    char *invalid_lines; /* JSON array (owned) */
    bool done;
    int64_t created_at_ms, updated_at_ms;
};
void store_import_clear(struct store_import *imp);

enum herald_err store_import_create(struct store_conn *c, const char *id, int64_t chunk_size,
                                    int64_t now_ms);
/* Chunk `seq` (0, 1, ...) of an upload: `data` is base64url text. */
enum herald_err store_import_chunk_put(struct store_conn *c, const char *id, int64_t seq,
                                       const char *data, int64_t now_ms);
/* Allocates *data (free() it). */
enum herald_err store_import_chunk_get(struct store_conn *c, const char *id, int64_t seq,
                                       char **data);
/* The upload is complete: its size, and where the rows start (after the header). */
enum herald_err store_import_uploaded(struct store_conn *c, const char *id, int64_t chunks,
                                      int64_t bytes, int64_t data_offset, int64_t data_line,
                                      int64_t now_ms);
enum herald_err store_import_set_job(struct store_conn *c, const char *id, const char *job_id);
enum herald_err store_import_get(struct store_conn *c, const char *id, struct store_import *out);
/* Saves the counters, next_offset/next_line, invalid_lines and done of `imp`. */
enum herald_err store_import_save(struct store_conn *c, const struct store_import *imp,
                                  int64_t now_ms);
/* Deletes the upload's chunks (and, with `row`, its progress row). */
enum herald_err store_import_delete(struct store_conn *c, const char *id, bool row);
/* Deletes what no job will read: uploads without a job untouched since `idle_before_ms`
 * (abandoned mid-way), and the chunks of uploads whose job completed or was cancelled.
 * *deleted counts the uploads. */
enum herald_err store_import_sweep(struct store_conn *c, int64_t idle_before_ms, int64_t *deleted);

/* The optin ("single"/"double") of list `id`; NOT_FOUND when there is no such list. */
enum herald_err store_import_list_optin(struct store_conn *c, int64_t id, char optin[8]);
/* Upsert mode: merges name (when not empty) and attributes into the contacts of the batch
 * that exist. *updated counts them. */
enum herald_err store_import_update(struct store_conn *c, const char *batch, int64_t now_ms,
                                    int64_t *updated);
/* Inserts the contacts of the batch that do not exist; *inserted counts them. */
enum herald_err store_import_insert(struct store_conn *c, const char *batch, int64_t now_ms,
                                    int64_t *inserted);
/* Subscribes every contact of the batch to every list of `lists` (JSON array of ids) that
 * exists, unless already subscribed (an existing subscription, unsubscribed included, is left
 * as it is): consent method "import", confirmed on a single opt-in list, unconfirmed on a
 * double one. *added counts the new subscriptions. */
enum herald_err store_import_subscribe(struct store_conn *c, const char *batch, const char *lists,
                                       int64_t consent_at_ms, const char *consent_ip,
                                       const char *consent_text, int64_t now_ms, int64_t *added);

#endif
