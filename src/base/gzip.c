/* Owns one-shot gzip compression over zlib (gzip.h). */
#include "base/gzip.h"

#include <stdlib.h>
#include <zlib.h>

#include "base/err.h"

enum herald_err gzip_compress(const void *in, size_t len, int level, char **out, size_t *out_len)
{
    z_stream zs = {0};
    /* windowBits 16 + 15: a gzip header and trailer rather than raw zlib. */
    if (deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return HERALD_ERR_INTERNAL;
    size_t cap = deflateBound(&zs, (uLong)len);
    char *buf = malloc(cap);
    int rc = buf ? HERALD_OK : HERALD_ERR_NOMEM;
    if (buf) {
        zs.next_in = (Bytef *)in;
        zs.avail_in = (uInt)len;
        zs.next_out = (Bytef *)buf;
        zs.avail_out = (uInt)cap;
        if (deflate(&zs, Z_FINISH) == Z_STREAM_END) {
            *out = buf;
            *out_len = zs.total_out;
        } else {
            free(buf);
            rc = HERALD_ERR_INTERNAL;
        }
    }
    deflateEnd(&zs);
    return rc;
}
