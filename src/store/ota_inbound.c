/* The store's pushed messages and webhook ids already seen: block
 * STMT_OTA_INBOUND__BASE..STMT_OTA_INBOUND__END of the statement registry and the operations over
 * those tables. */
#include "store/internal.h"

#define S(id) [STMT_##id - STMT_OTA_INBOUND__BASE]

const struct store_stmt_def
    store_ota_inbound_stmts[STMT_OTA_INBOUND__END - STMT_OTA_INBOUND__BASE] = {
        [0] = {NULL, NULL, false}, /* the block marker */
};
