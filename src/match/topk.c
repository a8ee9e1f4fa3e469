/*
 * topk.c — exact top-k search (match.h): per query row, a heap of the k best gallery
 * entries seen so far with the worst on top (a candidate replaces it only when better:
 * higher score, or an equal score at a lower gallery index), merged block by block over
 * lqf_match_scan's similarities with the rows of a block in parallel, then sorted best
 * first. Selection costs O(ng log k) per query and no full sort.
 */
#include "match/match.h"

#include <math.h>
#include <stdlib.h>

/* a ranks before b: higher score, then lower index (NaN scores were mapped to -inf) */
static inline int better(float sa, int ia, float sb, int ib) { return sa > sb || (sa == sb && ia < ib); }

/* Restore the heap (worst on top) below position p of a heap of n entries. */
static void sift_down(int *idx, float *sc, int n, int p) {
    for (;;) {
        int w = p, l = 2 * p + 1, r = l + 1;
        if (l < n && better(sc[w], idx[w], sc[l], idx[l])) w = l;
        if (r < n && better(sc[w], idx[w], sc[r], idx[r])) w = r;
        if (w == p) return;
        int ti = idx[p];
        float ts = sc[p];
        idx[p] = idx[w], sc[p] = sc[w];
        idx[w] = ti, sc[w] = ts;
        p = w;
    }
}

static void sift_up(int *idx, float *sc, int p) {
    while (p > 0) {
        int q = (p - 1) / 2;
        if (!better(sc[q], idx[q], sc[p], idx[p])) return;
        int ti = idx[p];
        float ts = sc[p];
        idx[p] = idx[q], sc[p] = sc[q];
        idx[q] = ti, sc[q] = ts;
        p = q;
    }
}

void lqf_match_topk_merge(const float *sim, int nrows, int ncols, size_t ld, int col0, int k, int *idx, float *score,
                          int *count) {
#pragma omp parallel for schedule(dynamic, 8)
    for (int r = 0; r < nrows; r++) {
        int *hi = idx + (size_t)r * k, n = count[r];
        float *hs = score + (size_t)r * k;
        const float *row = sim + (size_t)r * ld;
        for (int c = 0; c < ncols; c++) {
            float s = isnan(row[c]) ? -INFINITY : row[c];
            int g = col0 + c;
            if (n < k) {
                hi[n] = g, hs[n] = s;
                sift_up(hi, hs, n++);
            } else if (better(s, g, hs[0], hi[0])) {
                hi[0] = g, hs[0] = s;
                sift_down(hi, hs, k, 0);
            }
        }
        count[r] = n;
    }
}

void lqf_match_topk_finish(int nrows, int k, int *idx, float *score, const int *count) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < nrows; r++) {
        int *hi = idx + (size_t)r * k, n = count[r];
        float *hs = score + (size_t)r * k;
        /* heap sort: move the worst to the end until the heap is empty -> best first */
        for (int m = n - 1; m > 0; m--) {
            int ti = hi[0];
            float ts = hs[0];
            hi[0] = hi[m], hs[0] = hs[m];
            hi[m] = ti, hs[m] = ts;
            sift_down(hi, hs, m, 0);
        }
        for (int j = n; j < k; j++) hi[j] = -1, hs[j] = -INFINITY;
    }
}

typedef struct {
    int k, *idx, *count;
    float *score;
} topk_job;

static lqf_status topk_block(void *user, int row0, int nrows, int col0, int ncols, const float *sim, size_t ld) {
    topk_job *j = user;
    lqf_match_topk_merge(sim, nrows, ncols, ld, col0, j->k, j->idx + (size_t)row0 * j->k, j->score + (size_t)row0 * j->k,
                         j->count + row0);
    return LQF_OK;
}

lqf_status lqf_match_topk(const float *Q, int nq, const float *G, int ng, int dim, int k, size_t block_bytes,
                          int *idx, float *score) {
    if (k <= 0 || nq < 0 || !idx || !score) return lqf_fail(LQF_ERR_ARG, "match: top-k needs k >= 1 (got %d)", k);
    topk_job j = {k, idx, calloc((size_t)LQF_MAX(nq, 1), sizeof(int)), score};
    if (!j.count) return lqf_fail(LQF_ERR_NOMEM, "match: out of memory for %d queries", nq);
    lqf_status st = lqf_match_scan(Q, nq, G, ng, dim, block_bytes, 0, topk_block, &j);
    if (!st) lqf_match_topk_finish(nq, k, idx, score, j.count);
    free(j.count);
    return st;
}
