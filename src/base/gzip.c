/* Owns one-shot gzip compression over libdeflate (gzip.h): every caller has the whole buffer
 * at hand, which is the case libdeflate is built for — about twice zlib's speed at level 1. */
#include "base/gzip.h"

#include <libdeflate.h>
#include <stdlib.h>

#include "base/err.h"

enum herald_err gzip_compress(const void *in, size_t len, int level, char **out, size_t *out_len)
{
    if (level < 1 || level > 12)
        level = 6; /* zlib's default, and libdeflate's balanced middle */
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
    if (!c)
        return HERALD_ERR_NOMEM;
    size_t cap = libdeflate_gzip_compress_bound(c, len);
    char *buf = malloc(cap);
    enum herald_err rc = HERALD_ERR_NOMEM;
    if (buf) {
        size_t n = libdeflate_gzip_compress(c, in, len, buf, cap);
        if (n > 0) {
            *out = buf;
            *out_len = n;
            rc = HERALD_OK;
        } else {
            free(buf);
            rc = HERALD_ERR_INTERNAL; /* cannot happen with a bound-sized buffer */
        }
    }
    libdeflate_free_compressor(c);
    return rc;
}
