/* Private to ota/reservations*.c: the domain handle and the names shared by ingest and reads. */
#ifndef HERALD_OTA_RESERVATIONS_INTERNAL_H
#define HERALD_OTA_RESERVATIONS_INTERNAL_H

#include "ota/reservations.h"

struct ota_reservations {
    struct store *st;
    struct ota_revision_hook hook;
};

#endif
