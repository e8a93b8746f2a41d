/* The dead-letter retry path: POST /api/jobs/dead-letters/{id}/retry hands a stored dead
 * letter's payload (upstream or Mixpanel data, possibly truncated at 64 KiB) to the kind that
 * retries it. Its validation must refuse anything but one Mixpanel event with a reason, and
 * what it accepts must serialise back to an event the import can send. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
#include "sync/mixpanel_retry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *payload = malloc(size + 1);
    memcpy(payload, data, size);
    payload[size] = '\0';
    json_int_t id = size ? (json_int_t)data[0] - 8 : 1; /* some ids are zero or negative */
    json_t *raw = json_pack("{s:I, s:s}", "deadLetterId", id, "payload", payload);
    if (!raw) { /* not UTF-8: jansson refuses it, as the store's JSON columns would */
        free(payload);
        return 0;
    }
    json_t *out = NULL;
    struct jobs_problem problem = {0};
    int rc = mixpanel_retry_job_kind.validate(NULL, raw, &out, &problem);
    if (rc == 0) {
        json_t *event = json_object_get(out, "event");
        if (id <= 0 || !json_is_object(event) || !json_is_string(json_object_get(event, "event")) ||
            !json_is_object(json_object_get(event, "properties")))
            abort();
        char *text = json_dumps(event, JSON_COMPACT);
        if (!text)
            abort();
        free(text);
    } else if (!problem.field[0] || !problem.message[0] || out) {
        abort(); /* a refusal names the field and says why */
    }
    json_decref(out);
    json_decref(raw);
    free(payload);
    return 0;
}
