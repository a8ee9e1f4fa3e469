/*
 * verify.c — verification metrics from per-pair distances: insightface's 10-fold accuracy
 * (eval/verification.py calculate_roc: contiguous KFold folds, threshold grid i*0.01, first
 * argmax on the training folds), VAL@FAR (calculate_val with scipy's 'slinear' interpolation
 * as scipy <= 1.8 computed it), and over all pairs the ROC, TAR@FAR, EER, AUC and the best
 * threshold. Everything is counted on one sorted pass per grid, in double.
 */
#include "eval/eval.h"

#include <math.h>
#include <string.h>

#define ACC_GRID 400   /* np.arange(0, 4, 0.01) */
#define VAL_GRID 4000  /* np.arange(0, 4, 0.001) */

typedef struct {
    double d;
    int i;
} dist_idx;

static int cmp_dist_idx(const void *a, const void *b) {
    double x = ((const dist_idx *)a)->d, y = ((const dist_idx *)b)->d;
    return (x > y) - (x < y);
}

void lqf_kfold_bounds(int n, int k, int *start) {
    int base = n / k, extra = n % k, pos = 0;
    for (int f = 0; f < k; f++) {
        start[f] = pos;
        pos += base + (f < extra);
    }
    start[k] = n;
}

double lqf_interp_slinear(const double *x, const double *y, int m, double q) {
    if (m < 2 || !(q >= x[0] && q <= x[m - 1])) return NAN;
    /* scipy find_interval: the largest l with t[l] <= q, capped so the span [t[l], t[l+1]]
     * exists; with t = [x0, x0..x(m-1), x(m-1)] that is span j = #{i in 1..m-2: x[i] <= q}. */
    int lo = 1, hi = m - 1; /* first i in [1, m-2] with x[i] > q, or m-1 */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (x[mid] > q) hi = mid;
        else lo = mid + 1;
    }
    int j = lo - 1;
    double xa = x[j], xb = x[j + 1];
    if (xb == xa) return 0.0; /* de Boor on a zero-length span: all basis values are 0 */
    double w = 1.0 / (xb - xa);
    double h0 = w * (xb - q), h1 = w * (q - xa);
    return 0.0 + y[j] * h0 + y[j + 1] * h1;
}

/* The pairs sorted by distance (ascending), or NULL when out of memory. */
static dist_idx *sort_pairs(const double *dist, int n) {
    dist_idx *o = malloc((size_t)n * sizeof *o);
    if (!o) return NULL;
    for (int i = 0; i < n; i++) o[i] = (dist_idx){dist[i], i};
    qsort(o, (size_t)n, sizeof *o, cmp_dist_idx);
    return o;
}

/* Per grid threshold g[t], how many pairs of each fold are accepted (dist < g[t]), split
 * into same (cs) and different (cd): arrays [T][F]. o: the pairs sorted by distance. */
static lqf_status count_grid(const dist_idx *o, const uint8_t *issame, int n, const int *start, int F,
                             const double *grid, int T, int *cs, int *cd) {
    int *fold = malloc((size_t)n * sizeof *fold);
    if (!fold) return lqf_fail(LQF_ERR_NOMEM, "verification: out of memory for %d pairs", n);
    for (int f = 0; f < F; f++)
        for (int i = start[f]; i < start[f + 1]; i++) fold[i] = f;
    int run_s[LQF_EVAL_MAX_FOLDS] = {0}, run_d[LQF_EVAL_MAX_FOLDS] = {0};
    int p = 0;
    for (int t = 0; t < T; t++) {
        while (p < n && o[p].d < grid[t]) {
            int i = o[p++].i;
            if (issame[i]) run_s[fold[i]]++;
            else run_d[fold[i]]++;
        }
        memcpy(cs + (size_t)t * F, run_s, (size_t)F * sizeof(int));
        memcpy(cd + (size_t)t * F, run_d, (size_t)F * sizeof(int));
    }
    free(fold);
    return LQF_OK;
}

static lqf_status check_input(const double *dist, const uint8_t *issame, int n, int n_folds) {
    if (!dist || !issame || n <= 0)
        return lqf_fail(LQF_ERR_ARG, "verification: no pairs (n = %d)", n);
    if (n_folds < 2 || n_folds > LQF_EVAL_MAX_FOLDS || n_folds > n)
        return lqf_fail(LQF_ERR_ARG, "verification: %d folds for %d pairs (need 2..%d and <= pairs)",
                        n_folds, n, LQF_EVAL_MAX_FOLDS);
    for (int i = 0; i < n; i++)
        if (!isfinite(dist[i]))
            return lqf_fail(LQF_ERR_NUMERIC, "verification: distance of pair %d is not finite", i);
    return LQF_OK;
}

static void mean_std(const double *v, int n, double *mean, double *std) {
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    double m = s / n, q = 0;
    for (int i = 0; i < n; i++) q += (v[i] - m) * (v[i] - m);
    *mean = m;
    if (std) *std = sqrt(q / n);
}

/* calculate_val on pairs already checked and sorted (o). */
static lqf_status val_far_sorted(const dist_idx *o, const double *dist, const uint8_t *issame, int n,
                                 int n_folds, double far_target, double *fold_val, double *fold_far,
                                 double *fold_thr) {
    lqf_status st = LQF_OK;
    const int F = n_folds, T = VAL_GRID;
    int start[LQF_EVAL_MAX_FOLDS + 1];
    lqf_kfold_bounds(n, F, start);
    double *grid = malloc(T * sizeof *grid), *far_train = malloc(T * sizeof *far_train);
    int *cs = malloc((size_t)T * F * sizeof *cs), *cd = malloc((size_t)T * F * sizeof *cd);
    if (!grid || !far_train || !cs || !cd) {
        st = lqf_fail(LQF_ERR_NOMEM, "verification: out of memory");
        goto done;
    }
    for (int t = 0; t < T; t++) grid[t] = t * 0.001;
    if ((st = count_grid(o, issame, n, start, F, grid, T, cs, cd))) goto done;
    for (int f = 0; f < F; f++) {
        int test_same = 0, test_diff = 0;
        for (int i = start[f]; i < start[f + 1]; i++) test_same += issame[i] != 0;
        test_diff = start[f + 1] - start[f] - test_same;
        int n_diff_train = 0;
        for (int i = 0; i < n; i++)
            if (!issame[i] && (i < start[f] || i >= start[f + 1])) n_diff_train++;
        double thr;
        if (n_diff_train == 0) {
            thr = NAN;
        } else {
            double fmax = -INFINITY;
            for (int t = 0; t < T; t++) {
                int fp = 0;
                for (int g = 0; g < F; g++)
                    if (g != f) fp += cd[(size_t)t * F + g];
                far_train[t] = (double)fp / (double)n_diff_train;
                if (far_train[t] > fmax) fmax = far_train[t];
            }
            thr = fmax >= far_target ? lqf_interp_slinear(far_train, grid, T, far_target) : 0.0;
        }
        int ta = 0, fa = 0;
        for (int i = start[f]; i < start[f + 1]; i++)
            if (dist[i] < thr) {
                if (issame[i]) ta++;
                else fa++;
            }
        fold_val[f] = test_same ? (double)ta / (double)test_same : NAN;
        fold_far[f] = test_diff ? (double)fa / (double)test_diff : NAN;
        if (isnan(thr)) fold_val[f] = fold_far[f] = NAN;
        if (fold_thr) fold_thr[f] = thr;
    }
done:
    free(grid);
    free(far_train);
    free(cs);
    free(cd);
    return st;
}

lqf_status lqf_eval_val_far(const double *dist, const uint8_t *issame, int n, int n_folds,
                            double far_target, double *fold_val, double *fold_far,
                            double *fold_thr) {
    lqf_status st = check_input(dist, issame, n, n_folds);
    if (st) return st;
    dist_idx *o = sort_pairs(dist, n);
    if (!o) return lqf_fail(LQF_ERR_NOMEM, "verification: out of memory for %d pairs", n);
    st = val_far_sorted(o, dist, issame, n, n_folds, far_target, fold_val, fold_far, fold_thr);
    free(o);
    return st;
}

/* The ROC of pairs already checked and sorted (o). */
static lqf_status roc_sorted(const dist_idx *o, const uint8_t *issame, int n, double **thr, double **tar,
                             double **far, int *n_points) {
    *thr = *tar = *far = NULL;
    *n_points = 0;
    int ns = 0;
    for (int i = 0; i < n; i++) ns += issame[i] != 0;
    int nd = n - ns;
    if (ns == 0 || nd == 0)
        return lqf_fail(LQF_ERR_ARG, "verification: ROC needs same and different pairs (%d same, %d different)",
                        ns, nd);
    double *t = malloc((size_t)(n + 1) * sizeof *t), *a = malloc((size_t)(n + 1) * sizeof *a),
           *r = malloc((size_t)(n + 1) * sizeof *r);
    if (!t || !a || !r) {
        free(t), free(a), free(r);
        return lqf_fail(LQF_ERR_NOMEM, "verification: out of memory for the ROC of %d pairs", n);
    }
    int k = 0, tp = 0, fp = 0;
    t[0] = -INFINITY, a[0] = 0, r[0] = 0;
    for (int p = 0; p < n;) {
        double v = o[p].d;
        while (p < n && o[p].d == v) {
            if (issame[o[p].i]) tp++;
            else fp++;
            p++;
        }
        k++;
        t[k] = v;
        a[k] = (double)tp / ns;
        r[k] = (double)fp / nd;
    }
    *thr = t, *tar = a, *far = r;
    *n_points = k + 1;
    return LQF_OK;
}

lqf_status lqf_verify_roc(const double *dist, const uint8_t *issame, int n, double **thr,
                          double **tar, double **far, int *n_points) {
    *thr = *tar = *far = NULL;
    *n_points = 0;
    lqf_status st = check_input(dist, issame, n, n >= 2 ? 2 : n);
    if (st) return st;
    dist_idx *o = sort_pairs(dist, n);
    if (!o) return lqf_fail(LQF_ERR_NOMEM, "verification: out of memory for %d pairs", n);
    st = roc_sorted(o, issame, n, thr, tar, far, n_points);
    free(o);
    return st;
}

lqf_status lqf_verify_eval(const double *dist, const uint8_t *issame, int n, int n_folds,
                           lqf_verify_result *r) {
    memset(r, 0, sizeof *r);
    lqf_status st = check_input(dist, issame, n, n_folds);
    if (st) return st;
    const int F = n_folds, T = ACC_GRID;
    int ns = 0;
    for (int i = 0; i < n; i++) ns += issame[i] != 0;
    r->n_pairs = n, r->n_same = ns, r->n_diff = n - ns, r->n_folds = F;
    if (ns == 0 || ns == n)
        return lqf_fail(LQF_ERR_ARG, "verification: needs same and different pairs (%d same of %d)", ns, n);

    /* --- 10-fold accuracy (calculate_roc) */
    int start[LQF_EVAL_MAX_FOLDS + 1];
    lqf_kfold_bounds(n, F, start);
    double grid[ACC_GRID];
    for (int t = 0; t < T; t++) grid[t] = t * 0.01;
    dist_idx *o = sort_pairs(dist, n);
    int *cs = malloc((size_t)T * F * sizeof *cs), *cd = malloc((size_t)T * F * sizeof *cd);
    if (!o || !cs || !cd) {
        free(o), free(cs), free(cd);
        return lqf_fail(LQF_ERR_NOMEM, "verification: out of memory");
    }
    if ((st = count_grid(o, issame, n, start, F, grid, T, cs, cd))) {
        free(o), free(cs), free(cd);
        return st;
    }
    int fold_same[LQF_EVAL_MAX_FOLDS];
    for (int f = 0; f < F; f++) {
        fold_same[f] = 0;
        for (int i = start[f]; i < start[f + 1]; i++) fold_same[f] += issame[i] != 0;
    }
    int best_all = 0;
    long best_all_ok = -1;
    for (int t = 0; t < T; t++) { /* over all pairs: the overall best threshold */
        long tp = 0, fp = 0;
        for (int g = 0; g < F; g++) tp += cs[(size_t)t * F + g], fp += cd[(size_t)t * F + g];
        long ok = tp + (n - ns - fp);
        if (ok > best_all_ok) best_all_ok = ok, best_all = t;
    }
    r->best_thr = grid[best_all];
    r->best_thr_cos = 1.0 - grid[best_all] / 2.0;
    r->best_acc = (double)best_all_ok / n;
    for (int f = 0; f < F; f++) {
        int n_test = start[f + 1] - start[f], n_train = n - n_test;
        int diff_train = (n - ns) - (n_test - fold_same[f]);
        int best = 0;
        double best_acc = -1;
        for (int t = 0; t < T; t++) {
            long tp = 0, fp = 0;
            for (int g = 0; g < F; g++)
                if (g != f) tp += cs[(size_t)t * F + g], fp += cd[(size_t)t * F + g];
            double acc = (double)(tp + (diff_train - fp)) / n_train;
            if (acc > best_acc) best_acc = acc, best = t;
        }
        int tp = cs[(size_t)best * F + f], fp = cd[(size_t)best * F + f];
        int tn = (n_test - fold_same[f]) - fp;
        r->fold_thr[f] = grid[best];
        r->fold_acc[f] = (double)(tp + tn) / n_test;
    }
    free(cs), free(cd);
    mean_std(r->fold_acc, F, &r->acc_mean, &r->acc_std);

    /* --- VAL@FAR=1e-3 (calculate_val) */
    if ((st = val_far_sorted(o, dist, issame, n, F, 1e-3, r->fold_val, r->fold_far, r->fold_val_thr))) {
        free(o);
        return st;
    }
    mean_std(r->fold_val, F, &r->val_mean, &r->val_std);
    mean_std(r->fold_far, F, &r->far_mean, NULL);

    /* --- ROC over all pairs: TAR@FAR, EER, AUC */
    double *thr, *tar, *far;
    int np;
    st = roc_sorted(o, issame, n, &thr, &tar, &far, &np);
    free(o);
    if (st) return st;
    static const double targets[LQF_EVAL_N_FAR] = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1};
    for (int k = 0; k < LQF_EVAL_N_FAR; k++) {
        double target = targets[k];
        int last = 0;
        for (int p = 0; p < np; p++)
            if (far[p] <= target) last = p;
        r->far_target[k] = target;
        r->tar_at_far[k] = tar[last];
        r->tar_thr[k] = thr[last];
        r->far_at[k] = far[last];
    }
    r->eer = NAN;
    for (int p = 1; p < np; p++) {
        double d1 = (1.0 - tar[p]) - far[p];
        if (d1 <= 0) {
            double d0 = (1.0 - tar[p - 1]) - far[p - 1];
            double alpha = d0 / (d0 - d1);
            r->eer = far[p - 1] + alpha * (far[p] - far[p - 1]);
            break;
        }
    }
    double auc = 0;
    for (int p = 1; p < np; p++) auc += (far[p] - far[p - 1]) * (tar[p] + tar[p - 1]) / 2.0;
    r->auc = auc;
    free(thr), free(tar), free(far);
    return LQF_OK;
}
