/* The store's feedback statements (block STMT_FEEDBACK__BASE..STMT_FEEDBACK__END of the registry)
 * and the operations over them. */
#include "store/internal.h"

const struct store_stmt_def store_feedback_stmts[STMT_FEEDBACK__END - STMT_FEEDBACK__BASE] = {
    [0] = {NULL, NULL, false}, /* the block marker */
};
