/* The store's reservations and their revisions: block
 * STMT_OTA_RESERVATIONS__BASE..STMT_OTA_RESERVATIONS__END of the statement registry and the
 * operations over those tables. */
#include "store/internal.h"

#define S(id) [STMT_##id - STMT_OTA_RESERVATIONS__BASE]

const struct store_stmt_def
    store_ota_reservations_stmts[STMT_OTA_RESERVATIONS__END - STMT_OTA_RESERVATIONS__BASE] = {
        [0] = {NULL, NULL, false}, /* the block marker */
};
