/*
 * test_match.c — matching (src/match/) against numpy (dumps by tools/ref_match.py): the
 * blocked similarity scan (blocks small enough to split rows and columns) equals numpy's
 * float64 Q G^T to 1e-6, exact top-10 search gives numpy's stable-argsort order (up to
 * neighbours closer than 1e-6, where float32 may swap them), pair distances equal numpy's to
 * 1e-12. The scan's row blocks give the bits of one unblocked sgemm (what keeps the
 * identification numbers unchanged), ties rank the lower gallery index first, NaN last, and
 * short galleries pad with -1.
 */
#include "match/match.h"
#include "backend/backend.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A reference dump of want bytes (0: any size, NUL-terminated text). */
static void *load(const char *rel, size_t want) {
    uint8_t *d = NULL;
    size_t n = 0;
    if (lqf_read_file(tu_testdata(rel), &d, &n) || (want && n != want)) {
        fprintf(stderr, "reference %s: %s (%zu bytes, want %zu)\n", rel, lqf_last_error(), n, want);
        CHECK(!"reference file present with the expected size");
        free(d);
        return NULL;
    }
    return d;
}

typedef struct {
    double *sim; /* nq x ng, the scan's values */
    int ng, blocks, max_rows, max_cols;
} collect;

static lqf_status collect_block(void *user, int row0, int nrows, int col0, int ncols, const float *sim, size_t ld) {
    collect *c = user;
    for (int r = 0; r < nrows; r++)
        for (int k = 0; k < ncols; k++) c->sim[(size_t)(row0 + r) * c->ng + col0 + k] = sim[r * ld + k];
    c->blocks++;
    if (nrows > c->max_rows) c->max_rows = nrows;
    if (ncols > c->max_cols) c->max_cols = ncols;
    return LQF_OK;
}

static void test_reference(void) {
    int NQ, NG, D, K, NP;
    char *shape = load("match/shape.txt", 0);
    if (!shape || sscanf(shape, "%d %d %d %d %d", &NQ, &NG, &D, &K, &NP) != 5) {
        free(shape);
        CHECK(!"match/shape.txt");
        return;
    }
    float *q = load("match/q.f32", sizeof(float) * NQ * D), *g = load("match/g.f32", sizeof(float) * NG * D);
    double *sim = load("match/sim.f64", sizeof(double) * NQ * NG), *top = load("match/topk.f64", sizeof(double) * NQ * K);
    int *order = load("match/topk.i32", sizeof(int) * NQ * K), *pairs = load("match/pairs.i32", sizeof(int) * NP * 2);
    double *dist = load("match/dist.f64", sizeof(double) * NP);
    collect c = {calloc((size_t)NQ * NG, sizeof(double)), NG, 0, 0, 0};
    int *idx = malloc(sizeof(int) * NQ * K), *ia = malloc(sizeof(int) * NP), *ib = malloc(sizeof(int) * NP);
    float *score = malloc(sizeof(float) * NQ * K);
    double *d = malloc(sizeof(double) * NP);
    if (!q || !g || !sim || !top || !order || !pairs || !dist) goto done;
    /* blocks of at most 64 x 256 floats: 64-row blocks (the 32-row tail joins one), 256-column blocks */
    CHECK(lqf_match_scan(q, NQ, g, NG, D, 64 * 256 * sizeof(float), 0, collect_block, &c) == LQF_OK);
    double worst = 0;
    for (size_t i = 0; i < (size_t)NQ * NG; i++) worst = fmax(worst, fabs(c.sim[i] - sim[i]));
    printf("scan (%d blocks, at most %d x %d): max |sim - numpy| %.2e\n", c.blocks, c.max_rows, c.max_cols, worst);
    CHECK(worst < 1e-6);
    CHECK(c.max_rows == NQ && c.max_cols == 256 && c.blocks == 2); /* 96 rows: one block, as 32 < 64 */
    CHECK(lqf_match_topk(q, NQ, g, NG, D, K, 64 * 64 * sizeof(float), idx, score) == LQF_OK);
    int swapped = 0, wrong = 0;
    double worst_s = 0;
    for (int r = 0; r < NQ; r++)
        for (int j = 0; j < K; j++) {
            const double *t = top + (size_t)r * K;
            worst_s = fmax(worst_s, fabs(score[r * K + j] - t[j]));
            if (idx[r * K + j] == order[r * K + j]) continue;
            int near = (j > 0 && t[j - 1] - t[j] < 1e-6) || (j + 1 < K && t[j] - t[j + 1] < 1e-6);
            if (near) swapped++;
            else wrong++;
        }
    printf("top-%d of %d queries: %d indices differ from numpy (%d between near-equal neighbours), max |score - "
           "numpy| %.2e\n", K, NQ, swapped + wrong, swapped, worst_s);
    CHECK(wrong == 0 && worst_s < 1e-6);
    for (int i = 0; i < NP; i++) ia[i] = pairs[2 * i], ib[i] = pairs[2 * i + 1];
    lqf_match_pair_distances(q, ia, g, ib, NP, D, d);
    double worst_d = 0;
    for (int i = 0; i < NP; i++) worst_d = fmax(worst_d, fabs(d[i] - dist[i]));
    printf("pair distances: max |d - numpy| %.2e\n", worst_d);
    CHECK(worst_d < 1e-12);
done:
    free(shape), free(q), free(g), free(sim), free(top), free(order), free(pairs), free(dist);
    free(c.sim), free(idx), free(ia), free(ib), free(score), free(d);
}

/* Row blocks of the scan give the bits of one sgemm over all rows (embedding-sized data). */
static void test_blocks_exact(void) {
    const int NQ = 300, NG = 1000, D = 512;
    float *q = malloc(sizeof(float) * NQ * D), *g = malloc(sizeof(float) * NG * D), *ref = malloc(sizeof(float) * NQ * NG);
    collect c = {calloc((size_t)NQ * NG, sizeof(double)), NG, 0, 0, 0};
    uint64_t s = 12345;
    for (int i = 0; i < NQ * D; i++) q[i] = (float)((s = s * 6364136223846793005ULL + 1442695040888963407ULL) >> 40) / 16777216.0f - 0.5f;
    for (int i = 0; i < NG * D; i++) g[i] = (float)((s = s * 6364136223846793005ULL + 1442695040888963407ULL) >> 40) / 16777216.0f - 0.5f;
    lqf_backend_default()->sgemm(0, 1, NQ, NG, D, 1.0f, q, D, g, D, 0.0f, ref, NG);
    /* 100-row budget: blocks of 100, 100, 100 rows; 70 rows: 70, 70, 70, then 90 (a tail of 20 joins) */
    size_t budgets[2] = {100 * (size_t)NG * sizeof(float), 70 * (size_t)NG * sizeof(float)};
    for (int b = 0; b < 2; b++) {
        c.blocks = c.max_rows = 0;
        CHECK(lqf_match_scan(q, NQ, g, NG, D, budgets[b], 1, collect_block, &c) == LQF_OK);
        size_t differ = 0;
        for (size_t i = 0; i < (size_t)NQ * NG; i++) differ += (float)c.sim[i] != ref[i];
        printf("scan in %d row blocks (at most %d rows) vs one sgemm: %zu of %d values differ\n", c.blocks, c.max_rows,
               differ, NQ * NG);
        CHECK(differ == 0);
        CHECK(c.blocks == (b ? 4 : 3) && c.max_rows == (b ? 90 : 100));
    }
    free(q), free(g), free(ref), free(c.sim);
}

/* Ties, NaN and short rows through the selection step. */
static void test_selection(void) {
    const float row[7] = {0.5f, 0.9f, NAN, 0.9f, 0.1f, 0.5f, 0.9f};
    int idx[4], count[1] = {0};
    float sc[4];
    lqf_match_topk_merge(row, 1, 4, 7, 0, 4, idx, sc, count);         /* columns 0..3 */
    lqf_match_topk_merge(row + 4, 1, 3, 7, 4, 4, idx, sc, count);     /* columns 4..6 */
    lqf_match_topk_finish(1, 4, idx, sc, count);
    CHECK(idx[0] == 1 && idx[1] == 3 && idx[2] == 6 && idx[3] == 0 && sc[3] == 0.5f);
    int idx2[5], c2[1] = {0};
    float sc2[5];
    lqf_match_topk_merge(row, 1, 3, 7, 0, 5, idx2, sc2, c2);
    lqf_match_topk_finish(1, 5, idx2, sc2, c2);
    CHECK(idx2[0] == 1 && idx2[1] == 0 && idx2[2] == 2 && sc2[2] == -INFINITY && idx2[3] == -1 && idx2[4] == -1);
    CHECK(lqf_match_topk(NULL, 0, NULL, 0, 4, 0, 0, idx, sc) == LQF_ERR_ARG);
}

int main(void) {
    test_reference();
    test_blocks_exact();
    test_selection();
    return tu_finish("test_match");
}
