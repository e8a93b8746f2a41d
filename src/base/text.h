/* Small text checks and hashes shared by every layer: identifier charsets and a fast
 * non-cryptographic hash for in-memory tables. */
#ifndef HERALD_BASE_TEXT_H
#define HERALD_BASE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when s is 1..max bytes of ASCII letters, digits and characters from `extra`. */
bool text_ident_ok(const char *s, size_t max, const char *extra);
/* FNV-1a, 64 bits, of a NUL-terminated string. For hash tables and shards only: it is not
 * collision-resistant against chosen input. */
uint64_t text_hash(const char *s);

#endif
