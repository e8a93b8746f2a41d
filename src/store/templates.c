/* The store's templates statements (block STMT_TEMPLATES__BASE..STMT_TEMPLATES__END of the
 * registry) and the operations over them. */
#include "store/internal.h"

const struct store_stmt_def store_templates_stmts[STMT_TEMPLATES__END - STMT_TEMPLATES__BASE] = {
    [0] = {NULL, NULL, false}, /* the block marker */
};
