/* Private to store/: the migrations compiled into the binary from migrations/<dialect>/. */
#ifndef HERALD_STORE_MIGRATIONS_H
#define HERALD_STORE_MIGRATIONS_H

#include <stddef.h>

struct store_migration_src {
    int version;
    const char *name;
    const char *up;
    const char *down;
};

extern const struct store_migration_src store_migrations_sqlite[];
extern const size_t store_migrations_sqlite_count;
extern const struct store_migration_src store_migrations_postgres[];
extern const size_t store_migrations_postgres_count;

#endif
