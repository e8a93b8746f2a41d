/* The connector table: every platform Herald syncs from, in one list. Adding a connector is
 * its file (like lemlist.c), one line here and its fake under tests/fakes/. */
#include <string.h>

#include "sync/connector.h"

const struct sync_connector *const sync_connectors[] = {
    &sync_lemlist,
    &sync_smartlead,
};
const size_t sync_connector_count = sizeof(sync_connectors) / sizeof(sync_connectors[0]);

const struct sync_connector *sync_connector_find(const char *platform)
{
    for (size_t i = 0; platform && i < sync_connector_count; i++)
        if (strcmp(sync_connectors[i]->platform, platform) == 0)
            return sync_connectors[i];
    return NULL;
}

size_t sync_connector_index(const struct sync_connector *c)
{
    for (size_t i = 0; i < sync_connector_count; i++)
        if (sync_connectors[i] == c)
            return i;
    return 0;
}
