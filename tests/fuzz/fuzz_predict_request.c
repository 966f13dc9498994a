/* fuzz_predict_request: the body of POST /v1/predict
 * (pdm_predict_request_parse_text, consumer/predict_request.h): feature
 * rows, event histories (featurised on a fresh state) and batches.
 *
 * Checks: a refusal has a message for the client and leaves no items; an
 * accepted request has 1..PDM_PREDICT_MAX_INSTANCES rows (exactly one unless
 * it used the "instances" form), positive or absent machine ids, and rows
 * whose values are numbers or NaN (missing), never infinite.
 */
#include "fuzz.h"

#include <math.h>

#include "predict_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_predict_request req;
    char *text = fuzz_strndup(data, size);
    if (!text)
        return 0;
    err[0] = '\0';
    if (pdm_predict_request_parse_text(text, size, &req, err, sizeof err) == 0) {
        FUZZ_CHECK(req.n >= 1 && req.n <= PDM_PREDICT_MAX_INSTANCES, "%zu rows", req.n);
        FUZZ_CHECK(req.batch || req.n == 1, "%zu rows without \"instances\"", req.n);
        for (size_t i = 0; i < req.n; i++) {
            const pdm_predict_instance *in = &req.items[i];
            FUZZ_CHECK(in->machine_id >= 0, "row %zu: machine_id %d", i, (int)in->machine_id);
            for (size_t f = 0; f < PDM_N_FEATURES; f++)
                FUZZ_CHECK(!isinf(in->row[f]), "row %zu: feature %s is infinite", i,
                           pdm_feature_name(f));
        }
    } else {
        FUZZ_CHECK(err[0] != '\0', "a refused request has no message");
        FUZZ_CHECK(req.items == NULL && req.n == 0, "a refused request keeps %zu rows", req.n);
    }
    pdm_predict_request_free(&req);
    free(text);
    return 0;
}
