/* Shared by the OTA unit tests: the channel fixtures of tests/fixtures/ota, parsed, and a
 * check that a parsed message holds no trace of a given string (card data). */
#ifndef HERALD_TESTS_UNIT_OTA_FIXTURES_H
#define HERALD_TESTS_UNIT_OTA_FIXTURES_H

#include "unit.h"

#include "ota/reservations.h"

static inline char *load_fixture(const char *name, size_t *len)
{
    char path[1024];
    const char *slash = strrchr(__FILE__, '/');
    snprintf(path, sizeof(path), "%.*s/../fixtures/ota/%s", (int)(slash - __FILE__), __FILE__,
             name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    data[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return data;
}

static inline enum herald_err parse_fixture(const char *name, size_t max, struct ota_res_message *m,
                                            struct herald_error *err)
{
    size_t len;
    char *xml = load_fixture(name, &len);
    memset(err, 0, sizeof(*err));
    enum herald_err rc = ota_res_parse(xml, len, max, m, err);
    free(xml);
    return rc;
}

/* True when needle occurs anywhere in the parsed message's memory (struct, rooms, comments). */
static inline bool message_holds(const struct ota_res_message *m, const char *needle)
{
    size_t nl = strlen(needle);
    if (memmem(m, sizeof(*m), needle, nl))
        return true;
    for (size_t i = 0; i < m->n; i++) {
        const struct ota_reservation *r = &m->items[i];
        if (memmem(r, sizeof(*r), needle, nl) ||
            (r->rooms && memmem(r->rooms, r->nrooms * sizeof(*r->rooms), needle, nl)) ||
            (r->comments && strstr(r->comments, needle)))
            return true;
    }
    return false;
}

#endif
