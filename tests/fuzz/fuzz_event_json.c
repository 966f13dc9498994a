/* fuzz_event_json: the JSON form of events (pdm_event_from_json_with_risk),
 * which tools and the HTTP API read from users.
 *
 * Checks: a refused document gets a message; an accepted event prints
 * (pdm_event_to_json) to text that parses back to an event printing the
 * same text (the JSON form is a fixed point after one round).
 */
#include "fuzz.h"

#include "pdm_common.h"
#include "pdm_schemas.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_event ev, ev2;
    pdm_risk risk, risk2;
    char *text = fuzz_strndup(data, size), *json = NULL, *json2 = NULL;
    if (!text)
        return 0;
    err[0] = '\0';
    if (pdm_event_from_json_with_risk(text, &ev, &risk, err, sizeof err)) {
        FUZZ_CHECK(err[0] != '\0', "a refused document has no message");
        goto out;
    }
    json = pdm_event_to_json(&ev);
    FUZZ_CHECK(json != NULL, "pdm_event_to_json");
    err[0] = '\0';
    FUZZ_CHECK(pdm_event_from_json_with_risk(json, &ev2, &risk2, err, sizeof err) == 0,
               "the printed event does not parse: %s: %s", err, json);
    json2 = pdm_event_to_json(&ev2);
    FUZZ_CHECK(json2 != NULL, "pdm_event_to_json");
    FUZZ_CHECK(strcmp(json, json2) == 0, "JSON round trip changed the event:\n  %s\n  %s", json,
               json2);
out:
    free(text);
    free(json);
    free(json2);
    return 0;
}
