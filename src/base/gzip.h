/* gzip compression of a buffer in one call (libdeflate), for HTTP replies and Mixpanel imports. */
#ifndef HERALD_BASE_GZIP_H
#define HERALD_BASE_GZIP_H

#include <stddef.h>

#include "base/err.h"

/* Compresses `len` bytes at `level` (1 fastest .. 12 smallest; anything else means 6, zlib's
 * default) into a gzip stream. On success *out is allocated (free() it). HERALD_ERR_NOMEM or
 * HERALD_ERR_INTERNAL otherwise. */
enum herald_err gzip_compress(const void *in, size_t len, int level, char **out, size_t *out_len);

#endif
