/* A streaming ZIP writer (privacy/zip.c, zlib deflate): each file is written as it comes with
 * a data descriptor after it (no seeking back), then the central directory, so an archive of
 * any number of rows is produced piece by piece into a buffer the caller drains. Files and the
 * archive are limited to 4 GiB (no ZIP64): HERALD_ERR_TOO_LARGE past that. Other errors:
 * HERALD_ERR_NOMEM, HERALD_ERR_INTERNAL (zlib). */
#ifndef HERALD_PRIVACY_ZIP_H
#define HERALD_PRIVACY_ZIP_H

#include <stdbool.h>
#include <stdint.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/err.h"

struct zipw {
    struct buf *out; /* borrowed: every byte of the archive is appended here */
    uint64_t offset; /* bytes of the archive so far */
    z_stream z;
    bool in_file;
    uint32_t crc;
    uint64_t usize, csize, local_off;
    char name[64];
    struct buf central; /* the central directory, written by zipw_finish() */
    uint16_t nfiles;
    uint16_t dos_time, dos_date;
};

/* `mtime_ms` stamps every file. */
void zipw_init(struct zipw *w, struct buf *out, int64_t mtime_ms);
enum herald_err zipw_begin(struct zipw *w, const char *name);
enum herald_err zipw_write(struct zipw *w, const void *data, size_t len);
enum herald_err zipw_end_file(struct zipw *w);
/* Ends the open file, if any, and writes the central directory. */
enum herald_err zipw_finish(struct zipw *w);
void zipw_free(struct zipw *w);

#endif
