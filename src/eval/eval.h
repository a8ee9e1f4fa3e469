/*
 * eval.h — internal interface of the evaluation subsystem (src/eval/): the pieces of the
 * insightface verification protocol that tests and other subsystems need one by one (fold
 * bounds, the VAL@FAR computation for any target, scipy's 'slinear' interpolation), the
 * identification metrics probe by probe, and the line reader, tokeniser and path join shared
 * by the protocol-file parsers. The public API is in lqface.h ("evaluation" section); the
 * protocols, sweeps and runners have their own headers (protocol.h, sweep.h, runner.h).
 */
#ifndef LQF_EVAL_H
#define LQF_EVAL_H

#include "core/core.h"

/* sklearn KFold(n_splits=k, shuffle=False) on n samples: test fold f is the contiguous range
 * [start[f], start[f+1]); the first n % k folds hold n/k + 1 samples, the others n/k.
 * start: k+1 entries. */
void lqf_kfold_bounds(int n, int k, int *start);

/* scipy <= 1.8 interp1d(x, y, kind='slinear')(q): the degree-1 B-spline with knots
 * [x0, x0..x(m-1), x(m-1)] and coefficients y, evaluated like scipy's BSpline (interval =
 * the last knot span starting at or below q; a zero-length last span evaluates to 0).
 * x: m >= 2 values, non-decreasing. Returns NaN when q lies outside [x0, x(m-1)]. */
double lqf_interp_slinear(const double *x, const double *y, int m, double q);

/* insightface calculate_val for one FAR target: per fold, the training FAR over the grid
 * i*0.001 (i = 0..3999), the threshold from lqf_interp_slinear (0 if the largest training
 * FAR is below the target), then VAL and FAR of the held-out fold. Arrays: n_folds values
 * (fold_thr may be NULL). A fold without same (different) pairs gets NaN VAL (FAR). */
lqf_status lqf_eval_val_far(const double *dist, const uint8_t *issame, int n, int n_folds,
                            double far_target, double *fold_val, double *fold_far,
                            double *fold_thr);

/* One probe's standing against a gallery and distractors, as lqf_ident_eval defines it. */
typedef struct {
    int rank;      /* 1 + non-mate entries scoring strictly above the best mate; 0: non-mated */
    double mate;   /* best mate score (mated probes) */
    double top;    /* highest score over gallery and distractors */
} lqf_ident_probe;
/* Probe p (its number, for messages) with similarities row (n_gallery) and drow
 * (n_distractor; may be NULL when 0). LQF_ERR_NUMERIC on a NaN similarity. */
lqf_status lqf_ident_score_probe(const float *row, const float *drow, int label, const int *gallery_label,
                                 int n_gallery, int n_distractor, int p, lqf_ident_probe *out);
/* lqf_ident_eval's metrics from the standings of n_probe probes (cmc may be NULL). */
lqf_status lqf_ident_summarise(const lqf_ident_probe *pr, int n_probe, int n_gallery, int n_distractor, double *cmc,
                               int max_rank, lqf_ident_result *r);

/* Line-by-line reader over a file read whole: next line (NUL-terminated, without "\r\n")
 * and its 1-based number; returns NULL at the end. */
typedef struct {
    char *buf;
    size_t len, pos;
    int line;
} lqf_lines;
lqf_status lqf_lines_open(lqf_lines *lr, const char *path);
char *lqf_lines_next(lqf_lines *lr);
void lqf_lines_close(lqf_lines *lr);
/* Split s in place on whitespace (or also commas when commas != 0) into at most max tokens;
 * returns the count, max + 1 when there are more. */
int lqf_split_tokens(char *s, char **tok, int max, int commas);
/* root/path, malloc'd (NULL when out of memory); absolute paths and a NULL or empty root
 * keep the path as it is. */
char *lqf_path_join(const char *root, const char *path);

#endif
