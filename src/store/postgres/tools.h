/* PostgreSQL backups through pg_dump/pg_restore (tools.c), for the backend table in
 * postgres.c. */
#ifndef HERALD_STORE_POSTGRES_TOOLS_H
#define HERALD_STORE_POSTGRES_TOOLS_H

struct store;

/* pg_dump --format=custom of the store's database into `path`. */
int pg_tool_backup(struct store *st, const char *path);
/* pg_restore --list of `path`: HERALD_ERR_BACKUP_INVALID unless it holds schema_migrations. */
int pg_tool_verify_backup(struct store *st, const char *path);
/* pg_restore --clean --single-transaction of `path` into the store's database. */
int pg_tool_restore(struct store *st, const char *path);

#endif
