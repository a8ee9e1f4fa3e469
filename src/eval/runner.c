/*
 * runner.c — verification and identification runners (runner.h, lqf_eval_* in lqface.h):
 * face set -> embeddings per condition (clean ones once; a condition renders only the
 * photos it degrades) -> pair distances or probe x gallery similarities (match.h) ->
 * lqf_verify_eval / identification metrics -> one report row per condition.
 */
#include "eval/runner.h"
#include "eval/eval.h"
#include "faceset/faceset.h"
#include "match/match.h"

#include <stdlib.h>
#include <string.h>

/* Embeddings of the face set under c into emb (clean: from the set's cache). */
static lqf_status embed(lqf_face_set *fs, const lqf_eval_options *o, const lqf_condition *c, float *emb) {
    return lqf_face_set_embed_with(fs, o->embed, o->embed_user, o->dim, c, o->seed, emb, NULL, o->progress,
                                   o->progress_user);
}

/* One condition: render and embed, score, append the report's row. */
typedef lqf_status (*condition_fn)(lqf_face_set *fs, const lqf_condition *c, const lqf_eval_options *o, void *state,
                                   lqf_report *rep);

/* The checks every run starts with; *rows = its n rows of elem bytes (the report's rows,
 * current, must still be empty). */
static lqf_status begin(const lqf_face_set *fs, const lqf_eval_options *o, int n, const void *current, size_t elem,
                        const char *what, void **rows) {
    if (!fs || !o || !o->embed || o->dim <= 0 || n < 0)
        return lqf_fail(LQF_ERR_ARG, "%s: bad arguments (no face set, embedding function or dimension)", what);
    if (current) return lqf_fail(LQF_ERR_ARG, "%s: the report already has rows", what);
    if (!(*rows = calloc((size_t)LQF_MAX(n, 1), elem))) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", what);
    return LQF_OK;
}

/* Each condition through fn, each row reported; the face set's selection reset after. */
static lqf_status each_condition(lqf_face_set *fs, const lqf_condition *c, int n, const lqf_eval_options *o,
                                 condition_fn fn, void *state, lqf_row_fn on_row, void *row_user, lqf_report *rep) {
    lqf_status st = LQF_OK;
    for (int k = 0; k < n && !st; k++) {
        st = fn(fs, &c[k], o, state, rep);
        if (!st && on_row) on_row(row_user, rep);
    }
    lqf_face_set_select(fs, NULL);
    return st;
}

/* ------------------------------------------------------------------ verification */
typedef struct {
    const lqf_verify_pairs *p;
    int n;            /* usable pairs */
    int *a, *b;       /* their photos */
    uint8_t *issame;
    uint8_t *second;  /* photos that are the second of a usable pair (one-sided conditions) */
    float *clean, *cur; /* n_photos x dim */
} verify_state;

static void verify_free(verify_state *v) {
    free(v->a), free(v->b), free(v->issame), free(v->second), free(v->clean), free(v->cur);
}

/* Pairs whose photos both prepared, and the buffers of the run. */
static lqf_status verify_setup(lqf_face_set *fs, const lqf_verify_pairs *p, int dim, verify_state *v) {
    v->p = p;
    int np = lqf_face_set_size(fs), folds = p->n_folds > 0 ? p->n_folds : 10;
    v->a = malloc(sizeof(int) * (size_t)LQF_MAX(p->n, 1));
    v->b = malloc(sizeof(int) * (size_t)LQF_MAX(p->n, 1));
    v->issame = malloc((size_t)LQF_MAX(p->n, 1));
    v->second = calloc((size_t)LQF_MAX(np, 1), 1);
    v->clean = malloc(sizeof(float) * (size_t)LQF_MAX(np, 1) * dim);
    v->cur = malloc(sizeof(float) * (size_t)LQF_MAX(np, 1) * dim);
    if (!v->a || !v->b || !v->issame || !v->second || !v->clean || !v->cur)
        return lqf_fail(LQF_ERR_NOMEM, "verification: out of memory for %d pairs of %d photos", p->n, np);
    for (int k = 0; k < p->n; k++) {
        if (p->a[k] < 0 || p->a[k] >= np || p->b[k] < 0 || p->b[k] >= np)
            return lqf_fail(LQF_ERR_ARG, "verification: pair %d names photo %d or %d of %d", k, p->a[k], p->b[k], np);
        if (lqf_face_set_status(fs, p->a[k], NULL) || lqf_face_set_status(fs, p->b[k], NULL)) continue;
        v->a[v->n] = p->a[k], v->b[v->n] = p->b[k], v->issame[v->n] = p->issame[k];
        v->second[p->b[k]] = 1;
        v->n++;
    }
    if (v->n < folds)
        return lqf_fail(LQF_ERR_ARG, "verification: only %d usable pairs, too few for %d folds", v->n, folds);
    return LQF_OK;
}

/* One condition: embeddings (both sides, or the second only), distances, metrics, ROC. */
static lqf_status verify_condition(lqf_face_set *fs, const lqf_condition *c, const lqf_eval_options *o, void *state,
                                   lqf_report *rep) {
    verify_state *v = state;
    const lqf_verify_pairs *p = v->p;
    lqf_report_verify *row = &rep->rows[rep->n_rows++];
    double t0 = lqf_now();
    const float *ea = v->clean, *eb = v->clean;
    lqf_status st = LQF_OK;
    if (!lqf_condition_is_clean(c)) {
        st = lqf_face_set_select(fs, c->one_side ? v->second : NULL);
        if (!st) st = embed(fs, o, c, v->cur);
        if (st) return st;
        eb = v->cur;
        if (!c->one_side) ea = v->cur;
    }
    row->cond = *c;
    row->n_pairs = v->n;
    row->n_skipped = p->n - v->n;
    row->dist = malloc(sizeof(double) * (size_t)v->n);
    row->issame = malloc((size_t)v->n);
    if (!row->dist || !row->issame) return lqf_fail(LQF_ERR_NOMEM, "verification: out of memory");
    memcpy(row->issame, v->issame, (size_t)v->n);
    lqf_match_pair_distances(ea, v->a, eb, v->b, v->n, o->dim, row->dist);
    st = lqf_verify_eval(row->dist, row->issame, v->n, p->n_folds > 0 ? p->n_folds : 10, &row->v);
    if (st) return st;
    double *thr, *tar, *far;
    int n_roc;
    if (!lqf_verify_roc(row->dist, row->issame, v->n, &thr, &tar, &far, &n_roc)) {
        lqf_report_set_roc(row, far, tar, n_roc);
        free(thr), free(tar), free(far);
    }
    row->seconds = lqf_now() - t0;
    return LQF_OK;
}

lqf_status lqf_run_verify(lqf_face_set *fs, const lqf_verify_pairs *pairs, const lqf_condition *c, int n_conditions,
                          const lqf_eval_options *o, lqf_row_fn on_row, void *row_user, lqf_report *rep) {
    void *rows;
    lqf_status st = begin(fs, o, n_conditions, rep->rows, sizeof *rep->rows, "verification", &rows);
    if (st) return st;
    rep->rows = rows;
    verify_state v = {0};
    st = verify_setup(fs, pairs, o->dim, &v);
    if (!st) st = embed(fs, o, NULL, v.clean);
    if (!st) st = each_condition(fs, c, n_conditions, o, verify_condition, &v, on_row, row_user, rep);
    verify_free(&v);
    return st;
}

lqf_status lqf_eval_verify(lqf_face_set *fs, const lqf_verify_pairs *pairs, const lqf_condition *conditions,
                           int n_conditions, const lqf_eval_options *o, lqf_verify_result *results) {
    lqf_report rep = {0};
    lqf_status st = lqf_run_verify(fs, pairs, conditions, n_conditions, o, NULL, NULL, &rep);
    for (int k = 0; !st && k < rep.n_rows; k++) results[k] = rep.rows[k].v;
    lqf_report_free_rows(&rep);
    return st;
}

/* ------------------------------------------------------------------ identification */
typedef struct {
    int cg, cp, cd;          /* usable gallery photos, probes, distractors */
    int *probe;              /* face set index of usable probe k */
    int *glab, *plab;        /* labels of the usable gallery photos and probes */
    float *G;                /* (cg + cd) x dim: gallery then distractors, clean */
    float *P;                /* cp x dim: probes under the condition */
    float *emb;              /* n_photos x dim */
    uint8_t *probes_only;    /* the face set's selection: probes */
    lqf_ident_probe *pr;     /* cp standings */
} ident_state;

static void ident_free(ident_state *s) {
    free(s->probe), free(s->glab), free(s->plab), free(s->G), free(s->P), free(s->emb), free(s->probes_only);
    free(s->pr);
}

/* Usable photos of each role, their labels, the buffers and the clean gallery rows. */
static lqf_status ident_setup(lqf_face_set *fs, const lqf_ident_sets *r, const lqf_eval_options *o, ident_state *s) {
    int ng = r->n_gallery, np = r->n_probe, nd = r->n_distractor, n = lqf_face_set_size(fs), D = o->dim;
    if (ng < 0 || np < 0 || nd < 0 || ng + np + nd != n || !r->gallery_label || !r->probe_label)
        return lqf_fail(LQF_ERR_ARG, "identification: %d + %d + %d photos in roles for a set of %d", ng, np, nd, n);
    int *gidx = malloc(sizeof(int) * (size_t)(ng + nd + 1));
    s->probe = malloc(sizeof(int) * (size_t)(np + 1));
    s->glab = malloc(sizeof(int) * (size_t)(ng + 1));
    s->plab = malloc(sizeof(int) * (size_t)(np + 1));
    s->emb = malloc(sizeof(float) * (size_t)(n + 1) * D);
    s->probes_only = calloc((size_t)n + 1, 1);
    if (!gidx || !s->probe || !s->glab || !s->plab || !s->emb || !s->probes_only) {
        free(gidx);
        return lqf_fail(LQF_ERR_NOMEM, "identification: out of memory for %d photos", n);
    }
    for (int i = 0; i < ng; i++)
        if (!lqf_face_set_status(fs, i, NULL)) s->glab[s->cg] = r->gallery_label[i], gidx[s->cg++] = i;
    for (int i = 0; i < np; i++) {
        s->probes_only[ng + i] = 1;
        if (!lqf_face_set_status(fs, ng + i, NULL)) s->plab[s->cp] = r->probe_label[i], s->probe[s->cp++] = ng + i;
    }
    for (int i = 0; i < nd; i++)
        if (!lqf_face_set_status(fs, ng + np + i, NULL)) gidx[s->cg + s->cd++] = ng + np + i;
    lqf_status st = LQF_OK;
    if (s->cg <= 0 || s->cp <= 0)
        st = lqf_fail(LQF_ERR_ARG, "identification: bad arguments (%d probes, %d gallery, %d distractors)", s->cp,
                      s->cg, s->cd);
    s->G = st ? NULL : malloc(sizeof(float) * (size_t)(s->cg + s->cd) * D);
    s->P = st ? NULL : malloc(sizeof(float) * (size_t)s->cp * D);
    s->pr = st ? NULL : malloc(sizeof(lqf_ident_probe) * (size_t)s->cp);
    if (!st && (!s->G || !s->P || !s->pr)) st = lqf_fail(LQF_ERR_NOMEM, "identification: out of memory");
    if (!st) st = embed(fs, o, NULL, s->emb);
    for (int k = 0; !st && k < s->cg + s->cd; k++)
        memcpy(s->G + (size_t)k * D, s->emb + (size_t)gidx[k] * D, sizeof(float) * D);
    free(gidx);
    return st;
}

static lqf_status score_block(void *user, int row0, int nrows, int col0, int ncols, const float *sim, size_t ld) {
    ident_state *s = user;
    lqf_status st = LQF_OK;
    for (int r = 0; r < nrows && !st; r++) {
        const float *row = sim + (size_t)r * ld;
        st = lqf_ident_score_probe(row, s->cd ? row + s->cg : NULL, s->plab[row0 + r], s->glab, s->cg, s->cd, row0 + r,
                                   &s->pr[row0 + r]);
    }
    return st;
}

/* One condition: probe embeddings, their similarities to gallery + distractors, metrics. */
static lqf_status ident_condition(lqf_face_set *fs, const lqf_condition *c, const lqf_eval_options *o, void *state,
                                  lqf_report *rep) {
    ident_state *s = state;
    lqf_report_ident *row = &rep->ident[rep->n_ident++];
    double t0 = lqf_now();
    int D = o->dim;
    lqf_status st = embed(fs, o, c, s->emb); /* clean: the cache; else the probes only are rendered */
    if (st) return st;
    for (int k = 0; k < s->cp; k++) memcpy(s->P + (size_t)k * D, s->emb + (size_t)s->probe[k] * D, sizeof(float) * D);
    st = lqf_match_scan(s->P, s->cp, s->G, s->cg + s->cd, D, 0, 1, score_block, s);
    snprintf(row->label, sizeof row->label, "%s", c->label);
    row->max_rank = LQF_EVAL_CMC_RANKS;
    if (!st) st = lqf_ident_summarise(s->pr, s->cp, s->cg, s->cd, row->cmc, row->max_rank, &row->r);
    row->seconds = lqf_now() - t0;
    return st;
}

lqf_status lqf_run_ident(lqf_face_set *fs, const lqf_ident_sets *sets, const lqf_condition *c, int n_conditions,
                         const lqf_eval_options *o, lqf_row_fn on_row, void *row_user, lqf_report *rep) {
    void *rows;
    lqf_status st = begin(fs, o, n_conditions, rep->ident, sizeof *rep->ident, "identification", &rows);
    if (st) return st;
    rep->ident = rows;
    ident_state s = {0};
    st = ident_setup(fs, sets, o, &s);
    if (!st) st = lqf_face_set_select(fs, s.probes_only); /* conditions degrade the probes only */
    if (!st) st = each_condition(fs, c, n_conditions, o, ident_condition, &s, on_row, row_user, rep);
    lqf_face_set_select(fs, NULL);
    ident_free(&s);
    return st;
}

lqf_status lqf_eval_ident(lqf_face_set *fs, const lqf_ident_sets *sets, const lqf_condition *conditions,
                          int n_conditions, const lqf_eval_options *o, lqf_ident_result *results, double *cmc) {
    lqf_report rep = {0};
    lqf_status st = lqf_run_ident(fs, sets, conditions, n_conditions, o, NULL, NULL, &rep);
    for (int k = 0; !st && k < rep.n_ident; k++) {
        results[k] = rep.ident[k].r;
        if (cmc) memcpy(cmc + (size_t)k * LQF_EVAL_CMC_RANKS, rep.ident[k].cmc, sizeof rep.ident[k].cmc);
    }
    lqf_report_free_rows(&rep);
    return st;
}
