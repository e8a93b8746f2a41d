/* The store's rate and availability intents and the delivery outbox: block
 * STMT_OTA_UPDATES__BASE..STMT_OTA_UPDATES__END of the statement registry and the operations over
 * those tables. */
#include "store/internal.h"

#define S(id) [STMT_##id - STMT_OTA_UPDATES__BASE]

const struct store_stmt_def
    store_ota_updates_stmts[STMT_OTA_UPDATES__END - STMT_OTA_UPDATES__BASE] = {
        [0] = {NULL, NULL, false}, /* the block marker */
};
