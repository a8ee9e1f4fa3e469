/*
 * match.h — comparing embeddings (layer 6, src/match/): distances of pairs of rows, cosine
 * similarity matrices of queries against a gallery computed block by block through the
 * sgemm entry point (so memory stays bounded whatever the gallery), and exact top-k search
 * over an in-memory gallery (partial selection per query row, rows in parallel). The
 * evaluation runners (verification distances, identification scores) and galleries use it.
 * Rows are L2-normalised embeddings, so a dot product is the cosine similarity and the
 * squared L2 distance is 2 - 2 cos.
 */
#ifndef LQF_MATCH_H
#define LQF_MATCH_H

#include "core/core.h"

/* dist[k] = |a[ia[k]] - b[ib[k]]|^2 for k < n (ia, ib NULL: row k), rows of dim floats,
 * summed in double in index order (the same value whatever the thread count). */
void lqf_match_pair_distances(const float *a, const int *ia, const float *b, const int *ib, int n, int dim,
                              double *dist);

/* One block of a scan: similarities of queries row0..row0+nrows-1 against gallery rows
 * col0..col0+ncols-1, sim[r * ld + c]. A non-zero status stops the scan and is returned. */
typedef lqf_status (*lqf_match_block_fn)(void *user, int row0, int nrows, int col0, int ncols, const float *sim,
                                         size_t ld);

/* Similarities Q G^T of nq queries (nq x dim) against ng gallery rows (ng x dim), handed to fn
 * block by block (query rows in order; within them gallery columns in order). A block holds
 * at most about block_bytes of floats (0: 64 MiB) and at least 64 query rows (or all of
 * them): from 16 rows up the sgemm's value of an element does not depend on how many rows
 * are multiplied at once, so every value is the one a single nq x ng product gives.
 * whole_rows: every block spans all ng columns (for a caller that needs a query's whole row
 * at once); otherwise wide galleries are split into column blocks too. */
lqf_status lqf_match_scan(const float *Q, int nq, const float *G, int ng, int dim, size_t block_bytes,
                          int whole_rows, lqf_match_block_fn fn, void *user);

/* Exact top-k: for each query, the k gallery rows of highest similarity, best first (the
 * lower gallery index first among equal scores; NaN ranks last). idx, score: nq x k; a query
 * with fewer than k gallery rows ends with idx -1, score -INFINITY. Computed over
 * lqf_match_scan's blocks (block_bytes as there), the selection of a block's rows in
 * parallel. */
lqf_status lqf_match_topk(const float *Q, int nq, const float *G, int ng, int dim, int k, size_t block_bytes,
                          int *idx, float *score);

/* The two steps of lqf_match_topk, for a caller that produces similarities itself. merge:
 * fold candidates sim[r * ld + c] (gallery row col0 + c, c < ncols) of rows r < nrows into
 * the partial results idx/score (k per row, kept as a heap with the worst on top) whose
 * sizes are count[r] (zero before the first merge); rows in parallel. finish: order each row
 * best first and pad it. */
void lqf_match_topk_merge(const float *sim, int nrows, int ncols, size_t ld, int col0, int k, int *idx, float *score,
                          int *count);
void lqf_match_topk_finish(int nrows, int k, int *idx, float *score, const int *count);

#endif
