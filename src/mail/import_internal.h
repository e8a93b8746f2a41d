/* Private to mail/import.c and mail/import_job.c: the kind's state, its table entry, and the
 * rules both sides of an import share. */
#ifndef HERALD_MAIL_IMPORT_INTERNAL_H
#define HERALD_MAIL_IMPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/csv.h"
#include "mail/import.h"

struct mail_import {
    struct store *st;
    struct jobs *jobs;
    struct mail_import_opts opts;
};

/* The "contact_import" kind (import_job.c). */
extern const struct jobs_kind mail_import_kind;

/* The parser limits of an import: fields of 16 KiB, header + attributes columns, 64 KiB
 * records. */
void mail_import_csv_opts(struct csv_opts *o);
/* True for a record whose fields are all empty or blanks: ignored, not counted. */
bool mail_import_blank(const struct csv_record *rec);

#endif
