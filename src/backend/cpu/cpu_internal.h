/*
 * cpu_internal.h — helpers shared between the kernel files of backend/cpu/ and not part of
 * the cpu.h contract: the fused convolution epilogue over channels-last rows, and the view
 * "collapse" that turns up to three strided views into a short loop nest for elementwise
 * kernels (binary arithmetic, copies).
 */
#ifndef LQF_BACKEND_CPU_INTERNAL_H
#define LQF_BACKEND_CPU_INTERNAL_H

#include "backend/cpu/cpu.h"

/* Rows [row0, row0+nrows) of a channels-last (rows, c) tensor y, in place:
 * y = act(y + b) + residual, where b (c) may be NULL, ep may be NULL (bias only) and the
 * residual (same indexing as y) must not alias y. */
void lqf_epilogue_rows(const float *b, const lqf_epilogue *ep, int64_t row0, int64_t nrows, int c,
                       float *y);
/* 1 when bias, activation and residual are all absent (nothing to do after a product). */
int lqf_epilogue_is_identity(const float *b, const lqf_epilogue *ep);

/* NHWC im2col: col (nr, K) for output rows [r0, r0+nr) counted over the whole batch
 * (row = (n*OH + oy)*OW + ox) and group g, K ordered [kh][kw][cin/G], zeros in the padding.
 * Shared by the forward convolution and the weight gradient. */
void lqf_conv_im2col(const lqf_conv_shape *s, const float *x, int g, int64_t r0, int64_t nr, float *col);

/* Test hook: floats of im2col scratch per tile (<= 0 restores the defaults). Set it before
 * calling lqf_conv2d_scratch; a small value forces many tiles and also makes every
 * convolution, however small, run its threaded code. */
void lqf_conv_set_im2col_budget(int64_t floats);

/* A loop nest equivalent to an elementwise walk over `nview` views with the same logical
 * dims: dims reordered by the first view's strides (outermost first), extent-1 dims
 * dropped, mergeable neighbours merged, broadcast (extent-1 in a view but not in the
 * first) turned into stride 0. ndim >= 1; the innermost dim is dims[ndim-1]. */
typedef struct {
    int ndim;
    int64_t dims[LQF_MAX_DIMS];
    int64_t strides[3][LQF_MAX_DIMS];
} lqf_loopnest;
void lqf_loopnest_init(lqf_loopnest *ln, int nview, const lqf_view *const *views);

#endif
