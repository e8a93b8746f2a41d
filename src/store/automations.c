/* The store's guests' consent from reservations and stay-triggered automations: block
 * STMT_AUTOMATIONS__BASE..STMT_AUTOMATIONS__END of the statement registry and the operations over
 * those tables. */
#include "store/internal.h"

#define S(id) [STMT_##id - STMT_AUTOMATIONS__BASE]

const struct store_stmt_def
    store_automations_stmts[STMT_AUTOMATIONS__END - STMT_AUTOMATIONS__BASE] = {
        [0] = {NULL, NULL, false}, /* the block marker */
};
