/* Shared by the unit tests: cmocka and a scratch directory under the build tree. */
#ifndef HERALD_TESTS_UNIT_H
#define HERALD_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

/* Creates a fresh directory for one test and writes its path into out. */
static inline void unit_tmpdir(char *out, size_t size)
{
    const char *base = getenv("HERALD_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0700);
    snprintf(out, size, "%s/unit-XXXXXX", base);
    assert_non_null(mkdtemp(out));
}

#endif
