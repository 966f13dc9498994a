/* ubj.h (internal to model/): a cursor reader of UBJSON, the binary JSON
 * XGBoost writes its boosters in. It walks the buffer without building a
 * document: a value is its marker and a cursor on its payload, typed arrays
 * (split_conditions and the like) are read straight from the buffer, and
 * nothing is allocated. Every read is bounds-checked against the buffer's
 * end; containers nest at most 64 deep. */
#ifndef PDM_MODEL_UBJ_H
#define PDM_MODEL_UBJ_H

#include <stddef.h>

typedef struct {
    const unsigned char *p, *end;
} ubj_cur;

/* A value: its marker and its payload (up to the end of the buffer). The
 * document's root object is {'{', {first byte after '{', end}}. */
typedef struct {
    unsigned char m;
    ubj_cur c;
} ubj_val;

/* The elements of an array or object, in order. */
typedef struct {
    ubj_cur c;
    int object, counted;
    unsigned char type;
    size_t left;
    int depth;
} ubj_iter;

/* Starts on the array or object v, depth containers deep. 0 or -1. */
int ubj_iter_open(const ubj_val *v, ubj_iter *it, int depth);
/* Reads one element of a container: key (objects; NULL and 0 in arrays),
 * marker, payload; v gets the value. Returns 1 for an element, 0 at the
 * end, -1 on error. */
int ubj_iter_next(ubj_iter *it, const unsigned char **key, size_t *key_len, ubj_val *v);

/* obj[key], or -1. */
int ubj_get(const ubj_val *obj, const char *key, ubj_val *out);
/* A string value into buf (len bytes with the NUL), or -1. */
int ubj_string(const ubj_val *v, char *buf, size_t len);
/* The n numbers of an array (typed or not) into out; -1 unless it holds
 * exactly n numbers. */
int ubj_numbers(const ubj_val *arr, double *out, size_t n);
/* The elements of an array, or SIZE_MAX when it is malformed. */
size_t ubj_count(const ubj_val *arr);
/* A path of keys, e.g. "learner", "learner_model_param", NULL. 0 or -1. */
int ubj_path(const ubj_val *root, ubj_val *out, ...);
/* A string parameter parsed as a number (XGBoost stores them as text). */
int ubj_param_number(const ubj_val *obj, const char *key, double *v);
/* The same as a float, parsed as XGBoost parses float parameters (NaN if
 * absent or malformed). */
float ubj_param_float(const ubj_val *obj, const char *key);

#endif
