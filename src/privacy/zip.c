/* A streaming ZIP writer: deflated entries with data descriptors, then the central directory
 * (PKWARE APPNOTE 6.3: local header, descriptor, central header, end of central directory). */
#include "privacy/zip.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define CHUNK 16384
#define LIMIT 0xffffffffULL

static enum herald_err put(struct buf *b, const void *data, size_t len, uint64_t *offset)
{
    int rc = buf_append(b, data, len);
    if (!rc && offset)
        *offset += len;
    return rc;
}

static void le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
    le16(p, (uint16_t)v);
    le16(p + 2, (uint16_t)(v >> 16));
}

void zipw_init(struct zipw *w, struct buf *out, int64_t mtime_ms)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
    buf_init(&w->central, 1 << 20);
    time_t t = (time_t)(mtime_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    w->dos_time = (uint16_t)(tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec / 2);
    w->dos_date = (uint16_t)((tm.tm_year - 80) << 9 | (tm.tm_mon + 1) << 5 | tm.tm_mday);
}

/* The fields local and central headers share, from "version needed" to the name length. */
static void common(const struct zipw *w, uint8_t *p, bool sizes)
{
    le16(p, 20);         /* version needed: deflate */
    le16(p + 2, 0x0808); /* data descriptor follows; UTF-8 names */
    le16(p + 4, 8);      /* deflate */
    le16(p + 6, w->dos_time);
    le16(p + 8, w->dos_date);
    le32(p + 10, sizes ? w->crc : 0);
    le32(p + 14, sizes ? (uint32_t)w->csize : 0);
    le32(p + 18, sizes ? (uint32_t)w->usize : 0);
    le16(p + 22, (uint16_t)strlen(w->name));
}

enum herald_err zipw_begin(struct zipw *w, const char *name)
{
    if (w->in_file || strlen(name) >= sizeof(w->name))
        return HERALD_ERR_INTERNAL;
    if (deflateInit2(&w->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return HERALD_ERR_NOMEM;
    snprintf(w->name, sizeof(w->name), "%s", name);
    w->in_file = true;
    w->crc = (uint32_t)crc32(0L, Z_NULL, 0);
    w->usize = w->csize = 0;
    w->local_off = w->offset;
    uint8_t h[30] = {0};
    le32(h, 0x04034b50);
    common(w, h + 4, false);
    int rc = put(w->out, h, sizeof(h), &w->offset);
    return rc ? rc : put(w->out, w->name, strlen(w->name), &w->offset);
}

static enum herald_err pump(struct zipw *w, int flush)
{
    uint8_t tmp[CHUNK];
    int zr;
    do {
        w->z.next_out = tmp;
        w->z.avail_out = sizeof(tmp);
        zr = deflate(&w->z, flush);
        if (zr == Z_STREAM_ERROR)
            return HERALD_ERR_INTERNAL;
        size_t got = sizeof(tmp) - w->z.avail_out;
        w->csize += got;
        int rc = got ? put(w->out, tmp, got, &w->offset) : HERALD_OK;
        if (rc)
            return rc;
    } while (w->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
    return HERALD_OK;
}

enum herald_err zipw_write(struct zipw *w, const void *data, size_t len)
{
    if (!w->in_file)
        return HERALD_ERR_INTERNAL;
    if (w->usize + len > LIMIT || w->offset + len > LIMIT)
        return HERALD_ERR_TOO_LARGE;
    w->crc = (uint32_t)crc32(w->crc, data, (uInt)len);
    w->usize += len;
    w->z.next_in = (Bytef *)data;
    w->z.avail_in = (uInt)len;
    return pump(w, Z_NO_FLUSH);
}

static enum herald_err central_entry(struct zipw *w)
{
    uint8_t h[46] = {0};
    le32(h, 0x02014b50);
    le16(h + 4, 0x0314); /* made by: Unix, 2.0 */
    common(w, h + 6, true);
    le32(h + 38, 0644u << 16); /* external attributes: a regular file, rw-r--r-- */
    le32(h + 42, (uint32_t)w->local_off);
    int rc = put(&w->central, h, sizeof(h), NULL);
    return rc ? rc : put(&w->central, w->name, strlen(w->name), NULL);
}

enum herald_err zipw_end_file(struct zipw *w)
{
    if (!w->in_file)
        return HERALD_OK;
    w->z.next_in = NULL;
    w->z.avail_in = 0;
    int rc = pump(w, Z_FINISH);
    deflateEnd(&w->z);
    w->in_file = false;
    if (rc)
        return rc;
    if (w->csize > LIMIT || w->offset > LIMIT)
        return HERALD_ERR_TOO_LARGE;
    uint8_t d[16];
    le32(d, 0x08074b50);
    le32(d + 4, w->crc);
    le32(d + 8, (uint32_t)w->csize);
    le32(d + 12, (uint32_t)w->usize);
    rc = put(w->out, d, sizeof(d), &w->offset);
    w->nfiles++;
    return rc ? rc : central_entry(w);
}

enum herald_err zipw_finish(struct zipw *w)
{
    int rc = zipw_end_file(w);
    if (rc)
        return rc;
    uint64_t cd_off = w->offset;
    rc = put(w->out, w->central.data, w->central.len, &w->offset);
    uint8_t e[22] = {0};
    le32(e, 0x06054b50);
    le16(e + 8, w->nfiles);
    le16(e + 10, w->nfiles);
    le32(e + 12, (uint32_t)w->central.len);
    le32(e + 16, (uint32_t)cd_off);
    return rc ? rc : put(w->out, e, sizeof(e), &w->offset);
}

void zipw_free(struct zipw *w)
{
    if (w->in_file)
        deflateEnd(&w->z);
    w->in_file = false;
    buf_free(&w->central);
}
