/* native.h: the native tree evaluator, internal to the model module.
 *
 * pdm_model uses it behind pdm_model_set_predictor (see pdm_model.h); this
 * header exists so that the tests and the benchmark can also run the core
 * on boosters that are not pdm models (binary:logistic, other depths) and
 * corrupt one on purpose to see the safety check refuse it.
 *
 * The evaluator reads an XGBoost 1.7 booster from its UBJSON model bytes
 * (floats stored in binary, so thresholds and leaves are the exact floats
 * XGBoost holds; no decimal round trip) and reproduces XGBoost's CPU
 * prediction bit for bit: each feature is converted to float, a split sends
 * a present value left iff value < threshold and a missing one (NaN) to its
 * default child, each output's margin starts at the base margin and adds
 * its trees' leaves in tree order in float, and the output transform is
 * XGBoost's (softmax with float exps and a double sum, or the sigmoid).
 *
 * A pdm_native is read-only once built: any number of threads may predict
 * with it at the same time, without a lock. */
#ifndef PDM_MODEL_NATIVE_H
#define PDM_MODEL_NATIVE_H

#include <stddef.h>

typedef struct pdm_native pdm_native;

/* Builds the evaluator from XGBoost UBJSON model bytes (XGBoosterSave-
 * ModelToBuffer {"format":"ubj"}, or a package's model.ubj). Objectives:
 * multi:softprob, binary:logistic, reg:logistic (sigmoid), binary:logitraw
 * and reg:squarederror (identity); numeric splits only. Returns 0, or -1
 * with errstr saying what is not supported or malformed. */
int pdm_native_from_ubj(const void *ubj, size_t len, pdm_native **out, char *errstr, size_t errlen);
void pdm_native_destroy(pdm_native *nat);

size_t pdm_native_n_features(const pdm_native *nat);
/* Values per row: the classes (multi:softprob) or 1. */
size_t pdm_native_n_outputs(const pdm_native *nat);
size_t pdm_native_n_trees(const pdm_native *nat);
/* Bytes of the flat node arrays. */
size_t pdm_native_size(const pdm_native *nat);

/* Outputs of n rows (row-major, n x n_features doubles, NaN = missing) into
 * out (n x n_outputs), equal to XGBoost's float results converted to
 * double. Returns 0, or -1 with errstr (out of memory only). */
int pdm_native_predict(const pdm_native *nat, const double *rows, size_t n, double *out,
                       char *errstr, size_t errlen);

/* ---- the safety check ------------------------------------------------------ */

/* A fixed, deterministic sample of rows for comparing the evaluator with
 * XGBoost (malloc'ed into *rows, n x n_features):
 *   - every distinct split threshold of every feature, as the float itself,
 *     the next float below and above, a double just below it that rounds to
 *     it, and the double halfway to the float below (a rounding tie);
 *   - rows built to reach a split node of each tree (their path's
 *     conditions satisfied) with its feature on the threshold or missing;
 *   - mixed rows with NaN, +-inf, +-1e300, +-FLT_MAX, +-0, tiny values and,
 *     when `edges` is given (n_features x n_edges values, e.g. the package's
 *     reference histogram edges; NaN entries skipped), real data values.
 * Returns 0, or -1 with errstr. */
int pdm_native_sample(const pdm_native *nat, const double *edges, size_t n_edges, double **rows,
                      size_t *n, char *errstr, size_t errlen);

/* The largest |native - reference| over n x n_outputs values and where it
 * is (first occurrence); NaN on both sides counts as equal. */
typedef struct {
    size_t rows;
    double max_abs_diff;
    size_t worst_row, worst_output;
    double native_value, reference_value;
    size_t identical; /* values equal bit for bit (as doubles) */
} pdm_native_diff;

void pdm_native_compare(const double *native, const double *reference, size_t n, size_t n_outputs,
                        pdm_native_diff *out);

/* ---- with a pdm_model ---------------------------------------------------------- */

struct pdm_model;

/* The evaluator of a model's booster (its model.ubj, or the booster
 * serialised if the model is not sealed). */
int pdm_model_native_build(struct pdm_model *m, pdm_native **out, char *errstr, size_t errlen);
/* Checks nat against the model's booster as pdm_model_set_predictor does and
 * on success makes it the model's predictor. Takes nat, also on failure. */
int pdm_model_native_install(struct pdm_model *m, pdm_native *nat, char *errstr, size_t errlen);

/* ---- test hooks ------------------------------------------------------------- */

/* Moves the root threshold of tree `tree` by `ulps` floats (a corruption
 * the safety check must catch) in every layout. Returns 0, or -1 if the
 * tree is one leaf or does not exist (or out of memory rebuilding the
 * columns or ranked layout, which predictions then do without). */
int pdm_native_debug_nudge_root(pdm_native *nat, size_t tree, int ulps);
/* Drops the columns layout (used when every tree is shallow; see
 * native_columns.c) so that predictions take the ranked layout, or the
 * next one the trees have. */
void pdm_native_debug_ranked_layout(pdm_native *nat);
/* Drops the complete-tree layout (used when every tree is at most 10 deep)
 * and those above it so that predictions take the linked layout deeper
 * trees use. */
void pdm_native_debug_linked_layout(pdm_native *nat);
/* Drops the ranked layout (used when trees are at most 6 deep, with at most
 * 64 features of at most 255 distinct thresholds each) and the columns
 * layout so that predictions take the complete layout. */
void pdm_native_debug_complete_layout(pdm_native *nat);
/* Makes the columns and ranked layouts use their portable code instead of
 * AVX-512 or AVX2, as on a machine without them. */
void pdm_native_debug_portable(pdm_native *nat);
/* Makes the columns layout use its AVX2 code instead of AVX-512. */
void pdm_native_debug_avx2(pdm_native *nat);
/* The layout predictions take: "columns-avx512", "columns-avx2",
 * "columns", "ranked-avx512", "ranked", "complete" or "linked". With the
 * columns layout, calls of fewer rows than the next function's take the
 * ranked layout. */
const char *pdm_native_debug_path(const pdm_native *nat);
/* The fewest rows a call takes the columns layout for; 0 without it. */
size_t pdm_native_debug_columns_min_rows(const pdm_native *nat);

#endif
