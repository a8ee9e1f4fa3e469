/*
 * ident.c — identification metrics from a probe x gallery similarity matrix with optional
 * distractors appended to the gallery: closed-set CMC / rank-k (a probe's rank is 1 + the
 * number of non-mate entries scoring strictly above its best mate) and open-set DIR at a
 * given FPIR with the threshold taken from the non-mated probes' top scores as in the IJB-S
 * (PFE) evaluation code. Computed in double.
 */
#include "eval/eval.h"

#include <math.h>
#include <string.h>

static int cmp_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

lqf_status lqf_ident_eval(const float *sim, const float *dsim, const int *probe_label,
                          const int *gallery_label, int n_probe, int n_gallery,
                          int n_distractor, double *cmc, int max_rank, lqf_ident_result *r) {
    memset(r, 0, sizeof *r);
    if (!sim || !probe_label || !gallery_label || n_probe <= 0 || n_gallery <= 0 ||
        n_distractor < 0 || (n_distractor > 0 && !dsim) || (cmc && max_rank <= 0))
        return lqf_fail(LQF_ERR_ARG, "identification: bad arguments (%d probes, %d gallery, %d distractors)",
                        n_probe, n_gallery, n_distractor);
    int *rank = malloc((size_t)n_probe * sizeof *rank); /* 0: non-mated probe */
    double *mate = malloc((size_t)n_probe * sizeof *mate), *top_nm = malloc((size_t)n_probe * sizeof *top_nm);
    if (!rank || !mate || !top_nm) {
        free(rank), free(mate), free(top_nm);
        return lqf_fail(LQF_ERR_NOMEM, "identification: out of memory");
    }
    int n_m = 0, n_nm = 0;
    lqf_status st = LQF_OK;
    for (int p = 0; p < n_probe && !st; p++) {
        const float *row = sim + (size_t)p * n_gallery;
        const float *drow = n_distractor ? dsim + (size_t)p * n_distractor : NULL;
        double best = -INFINITY, top = -INFINITY;
        int mated = 0;
        for (int g = 0; g < n_gallery; g++) {
            double s = row[g];
            if (isnan(s)) {
                st = lqf_fail(LQF_ERR_NUMERIC, "identification: similarity (%d, %d) is NaN", p, g);
                break;
            }
            if (s > top) top = s;
            if (gallery_label[g] == probe_label[p]) {
                mated = 1;
                if (s > best) best = s;
            }
        }
        for (int g = 0; g < n_distractor && !st; g++) {
            double s = drow[g];
            if (isnan(s))
                st = lqf_fail(LQF_ERR_NUMERIC, "identification: distractor similarity (%d, %d) is NaN", p, g);
            else if (s > top)
                top = s;
        }
        if (st) break;
        if (!mated) {
            rank[p] = 0;
            top_nm[n_nm++] = top;
            continue;
        }
        int above = 0;
        for (int g = 0; g < n_gallery; g++)
            if (gallery_label[g] != probe_label[p] && row[g] > best) above++;
        for (int g = 0; g < n_distractor; g++)
            if (drow[g] > best) above++;
        rank[p] = 1 + above;
        mate[n_m++] = best;
    }
    if (st) goto done;
    r->n_probes = n_probe, r->n_mated = n_m, r->n_nonmated = n_nm;
    r->n_gallery = n_gallery, r->n_distractors = n_distractor;

    /* closed set */
    static const int ranks[4] = {1, 5, 10, 20};
    double rk[4];
    for (int j = 0; j < 4; j++) {
        int c = 0;
        for (int p = 0; p < n_probe; p++) c += rank[p] > 0 && rank[p] <= ranks[j];
        rk[j] = n_m ? (double)c / n_m : NAN;
    }
    r->rank1 = rk[0], r->rank5 = rk[1], r->rank10 = rk[2], r->rank20 = rk[3];
    if (cmc) {
        for (int k = 0; k < max_rank; k++) cmc[k] = 0;
        for (int p = 0; p < n_probe; p++)
            if (rank[p] > 0 && rank[p] <= max_rank) cmc[rank[p] - 1] += 1;
        double acc = 0;
        for (int k = 0; k < max_rank; k++) {
            acc += cmc[k];
            cmc[k] = n_m ? acc / n_m : NAN;
        }
    }

    /* open set: DIR at FPIR 1% and 10% */
    static const double fpirs[2] = {0.01, 0.1};
    qsort(top_nm, (size_t)n_nm, sizeof *top_nm, cmp_desc);
    for (int j = 0; j < 2; j++) {
        r->fpir[j] = fpirs[j];
        if (n_nm == 0) {
            r->dir[j] = r->dir_thr[j] = r->fpir_measured[j] = NAN;
            continue;
        }
        int m = (int)rint((double)n_nm * fpirs[j]);
        double thr = m == 0 ? top_nm[0] + 1e-5 : top_nm[m - 1];
        int hit = 0, k = 0, fa = 0;
        for (int p = 0; p < n_probe; p++)
            if (rank[p] > 0) {
                if (rank[p] == 1 && mate[k] >= thr) hit++;
                k++;
            }
        for (int i = 0; i < n_nm; i++) fa += top_nm[i] >= thr;
        r->dir_thr[j] = thr;
        r->dir[j] = n_m ? (double)hit / n_m : NAN;
        r->fpir_measured[j] = (double)fa / n_nm;
    }
done:
    free(rank), free(mate), free(top_nm);
    return st;
}
