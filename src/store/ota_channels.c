/* The store's OTA channels (encrypted credentials) and their pull cursors: block
 * STMT_OTA_CHANNELS__BASE..STMT_OTA_CHANNELS__END of the statement registry and the operations over
 * those tables. */
#include "store/internal.h"

#define S(id) [STMT_##id - STMT_OTA_CHANNELS__BASE]

const struct store_stmt_def
    store_ota_channels_stmts[STMT_OTA_CHANNELS__END - STMT_OTA_CHANNELS__BASE] = {
        [0] = {NULL, NULL, false}, /* the block marker */
};
