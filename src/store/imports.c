/* The store's imports statements (block STMT_IMPORTS__BASE..STMT_IMPORTS__END of the registry) and
 * the operations over them. */
#include "store/internal.h"

const struct store_stmt_def store_imports_stmts[STMT_IMPORTS__END - STMT_IMPORTS__BASE] = {
    [0] = {NULL, NULL, false}, /* the block marker */
};
