/* The store's campaigns statements (block STMT_CAMPAIGNS__BASE..STMT_CAMPAIGNS__END of the
 * registry) and the operations over them. */
#include "store/internal.h"

const struct store_stmt_def store_campaigns_stmts[STMT_CAMPAIGNS__END - STMT_CAMPAIGNS__BASE] = {
    [0] = {NULL, NULL, false}, /* the block marker */
};
