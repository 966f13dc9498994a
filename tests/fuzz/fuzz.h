/* fuzz.h: what every libFuzzer target of tests/fuzz/ shares.
 *
 * A target is one file fuzz_<name>.c defining LLVMFuzzerTestOneInput (and
 * optionally LLVMFuzzerInitialize); tests/fuzz/targets.txt says which project
 * sources it links. Targets check properties of the code under test, not only
 * that it does not crash: FUZZ_CHECK aborts (a libFuzzer crash, with the
 * input saved) when a documented promise is broken.
 */
#ifndef PDM_FUZZ_H
#define PDM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond, ...)                                                                  \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

/* The input as a NUL-terminated string (malloc'ed; NULL on out of memory).
 * The copy is exactly size + 1 bytes, so AddressSanitizer sees any read
 * past the terminator. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        if (size)
            memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

#endif
