/*
 * layout.c — layout-generic kernels over lqf_view (logical dims + physical strides):
 * strided copies (transpose, concat, NCHW<->NHWC), scaled broadcasts (Gemm's C), numpy-
 * broadcasting binary arithmetic, softmax along a logical axis and sums over a set of
 * axes. Each walks a "loop nest" made
 * by lqf_loopnest_init: dims ordered by the output's strides and merged where contiguous,
 * so the common cases collapse to one flat loop (memcpy for copies, SIMD for arithmetic,
 * a per-channel inner loop for channel broadcasts). Outer loops are split between OpenMP
 * threads; each thread seeks its start once and then steps an odometer.
 */
#include "backend/cpu/cpu_internal.h"
#include "core/core.h"

#include <math.h>
#include <omp.h>
#include <string.h>

void lqf_loopnest_init(lqf_loopnest *ln, int nview, const lqf_view *const *views) {
    const lqf_view *v0 = views[0];
    int order[LQF_MAX_DIMS], n = 0;
    for (int d = 0; d < v0->ndim; d++)
        if (v0->dims[d] != 1) order[n++] = d;
    /* Stable insertion sort by the first view's stride, largest (outermost) first. */
    for (int i = 1; i < n; i++) {
        int d = order[i], j = i;
        while (j > 0 && v0->strides[order[j - 1]] < v0->strides[d]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = d;
    }
    /* Merge from the innermost dim outwards. */
    int64_t dims[LQF_MAX_DIMS], st[3][LQF_MAX_DIMS];
    int m = 0;
    for (int i = n - 1; i >= 0; i--) {
        int d = order[i];
        int64_t s[3];
        for (int v = 0; v < nview; v++) s[v] = views[v]->dims[d] == 1 ? 0 : views[v]->strides[d];
        int merge = m > 0;
        for (int v = 0; v < nview && merge; v++)
            if (s[v] != st[v][m - 1] * dims[m - 1]) merge = 0;
        if (merge) {
            dims[m - 1] *= v0->dims[d];
        } else {
            dims[m] = v0->dims[d];
            for (int v = 0; v < nview; v++) st[v][m] = s[v];
            m++;
        }
    }
    if (m == 0) {
        dims[0] = 1;
        for (int v = 0; v < nview; v++) st[v][0] = 0;
        m = 1;
    }
    /* Stored outermost first. */
    ln->ndim = m;
    for (int i = 0; i < m; i++) {
        ln->dims[i] = dims[m - 1 - i];
        for (int v = 0; v < 3; v++) ln->strides[v][i] = v < nview ? st[v][m - 1 - i] : 0;
    }
}

/* Odometer over the outer dims (all but the innermost) of a loop nest. */
typedef struct {
    int64_t idx[LQF_MAX_DIMS];
    int64_t off[3];
} nest_iter;

static void nest_seek(const lqf_loopnest *ln, int64_t outer, nest_iter *it) {
    it->off[0] = it->off[1] = it->off[2] = 0;
    for (int d = ln->ndim - 2; d >= 0; d--) {
        it->idx[d] = outer % ln->dims[d];
        outer /= ln->dims[d];
        for (int v = 0; v < 3; v++) it->off[v] += it->idx[d] * ln->strides[v][d];
    }
}

static void nest_next(const lqf_loopnest *ln, nest_iter *it) {
    for (int d = ln->ndim - 2; d >= 0; d--) {
        for (int v = 0; v < 3; v++) it->off[v] += ln->strides[v][d];
        if (++it->idx[d] < ln->dims[d]) return;
        for (int v = 0; v < 3; v++) it->off[v] -= ln->dims[d] * ln->strides[v][d];
        it->idx[d] = 0;
    }
}

static int64_t nest_outer(const lqf_loopnest *ln) {
    int64_t o = 1;
    for (int d = 0; d < ln->ndim - 1; d++) o *= ln->dims[d];
    return o;
}

/* Run BODY(off0, off1, off2) once per innermost run, split over threads when the total
 * work (outer * inner) is large. */
#define NEST_FOR(ln, ...)                                                                   \
    do {                                                                                    \
        int64_t outer_ = nest_outer(ln), inner_ = (ln)->dims[(ln)->ndim - 1];               \
        int par_ = outer_ > 1 && outer_ * inner_ > 65536;                                   \
        _Pragma("omp parallel if (par_)") {                                                 \
            int nt_ = 1, t_ = 0;                                                            \
            if (par_) {                                                                     \
                nt_ = omp_get_num_threads();                                                \
                t_ = omp_get_thread_num();                                                  \
            }                                                                               \
            int64_t b_ = outer_ * t_ / nt_, e_ = outer_ * (t_ + 1) / nt_;                   \
            nest_iter it_;                                                                  \
            if (b_ < e_) nest_seek(ln, b_, &it_);                                           \
            for (int64_t o_ = b_; o_ < e_; o_++, nest_next(ln, &it_)) {                     \
                int64_t off0 = it_.off[0], off1 = it_.off[1], off2 = it_.off[2];            \
                (void)off1;                                                                 \
                (void)off2;                                                                 \
                __VA_ARGS__;                                                                   \
            }                                                                               \
        }                                                                                   \
    } while (0)


/* ------------------------------------------------------------------ copy */

/* Transposing copy: the destination's innermost dim is strided in the source, and some
 * outer dim d is contiguous in the source. The (d, inner) plane is copied in 32x32 blocks
 * so that reads and writes both stay within a few cache lines (NCHW <-> NHWC, Transpose). */
static void copy_transpose(const lqf_loopnest *ln, int d, const float *x, float *y) {
    const int last = ln->ndim - 1;
    const int64_t A = ln->dims[d], B = ln->dims[last];
    const int64_t sya = ln->strides[0][d], syb = ln->strides[0][last];
    const int64_t sxa = ln->strides[1][d], sxb = ln->strides[1][last];
    lqf_loopnest rest = *ln; /* the other dims, with a unit inner dim */
    rest.ndim = 0;
    for (int k = 0; k < last; k++)
        if (k != d) {
            rest.dims[rest.ndim] = ln->dims[k];
            rest.strides[0][rest.ndim] = ln->strides[0][k];
            rest.strides[1][rest.ndim] = ln->strides[1][k];
            rest.ndim++;
        }
    rest.dims[rest.ndim] = 1;
    rest.strides[0][rest.ndim] = rest.strides[1][rest.ndim] = 0;
    rest.ndim++;
    const int64_t nouter = nest_outer(&rest), nblk = (A + 31) / 32;
#pragma omp parallel for schedule(static) if (nouter * A * B > 65536)
    for (int64_t t = 0; t < nouter * nblk; t++) {
        nest_iter it;
        nest_seek(&rest, t / nblk, &it);
        const int64_t a0 = t % nblk * 32, a1 = LQF_MIN(a0 + 32, A);
        float *yb = y + it.off[0];
        const float *xb = x + it.off[1];
        for (int64_t b0 = 0; b0 < B; b0 += 32) {
            const int64_t b1 = LQF_MIN(b0 + 32, B);
            if (B <= 4) { /* few channels: contiguous reads, 32 destination lines */
                for (int64_t b = b0; b < b1; b++)
                    for (int64_t a = a0; a < a1; a++) yb[a * sya + b * syb] = xb[a * sxa + b * sxb];
            } else { /* contiguous writes, 32 source lines */
                for (int64_t a = a0; a < a1; a++)
                    for (int64_t b = b0; b < b1; b++) yb[a * sya + b * syb] = xb[a * sxa + b * sxb];
            }
        }
    }
}

void lqf_copy_view(const lqf_view *src, const float *x, const lqf_view *dst, float *y) {
    const lqf_view *views[2] = {dst, src};
    lqf_loopnest ln;
    lqf_loopnest_init(&ln, 2, views);
    const int64_t n = ln.dims[ln.ndim - 1];
    const int64_t sy = ln.strides[0][ln.ndim - 1], sx = ln.strides[1][ln.ndim - 1];
    if (sy == 1 && sx == 1) {
        NEST_FOR(&ln, memcpy(y + off0, x + off1, (size_t)n * sizeof(float)));
        return;
    }
    for (int d = 0; d < ln.ndim - 1 && sy == 1; d++)
        if (ln.strides[1][d] == 1 && ln.dims[d] >= 8) {
            copy_transpose(&ln, d, x, y);
            return;
        }
    NEST_FOR(&ln, {
        float *yp = y + off0;
        const float *xp = x + off1;
        for (int64_t i = 0; i < n; i++) yp[i * sy] = xp[i * sx];
    });
}

/* y = scale * x broadcast over vy: x's extent-1 dims get stride 0 in the loop nest. */
void lqf_scale_broadcast(const lqf_view *vx, const float *x, float scale, const lqf_view *vy, float *y) {
    const lqf_view *views[2] = {vy, vx};
    lqf_loopnest ln;
    lqf_loopnest_init(&ln, 2, views);
    const int64_t n = ln.dims[ln.ndim - 1];
    const int64_t sy = ln.strides[0][ln.ndim - 1], sx = ln.strides[1][ln.ndim - 1];
    NEST_FOR(&ln, {
        float *yp = y + off0;
        const float *xp = x + off1;
        for (int64_t i = 0; i < n; i++) yp[i * sy] = scale * xp[i * sx];
    });
}

/* ------------------------------------------------------------------ binary */

#define BIN_LOOP(OP, SA, SB, SY)                                                            \
    NEST_FOR(&ln, {                                                                         \
        float *yp = y + off0;                                                               \
        const float *ap = a + off1, *bp = b + off2;                                         \
        _Pragma("omp simd") for (int64_t i = 0; i < n; i++) yp[i * (SY)] =                  \
            OP(ap[i * (SA)], bp[i * (SB)]);                                                 \
    })

#define BIN_CASES(OP)                                                                       \
    do {                                                                                    \
        if (sy == 1 && sa == 1 && sb == 1) BIN_LOOP(OP, 1, 1, 1);                           \
        else if (sy == 1 && sa == 1 && sb == 0) BIN_LOOP(OP, 1, 0, 1);                      \
        else if (sy == 1 && sa == 0 && sb == 1) BIN_LOOP(OP, 0, 1, 1);                      \
        else BIN_LOOP(OP, sa, sb, sy);                                                      \
    } while (0)

#define OP_ADD(p, q) ((p) + (q))
#define OP_SUB(p, q) ((p) - (q))
#define OP_MUL(p, q) ((p) * (q))
#define OP_DIV(p, q) ((p) / (q))

void lqf_binary(lqf_binop op, const lqf_view *va, const float *a, const lqf_view *vb,
                const float *b, const lqf_view *vy, float *y) {
    const lqf_view *views[3] = {vy, va, vb};
    lqf_loopnest ln;
    lqf_loopnest_init(&ln, 3, views);
    const int64_t n = ln.dims[ln.ndim - 1];
    const int64_t sy = ln.strides[0][ln.ndim - 1], sa = ln.strides[1][ln.ndim - 1],
                  sb = ln.strides[2][ln.ndim - 1];
    switch (op) {
    case LQF_BIN_ADD: BIN_CASES(OP_ADD); break;
    case LQF_BIN_SUB: BIN_CASES(OP_SUB); break;
    case LQF_BIN_MUL: BIN_CASES(OP_MUL); break;
    case LQF_BIN_DIV: BIN_CASES(OP_DIV); break;
    }
}

/* ------------------------------------------------------------------ softmax */

void lqf_softmax(const lqf_view *v, int axis, const float *x, float *y) {
    lqf_view outer = *v;
    outer.dims[axis] = 1;
    const lqf_view *views[1] = {&outer};
    lqf_loopnest ln;
    lqf_loopnest_init(&ln, 1, views);
    const int64_t L = v->dims[axis], s = v->strides[axis];
    const int64_t n = ln.dims[ln.ndim - 1], so = ln.strides[0][ln.ndim - 1];
    NEST_FOR(&ln, {
        for (int64_t i = 0; i < n; i++) {
            const float *xp = x + off0 + i * so;
            float *yp = y + off0 + i * so;
            float mx = -INFINITY;
            for (int64_t k = 0; k < L; k++) mx = xp[k * s] > mx ? xp[k * s] : mx;
            float sum = 0.0f;
            for (int64_t k = 0; k < L; k++) {
                float e = expf(xp[k * s] - mx);
                yp[k * s] = e;
                sum += e;
            }
            float inv = 1.0f / sum;
            for (int64_t k = 0; k < L; k++) yp[k * s] *= inv;
        }
    });
}

/* ------------------------------------------------------------------ reduce_sum */

void lqf_reduce_sum(const lqf_view *vx, const float *x, unsigned mask, const lqf_view *vy, float *y) {
    /* Outer walk over the outputs (reduced axes have extent 1 in vy and drop out); inner
     * walk over the reduced sub-space of x. */
    const lqf_view *ov[2] = {vy, vx};
    lqf_loopnest lo;
    lqf_loopnest_init(&lo, 2, ov);
    lqf_view red = *vx;
    for (int d = 0; d < vx->ndim; d++)
        if (!(mask >> d & 1u)) red.dims[d] = 1;
    const lqf_view *rv[1] = {&red};
    lqf_loopnest lr;
    lqf_loopnest_init(&lr, 1, rv);
    const int64_t n = lo.dims[lo.ndim - 1], sy = lo.strides[0][lo.ndim - 1],
                  sx = lo.strides[1][lo.ndim - 1];
    const int64_t rn = lr.dims[lr.ndim - 1], rs = lr.strides[0][lr.ndim - 1];
    const int64_t router = nest_outer(&lr);
    NEST_FOR(&lo, {
        for (int64_t i = 0; i < n; i++) {
            const float *xp = x + off1 + i * sx;
            double acc = 0.0;
            nest_iter it;
            nest_seek(&lr, 0, &it);
            for (int64_t o = 0; o < router; o++, nest_next(&lr, &it))
                for (int64_t k = 0; k < rn; k++) acc += xp[it.off[0] + k * rs];
            y[off0 + i * sy] = (float)acc;
        }
    });
}
