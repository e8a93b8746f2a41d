/* The store's contacts statements (block STMT_CONTACTS__BASE..STMT_CONTACTS__END of the registry)
 * and the operations over them. */
#include "store/internal.h"

const struct store_stmt_def store_contacts_stmts[STMT_CONTACTS__END - STMT_CONTACTS__BASE] = {
    [0] = {NULL, NULL, false}, /* the block marker */
};
