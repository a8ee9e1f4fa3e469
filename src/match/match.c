/*
 * match.c — pair distances and the blocked similarity scan (match.h). The scan multiplies
 * query row blocks by gallery column blocks through the backend's sgemm (oneDNN's JIT sgemm) into one
 * reusable buffer; row blocks keep at least 64 rows (a short tail joins the block before it)
 * so each value is the one an unblocked product gives.
 */
#include "match/match.h"
#include "backend/backend.h"

#include <stdlib.h>

#define SCAN_BYTES_DEFAULT ((size_t)64 << 20)
#define MIN_ROWS 64

void lqf_match_pair_distances(const float *a, const int *ia, const float *b, const int *ib, int n, int dim,
                              double *dist) {
#pragma omp parallel for schedule(static)
    for (int k = 0; k < n; k++) {
        const float *x = a + (size_t)(ia ? ia[k] : k) * dim, *y = b + (size_t)(ib ? ib[k] : k) * dim;
        double s = 0;
        for (int j = 0; j < dim; j++) {
            double d = (double)x[j] - (double)y[j];
            s += d * d;
        }
        dist[k] = s;
    }
}

void lqf_pair_distances(const float *a, const float *b, int n, int dim, double *dist) {
    lqf_match_pair_distances(a, NULL, b, NULL, n, dim, dist);
}

lqf_status lqf_match_scan(const float *Q, int nq, const float *G, int ng, int dim, size_t block_bytes,
                          int whole_rows, lqf_match_block_fn fn, void *user) {
    if (nq < 0 || ng < 0 || dim <= 0 || (nq && !Q) || (ng && !G) || !fn)
        return lqf_fail(LQF_ERR_ARG, "match: bad arguments (%d queries, %d gallery rows, dim %d)", nq, ng, dim);
    if (!nq || !ng) return LQF_OK;
    size_t budget = (block_bytes ? block_bytes : SCAN_BYTES_DEFAULT) / sizeof(float);
    int cols = ng;
    if (!whole_rows && (size_t)MIN_ROWS * ng > budget) cols = (int)LQF_MAX(budget / MIN_ROWS, 256);
    cols = LQF_MIN(cols, ng);
    int rows = (int)LQF_MIN(LQF_MAX(budget / (size_t)cols, (size_t)MIN_ROWS), (size_t)nq);
    /* a tail of fewer than MIN_ROWS rows joins the block before it */
    float *sim = malloc(sizeof(float) * (size_t)LQF_MIN(rows + MIN_ROWS - 1, nq) * cols);
    if (!sim) return lqf_fail(LQF_ERR_NOMEM, "match: out of memory for a %d x %d block of similarities", rows, cols);
    const lqf_backend *be = lqf_backend_default();
    lqf_status st = LQF_OK;
    for (int r0 = 0; r0 < nq && !st; ) {
        int nr = nq - r0 - rows < MIN_ROWS ? nq - r0 : rows;
        for (int c0 = 0; c0 < ng && !st; c0 += cols) {
            int nc = LQF_MIN(cols, ng - c0);
            be->sgemm(0, 1, nr, nc, dim, 1.0f, Q + (size_t)r0 * dim, dim, G + (size_t)c0 * dim, dim, 0.0f, sim, nc);
            st = fn(user, r0, nr, c0, nc, sim, (size_t)nc);
        }
        r0 += nr;
    }
    free(sim);
    return st;
}
