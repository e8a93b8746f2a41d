/* Owns the error table (one row per code: number, JSON code, HTTP status, default text) and
 * the detail struct's setter; lookups for the strings and statuses api/ replies with. */
#include "base/err.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

struct err_row {
    int num;
    const char *code;
    int status;
    const char *msg;
};

static const struct err_row err_rows[] = {
#define HERALD_ERR_ROW(name, num, code, status, msg) {num, code, status, msg},
    HERALD_ERRORS(HERALD_ERR_ROW)
#undef HERALD_ERR_ROW
};

static const struct err_row *err_find(enum herald_err err)
{
    for (size_t i = 0; i < sizeof(err_rows) / sizeof(err_rows[0]); i++)
        if (err_rows[i].num == (int)err)
            return &err_rows[i];
    return NULL;
}

const char *herald_strerror(enum herald_err err)
{
    const struct err_row *row = err_find(err);
    return row ? row->msg : "unknown error";
}

const char *herald_err_code(enum herald_err err)
{
    const struct err_row *row = err_find(err);
    return row ? row->code : "internal_error";
}

int herald_err_http_status(enum herald_err err)
{
    const struct err_row *row = err_find(err);
    return row ? row->status : 500;
}

enum herald_err herald_error_set(struct herald_error *err, enum herald_err code, const char *field,
                                 const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    err->message[0] = '\0';
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *herald_error_message(const struct herald_error *err)
{
    return err->message[0] ? err->message : herald_strerror(err->code);
}
