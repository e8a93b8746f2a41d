/* The store's privacy tables: block STMT_PRIVACY__BASE..STMT_PRIVACY__END of the statement
 * registry (suppression list, audit log) and the export, erasure and retention queries. */
#include "store/internal.h"

#define S(id) [STMT_##id - STMT_PRIVACY__BASE]

const struct store_stmt_def store_privacy_stmts[STMT_PRIVACY__END - STMT_PRIVACY__BASE] = {
    [0] = {NULL, NULL, false}, /* the block marker */
};
