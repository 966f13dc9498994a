/* fuzz_input_validate: what the scorer does with a Kafka message before
 * its state sees it: pdm_codec_decode, then the semantic checks
 * (pdm_input_validate, consumer/predict_request.h) whose reason and detail
 * go into the dead-letter headers.
 *
 * Checks: a refused event gets one of the documented reasons and a detail;
 * an accepted one has machine_id > 0, is not a RiskEvent, has ts from 2000
 * to now + 24 h, finite readings within [0, 1000] V, [0, 10000] rpm,
 * [0, 1000] psi and [0, 1000] vibration, and a machine age of 0..200 years.
 */
#include "fuzz.h"

#include <math.h>

#include "pdm_common.h"
#include "pdm_schemas.h"
#include "predict_request.h"

static pdm_codec *codec;
/* A fixed "now" keeps runs reproducible: 2026-01-01T00:00:00Z. */
static const int64_t now_ms = INT64_C(1767225600000);

static void destroy_codec(void) { pdm_codec_destroy(codec); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[PDM_ERRSTR_SIZE];
    codec = pdm_codec_new(err, sizeof err);
    FUZZ_CHECK(codec != NULL, "pdm_codec_new: %s", err);
    for (int t = 0; t < PDM_EV_COUNT; t++)
        FUZZ_CHECK(pdm_codec_set_schema_id(codec, (pdm_event_type)t, t + 1) == 0, "schema id");
    atexit(destroy_codec);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[PDM_ERRSTR_SIZE], detail[256];
    pdm_event ev;
    if (pdm_codec_decode(codec, data, size, &ev, err, sizeof err) != PDM_DECODE_OK)
        return 0;
    detail[0] = '\0';
    const char *why = pdm_input_validate(&ev, now_ms, detail, sizeof detail);
    if (why) {
        FUZZ_CHECK(!strcmp(why, "invalid_machine") || !strcmp(why, "unexpected_type") ||
                       !strcmp(why, "invalid_timestamp") || !strcmp(why, "invalid_value"),
                   "undocumented reason \"%s\"", why);
        FUZZ_CHECK(detail[0] != '\0', "reason %s without a detail", why);
        return 0;
    }
    FUZZ_CHECK(ev.machine_id > 0, "accepted machine_id %d", (int)ev.machine_id);
    FUZZ_CHECK(ev.type != PDM_EV_RISK, "accepted a RiskEvent as input");
    FUZZ_CHECK(ev.ts >= INT64_C(946684800000) && ev.ts <= now_ms + 24 * PDM_MS_PER_HOUR,
               "accepted ts %lld", (long long)ev.ts);
    if (ev.type == PDM_EV_TELEMETRY) {
        /* The header's bounds, written out: volt, rotate, pressure, vibration. */
        static const double hi[4] = {1000.0, 10000.0, 1000.0, 1000.0};
        double v[4] = {ev.u.telemetry.volt, ev.u.telemetry.rotate, ev.u.telemetry.pressure,
                       ev.u.telemetry.vibration};
        for (int i = 0; i < 4; i++)
            FUZZ_CHECK(isfinite(v[i]) && v[i] >= 0 && v[i] <= hi[i],
                       "accepted reading %d = %.17g outside [0, %g]", i, v[i], hi[i]);
    }
    if (ev.type == PDM_EV_MACHINE)
        FUZZ_CHECK(ev.u.machine.age >= 0 && ev.u.machine.age <= 200, "accepted age %d",
                   ev.u.machine.age);
    return 0;
}
