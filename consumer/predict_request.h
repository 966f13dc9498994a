/* predict_request.h (internal to consumer/): the body of POST /v1/predict.
 *
 * Three forms, all JSON objects:
 *   {"features": {"volt_mean_3h": 170.2, ...}, "machine_id": 7?}
 *       a feature row; absent features and null are missing values (NaN);
 *   {"machine_id": 7, "events": [{"type": "telemetry", "ts": ..., ...}, ...],
 *    "ts": "2015-03-01T06:00:00Z"?}
 *       a short history of one machine's events (the JSON form of
 *       pdm_event_from_json), applied in the v1 order to a fresh state (the
 *       stored state is not touched) and featurised at "ts", by default the
 *       newest telemetry's time;
 *   {"instances": [<either form above>, ...]}
 *       many rows in one model call.
 * Unknown keys, unknown features, values of the wrong type, numbers that are
 * not finite (-1e400 parses as -inf), events of another machine and empty
 * histories are errors with a message for a 400; so is a text holding an
 * escaped NUL (\u0000): cJSON keeps strings as C strings, so a key
 * "volt_mean_24h\u0000junk" would otherwise read as "volt_mean_24h".
 * Kept apart from the HTTP handlers so that it can be fuzzed.
 */
#ifndef PDM_PREDICT_REQUEST_H
#define PDM_PREDICT_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "pdm_features.h"
#include "pdm_schemas.h"

struct cJSON;

#define PDM_PREDICT_MAX_INSTANCES 1000
#define PDM_PREDICT_MAX_EVENTS 10000 /* per history */

typedef struct {
    int32_t machine_id; /* 0 when the request names none */
    int64_t ts;         /* the row's time; INT64_MIN for a bare feature row */
    double row[PDM_N_FEATURES];
} pdm_predict_instance;

typedef struct {
    pdm_predict_instance *items; /* malloc'ed */
    size_t n;
    int batch; /* the "instances" form: answer with a list */
} pdm_predict_request;

/* Parses root into req (free with pdm_predict_request_free). Returns 0, or
 * -1 with a message for the client in errstr. */
int pdm_predict_request_parse(const struct cJSON *root, pdm_predict_request *req, char *errstr,
                              size_t errlen);
/* The same from text (for the fuzzer and tests): also fails on bad JSON and
 * on pdm_json_has_escaped_nul. */
int pdm_predict_request_parse_text(const char *text, size_t len, pdm_predict_request *req,
                                   char *errstr, size_t errlen);
void pdm_predict_request_free(pdm_predict_request *req);

/* Does JSON text hold a NUL: a raw NUL byte, or a string (key or value)
 * with an escaped one, \u0000? cJSON ends strings at NUL and would read such
 * a string cut short, so callers refuse the text before parsing. Scans the
 * raw text: "\\u0000" (an escaped backslash, then "u0000") is not a NUL. */
#define PDM_PREDICT_NUL_MESSAGE "keys and strings must not contain NUL (\\u0000)"
int pdm_json_has_escaped_nul(const char *text, size_t len);

/* The semantic checks of an input event that the codec does not make, shared
 * by the stream (a failure is a dead letter with this reason) and the HTTP
 * API: machine_id > 0; not a RiskEvent; ts from 2000 to now + 24 h;
 * telemetry finite within [0, 1000] V, [0, 10000] rpm, [0, 1000] psi,
 * [0, 1000] vibration; machine age 0..200 years. Returns NULL if the event
 * passes, else the reason ("invalid_machine", "unexpected_type",
 * "invalid_timestamp", "invalid_value") with a detail. */
const char *pdm_input_validate(const pdm_event *ev, int64_t now_ms, char *detail, size_t len);

#endif
