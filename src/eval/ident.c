/*
 * ident.c — identification metrics from a probe x gallery similarity matrix with optional
 * distractors appended to the gallery: closed-set CMC / rank-k (a probe's rank is 1 + the
 * number of non-mate entries scoring strictly above its best mate) and open-set DIR at a
 * given FPIR with the threshold taken from the non-mated probes' top scores as in the IJB-S
 * (PFE) evaluation code. Computed in double, probe by probe (lqf_ident_score_probe), then
 * summarised (lqf_ident_summarise), so a runner can score probes block by block.
 */
#include "eval/eval.h"

#include <math.h>
#include <string.h>

static int cmp_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

lqf_status lqf_ident_score_probe(const float *row, const float *drow, int label, const int *gallery_label,
                                 int n_gallery, int n_distractor, int p, lqf_ident_probe *out) {
    double best = -INFINITY, top = -INFINITY;
    int mated = 0;
    for (int g = 0; g < n_gallery; g++) {
        double s = row[g];
        if (isnan(s)) return lqf_fail(LQF_ERR_NUMERIC, "identification: similarity (%d, %d) is NaN", p, g);
        if (s > top) top = s;
        if (gallery_label[g] == label) {
            mated = 1;
            if (s > best) best = s;
        }
    }
    for (int g = 0; g < n_distractor; g++) {
        double s = drow[g];
        if (isnan(s)) return lqf_fail(LQF_ERR_NUMERIC, "identification: distractor similarity (%d, %d) is NaN", p, g);
        if (s > top) top = s;
    }
    out->top = top;
    out->mate = best;
    out->rank = 0;
    if (!mated) return LQF_OK;
    int above = 0;
    for (int g = 0; g < n_gallery; g++)
        if (gallery_label[g] != label && row[g] > best) above++;
    for (int g = 0; g < n_distractor; g++)
        if (drow[g] > best) above++;
    out->rank = 1 + above;
    return LQF_OK;
}

lqf_status lqf_ident_summarise(const lqf_ident_probe *pr, int n_probe, int n_gallery, int n_distractor, double *cmc,
                               int max_rank, lqf_ident_result *r) {
    memset(r, 0, sizeof *r);
    double *top_nm = malloc((size_t)LQF_MAX(n_probe, 1) * sizeof *top_nm);
    if (!top_nm) return lqf_fail(LQF_ERR_NOMEM, "identification: out of memory");
    int n_m = 0, n_nm = 0;
    for (int p = 0; p < n_probe; p++) {
        if (pr[p].rank) n_m++;
        else top_nm[n_nm++] = pr[p].top;
    }
    r->n_probes = n_probe, r->n_mated = n_m, r->n_nonmated = n_nm;
    r->n_gallery = n_gallery, r->n_distractors = n_distractor;

    /* closed set */
    static const int ranks[4] = {1, 5, 10, 20};
    double rk[4];
    for (int j = 0; j < 4; j++) {
        int c = 0;
        for (int p = 0; p < n_probe; p++) c += pr[p].rank > 0 && pr[p].rank <= ranks[j];
        rk[j] = n_m ? (double)c / n_m : NAN;
    }
    r->rank1 = rk[0], r->rank5 = rk[1], r->rank10 = rk[2], r->rank20 = rk[3];
    if (cmc) {
        for (int k = 0; k < max_rank; k++) cmc[k] = 0;
        for (int p = 0; p < n_probe; p++)
            if (pr[p].rank > 0 && pr[p].rank <= max_rank) cmc[pr[p].rank - 1] += 1;
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
        int hit = 0, fa = 0;
        for (int p = 0; p < n_probe; p++) hit += pr[p].rank == 1 && pr[p].mate >= thr;
        for (int i = 0; i < n_nm; i++) fa += top_nm[i] >= thr;
        r->dir_thr[j] = thr;
        r->dir[j] = n_m ? (double)hit / n_m : NAN;
        r->fpir_measured[j] = (double)fa / n_nm;
    }
    free(top_nm);
    return LQF_OK;
}

lqf_status lqf_ident_eval(const float *sim, const float *dsim, const int *probe_label,
                          const int *gallery_label, int n_probe, int n_gallery,
                          int n_distractor, double *cmc, int max_rank, lqf_ident_result *r) {
    memset(r, 0, sizeof *r);
    if (!sim || !probe_label || !gallery_label || n_probe <= 0 || n_gallery <= 0 ||
        n_distractor < 0 || (n_distractor > 0 && !dsim) || (cmc && max_rank <= 0))
        return lqf_fail(LQF_ERR_ARG, "identification: bad arguments (%d probes, %d gallery, %d distractors)",
                        n_probe, n_gallery, n_distractor);
    lqf_ident_probe *pr = malloc((size_t)n_probe * sizeof *pr);
    if (!pr) return lqf_fail(LQF_ERR_NOMEM, "identification: out of memory");
    lqf_status st = LQF_OK;
    for (int p = 0; p < n_probe && !st; p++)
        st = lqf_ident_score_probe(sim + (size_t)p * n_gallery, n_distractor ? dsim + (size_t)p * n_distractor : NULL,
                                   probe_label[p], gallery_label, n_gallery, n_distractor, p, &pr[p]);
    if (!st) st = lqf_ident_summarise(pr, n_probe, n_gallery, n_distractor, cmc, max_rank, r);
    free(pr);
    return st;
}
