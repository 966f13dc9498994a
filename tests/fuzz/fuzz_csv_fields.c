/* fuzz_csv_fields: the field parsers the CSV loader runs on every cell,
 * on exact-size buffers (no terminator), so that AddressSanitizer catches a
 * read past a field's end that a mapped file would hide.
 *
 * Input: byte 0 even: a number (pdm_ds_parse_num), odd: a timestamp
 * (pdm_time_parse); the rest is the field. Checks:
 * - a number that parses equals what strtod makes of the same text, which
 *   strtod reads to its end (the loader's fast path must be exact);
 * - a timestamp that parses formats back (pdm_time_format) to the same
 *   date and time.
 */
#include "fuzz.h"

#include <math.h>

#include "dataset_internal.h"
#include "pdm_common.h"

static void check_number(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return;
    if (size)
        memcpy(copy, data, size);
    double v = 0;
    int rc = pdm_ds_parse_num(copy, size, &v);
    FUZZ_CHECK(rc == 0 || rc == -1 || rc == -2, "rc %d", rc);
    if (rc == 0) {
        char *text = fuzz_strndup(data, size), *end;
        FUZZ_CHECK(text != NULL, "oom");
        double ref = strtod(text, &end);
        FUZZ_CHECK(end == text + size, "accepted \"%s\", which strtod stops in", text);
        FUZZ_CHECK(isfinite(v), "accepted \"%s\" as a non-finite %g", text, v);
        FUZZ_CHECK(memcmp(&v, &ref, sizeof v) == 0, "\"%s\": %.17g, strtod says %.17g", text, v,
                   ref);
        free(text);
    }
    free(copy);
}

static void check_time(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return;
    if (size)
        memcpy(copy, data, size);
    int64_t ms = 0;
    if (pdm_time_parse(copy, size, &ms) == 0) {
        char expect[20], got[32];
        FUZZ_CHECK(size == 10 || size == 19 || size == 20, "accepted %zu bytes", size);
        FUZZ_CHECK(ms % 1000 == 0, "whole seconds, got %lld ms", (long long)ms);
        memcpy(expect, copy, 10);
        if (size == 10)
            memcpy(expect + 10, " 00:00:00", 9);
        else
            memcpy(expect + 10, copy + 10, 9);
        expect[10] = ' ';
        expect[19] = '\0';
        pdm_time_format(ms, got);
        FUZZ_CHECK(strcmp(expect, got) == 0, "parsed \"%s\" formats as \"%s\"", expect, got);
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        check_time(data + 1, size - 1);
    else
        check_number(data + 1, size - 1);
    return 0;
}
