/* native_columns_kernel.h: the columns layout's evaluation (see
 * native_columns.c), included there once per instruction set with
 *   KERNEL_LANES   floats per vector: 16 (AVX-512), 8 (AVX2), 4 (SSE2);
 *   KERNEL(name)   the name of this copy's `name`;
 *   KERNEL_TARGET  its target attribute (empty for the baseline).
 * Vectors as wide as the registers: GCC lowers wider ones poorly (a splat
 * became sixteen scalar stores and a reload). The loops of constant counts
 * are unrolled by pragma, so that -O2 (RelWithDebInfo) keeps the values in
 * registers as -O3 does (without: depth-3 trees 2.7 times slower). */

typedef float KERNEL(vf) __attribute__((vector_size(KERNEL_LANES * sizeof(float))));
typedef int32_t KERNEL(vi) __attribute__((vector_size(KERNEL_LANES * sizeof(int32_t))));

/* f in every lane, its bits as they are ({0} + f would turn -0 into +0,
 * and a + +0 is not a + -0 when a is -0). */
KERNEL_TARGET static inline __attribute__((always_inline)) KERNEL(vf) KERNEL(splat)(float f)
{
    int32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return (KERNEL(vf))((KERNEL(vi)){0} | bits);
}

/* Per lane: `right` where the column's value is not below thr, else `left`. */
KERNEL_TARGET static inline __attribute__((always_inline)) KERNEL(vf)
    KERNEL(pick)(KERNEL(vf) x, float thr, KERNEL(vf) left, KERNEL(vf) right)
{
    KERNEL(vi) go_left = x < KERNEL(splat)(thr);
    return (KERNEL(vf))((go_left & (KERNEL(vi))left) | (~go_left & (KERNEL(vi))right));
}

/* The leaf values of the lanes from `lane` of a tree of depth >= 1 (splits
 * sp, leaves lv), from the leaves up, a level at a time; val holds
 * 2^(depth - 1) vectors. */
KERNEL_TARGET static inline __attribute__((always_inline)) KERNEL(vf)
    KERNEL(padded_tree)(const column_split *sp, const float *lv, const float *cols, size_t lane,
                        uint32_t depth, KERNEL(vf) * val)
{
    size_t w = (size_t)1 << (depth - 1);
#pragma GCC unroll 16
    for (size_t i = 0; i < w; i++) {
        const column_split *s = &sp[w - 1 + i];
        val[i] = KERNEL(pick)(*(const KERNEL(vf) *)(cols + s->col + lane), s->thr,
                              KERNEL(splat)(lv[2 * i]), KERNEL(splat)(lv[2 * i + 1]));
    }
#pragma GCC unroll 16
    for (w /= 2; w >= 1; w /= 2)
#pragma GCC unroll 16
        for (size_t i = 0; i < w; i++) {
            const column_split *s = &sp[w - 1 + i];
            val[i] = KERNEL(pick)(*(const KERNEL(vf) *)(cols + s->col + lane), s->thr, val[2 * i],
                                  val[2 * i + 1]);
        }
    return val[0];
}

/* The margins of the rows in the nv vectors of lanes from lane0 (of nb
 * rows: the others are padding) into acc. */
KERNEL_TARGET static inline __attribute__((always_inline)) void
KERNEL(lanes_margins)(const native_columns *c, const float *cols, size_t lane0, size_t nb,
                      float *acc, size_t nv)
{
    const size_t K = c->nout;
    for (size_t k = 0; k < K; k++) {
        KERNEL(vf) a[4], val[1 << (COLUMNS_MAX_DEPTH - 1)];
        for (size_t v = 0; v < nv; v++)
            a[v] = KERNEL(splat)(c->start[k]);
        const column_split *sp = c->splits + c->split_first[k];
        const float *lv = c->leaves + c->leaf_first[k];
        for (size_t p = c->tree_first[k]; p < c->tree_first[k + 1]; p++) {
            uint32_t d = c->depth[p];
            switch (d) { /* constant depths: unrolled, in registers */
            case 0:
#pragma GCC unroll 4
                for (size_t v = 0; v < nv; v++)
                    a[v] += KERNEL(splat)(lv[0]);
                break;
            case 1:
#pragma GCC unroll 4
                for (size_t v = 0; v < nv; v++)
                    a[v] += KERNEL(padded_tree)(sp, lv, cols, lane0 + v * KERNEL_LANES, 1, val);
                break;
            case 2:
#pragma GCC unroll 4
                for (size_t v = 0; v < nv; v++)
                    a[v] += KERNEL(padded_tree)(sp, lv, cols, lane0 + v * KERNEL_LANES, 2, val);
                break;
            case 3:
#pragma GCC unroll 4
                for (size_t v = 0; v < nv; v++)
                    a[v] += KERNEL(padded_tree)(sp, lv, cols, lane0 + v * KERNEL_LANES, 3, val);
                break;
            case 4:
#pragma GCC unroll 4
                for (size_t v = 0; v < nv; v++)
                    a[v] += KERNEL(padded_tree)(sp, lv, cols, lane0 + v * KERNEL_LANES, 4, val);
                break;
            default:
#pragma GCC unroll 4
                for (size_t v = 0; v < nv; v++)
                    a[v] += KERNEL(padded_tree)(sp, lv, cols, lane0 + v * KERNEL_LANES,
                                                COLUMNS_MAX_DEPTH, val);
                break;
            }
            sp += ((size_t)1 << d) - 1;
            lv += (size_t)1 << d;
        }
        for (size_t r = 0; r < nv * KERNEL_LANES && lane0 + r < nb; r++)
            acc[(lane0 + r) * K + k] = a[r / KERNEL_LANES][r % KERNEL_LANES];
    }
}

/* The margins of nb rows whose columns (zero after nb up to `lanes`) are
 * in cols: four vectors of lanes at a time (four independent chains of
 * adds), one for what is left. */
KERNEL_TARGET static void KERNEL(block_margins)(const native_columns *c, const float *cols,
                                                size_t nb, size_t lanes, float *acc)
{
    size_t lane0 = 0;
    while (lane0 < nb) {
        if (nb - lane0 > KERNEL_LANES && lane0 + 4 * KERNEL_LANES <= lanes) {
            KERNEL(lanes_margins)(c, cols, lane0, nb, acc, 4);
            lane0 += 4 * KERNEL_LANES;
        } else {
            KERNEL(lanes_margins)(c, cols, lane0, nb, acc, 1);
            lane0 += KERNEL_LANES;
        }
    }
}
