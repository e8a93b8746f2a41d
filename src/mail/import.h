/* CSV contact imports (domain: mail/import.c the upload, mail/import_job.c the job kind).
 *
 * An upload is streamed, never held whole: each piece goes through the CSV parser (mail/csv.h:
 * the header row is checked, the rows counted) and into a chunk buffer spooled to the store as
 * ordered chunks of MAIL_IMPORT_CHUNK bytes (store/imports.h), each in its own transaction. At
 * the end the job (kind "contact_import") is submitted and its id returned; until then nothing
 * is imported, and an upload that does not finish leaves nothing behind (its chunks are
 * deleted, or swept an hour later after a crash).
 *
 * The header: a column "email" (required) and "name" (optional), in any order and any case;
 * every other column is an attribute, named by its header (1-64 of A-Z a-z 0-9 _ -, unique),
 * at most MAIL_IMPORT_MAX_ATTRIBUTES of them.
 *
 * The job reads the chunks in order from the saved position, parses, validates each row
 * (email trimmed, lower-cased, evkey_email_valid(); name at most 256 bytes; values valid UTF-8
 * without NUL; as many fields as the header; a malformed record is invalid with the parser's
 * reason) and writes MAIL_IMPORT_BATCH rows per transaction, together with its progress row,
 * so a resumed job (crash, node stop, lease taken over) continues after the last committed
 * batch and counts nothing twice. Per row: a new email is inserted (imported); an existing one
 * is merged (mode upsert: a non-empty name replaces the name, non-empty attribute values are
 * merged into the attributes; updated) or left as it is (mode skip; skipped). Empty cells never
 * erase anything. Rows of the same email later in the file are applied after the earlier one.
 * Every valid row's contact is then subscribed to each list of the request unless it already
 * has a subscription to it (whatever its status: an unsubscribed contact stays unsubscribed):
 * consent method "import" with the uploader's IP, the consentText and the upload's time;
 * confirmed on a single opt-in list, unconfirmed on a double opt-in list. Imports send no
 * confirmation mails: a double opt-in list's imported contacts stay unconfirmed (not mailed)
 * until they confirm through another way in. Blank rows (every field empty) are ignored.
 *
 * Progress (the job's, GET /api/contacts/import/{jobId}): rows (counted at upload), rowsRead,
 * imported, updated, skipped, invalid, subscribed, bytesRead, bytes, invalidLines (the first
 * MAIL_IMPORT_INVALID_SHOWN as {"line","reason"}; `invalid` counts them all). When the job is
 * done its chunks are deleted.
 *
 * Errors: HERALD_ERR_INVALID with a field ("lists", "mode", "consentText", "body" for the
 * header or an empty body), HERALD_ERR_TOO_LARGE (more rows than max_rows), HERALD_ERR_NOT_FOUND
 * (status of an unknown job or one of another kind), store and jobs errors. */
#ifndef HERALD_MAIL_IMPORT_H
#define HERALD_MAIL_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "jobs/jobs.h"
#include "store/store.h"

#define MAIL_IMPORT_KIND "contact_import"
#define MAIL_IMPORT_CHUNK ((size_t)1 << 20) /* raw bytes per spooled chunk */
#define MAIL_IMPORT_BATCH 1000              /* rows per transaction */
#define MAIL_IMPORT_INVALID_SHOWN 1000
#define MAIL_IMPORT_MAX_ATTRIBUTES 100
#define MAIL_IMPORT_MAX_LISTS 100
#define MAIL_IMPORT_CONSENT_TEXT_MAX 4096
#define MAIL_IMPORT_NAME_MAX 256

struct mail_import_opts {
    int64_t max_rows; /* HERALD_IMPORT_MAX_ROWS */
};

/* The job kind and what uploads need (store, jobs, options). */
struct mail_import;

/* Registers the "contact_import" kind. *out lives until mail_import_free(), after the jobs
 * layer has stopped. */
enum herald_err mail_import_register(struct jobs *j, struct store *st,
                                     const struct mail_import_opts *opts, struct mail_import **out);
void mail_import_free(struct mail_import *mi);

struct mail_import_request {
    const int64_t *lists; /* to subscribe to; each must exist */
    size_t nlists;
    bool skip_existing;       /* mode=skip; else upsert */
    const char *consent_text; /* NULL: none */
    const char *consent_ip;   /* the uploader's address, or NULL */
};

struct mail_import_upload;

/* Checks the request (lists exist), sweeps abandoned uploads and starts a new one (copies
 * what it needs of `rq`). Free it with mail_import_upload_free(). */
enum herald_err mail_import_begin(struct mail_import *mi, const struct mail_import_request *rq,
                                  struct mail_import_upload **out, struct herald_error *err);
/* The next piece of the body: parsed (header checked, rows counted) and spooled. */
enum herald_err mail_import_write(struct mail_import_upload *up, const char *data, size_t len,
                                  struct herald_error *err);
/* The body is complete: spools the rest and submits the job; writes its id and the rows
 * counted. */
enum herald_err mail_import_finish(struct mail_import_upload *up, char job_id[40], int64_t *rows,
                                   struct herald_error *err);
/* The upload's id (its chunks' key in the store; in the job's params as "upload"). */
const char *mail_import_upload_id(const struct mail_import_upload *up);
/* Frees the upload; one not handed to a job has its chunks deleted. NULL is fine. */
void mail_import_upload_free(struct mail_import_upload *up);

/* The job (status, progress with the invalid lines): NOT_FOUND unless it is an import job.
 * Clear *out with jobs_info_clear(). */
enum herald_err mail_import_status(struct mail_import *mi, const char *job_id,
                                   struct jobs_info *out);

#endif
