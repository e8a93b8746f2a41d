/* An incremental CSV parser (RFC 4180) for uploads that never sit whole in memory (mail/csv.c).
 *
 * Bytes are fed in pieces of any size (a quoted field, a CRLF or the UTF-8 BOM may be cut
 * anywhere); each complete record goes to a callback with its fields, the physical line it
 * starts on and the byte offset just past it (where parsing may later resume). Memory is
 * bounded by the options: a field over max_field bytes, a record over max_fields fields or
 * max_record bytes is reported as a malformed record, never grown without limit.
 *
 * Accepted: fields separated by ',', records ended by CRLF, LF or a lone CR; a field in double
 * quotes may hold ',', line breaks and "" (one quote); a UTF-8 BOM at offset 0 is skipped;
 * blank lines are skipped (not reported). Lenient: a quote inside an unquoted field is kept as
 * a character. Malformed records are reported with `error` set and parsing goes on:
 *  - text after a closing quote ("ab"c): "unexpected character after a closing quote";
 *  - a quoted field still open at max_record bytes, or at the end of the input, when the
 *    record spans several lines: "unterminated quoted field", reported on the record's first
 *    line; parsing then resumes on the line after it (the bytes held are read again), so one
 *    stray quote costs one line, not the rest of the file;
 *  - field, field-count or record size over the limits.
 * Fields are raw bytes (the caller checks UTF-8 and NULs). Not thread-safe; one parser per
 * stream. Ownership: the parser owns its buffers; a record's fields live until the callback
 * returns. */
#ifndef HERALD_MAIL_CSV_H
#define HERALD_MAIL_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CSV_DEFAULT_MAX_FIELD 16384
#define CSV_DEFAULT_MAX_FIELDS 128
#define CSV_DEFAULT_MAX_RECORD 65536

struct csv_opts {
    size_t max_field;  /* bytes of one field's value; 0: CSV_DEFAULT_MAX_FIELD */
    size_t max_fields; /* fields of one record; 0: CSV_DEFAULT_MAX_FIELDS */
    size_t max_record; /* raw bytes of one record; 0: CSV_DEFAULT_MAX_RECORD */
};

struct csv_field {
    const char *data; /* NUL-terminated copy; may hold NUL bytes too: use len */
    size_t len;
};

struct csv_record {
    const struct csv_field *fields;
    size_t nfields;     /* at least 1 */
    int64_t line;       /* 1-based physical line the record starts on */
    int64_t end_offset; /* byte offset just past the record and its line break */
    int64_t next_line;  /* the physical line at end_offset (where a resumed parse starts) */
    const char *error;  /* NULL, or why the record is malformed (fields are what was read) */
};

/* Returns 0 to go on; any other value stops the parse and is returned by csv_feed(). */
typedef int (*csv_record_fn)(void *arg, const struct csv_record *rec);

struct csv_parser;

/* A parser starting at byte `offset` of the stream, on physical line `line` (0 and 1 for the
 * beginning; a BOM is looked for only at offset 0). NULL when out of memory. */
struct csv_parser *csv_new(const struct csv_opts *opts, int64_t offset, int64_t line);
void csv_free(struct csv_parser *p);
/* Feeds the next piece of the stream. 0, or the callback's non-zero value (the parse must
 * then be abandoned). */
int csv_feed(struct csv_parser *p, const char *data, size_t len, csv_record_fn fn, void *arg);
/* The end of the stream: reports the last record when it has no line break. Same returns. */
int csv_finish(struct csv_parser *p, csv_record_fn fn, void *arg);
/* Bytes of the stream consumed so far (the offset of the next byte fed). */
int64_t csv_offset(const struct csv_parser *p);

#endif
