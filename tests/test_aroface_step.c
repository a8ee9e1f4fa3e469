/*
 * test_aroface_step.c — one ARoFace adversarial step through lqface equals a PyTorch
 * reimplementation of the reference (AdvWarp.py adversarial_img_warping), end to end on a
 * real network: tools/ref_aroface_step.py dumps (tests/data/aroface/) of a reduced
 * insightface IResNet-18 (widths 4/8/12/16, 32x32 input, embedding 16) in training mode with
 * insightface's straight-through ArcFace loss (arcface_st) on 8 ORL faces.
 *
 * lqface's generator is not torch's, so the random quantities (start p0, step sizes eta,
 * the two permutations behind idx1/idx2) come from the dump and are fed to the lower-level
 * pieces lqf_aro_augment is made of: lqf_aro_search (given p0 and a config carrying the
 * etas), lqf_aro_mix_select (given perms), lqf_aro_mix_gather. The network is built by
 * lqf_train_open from the same settings a training run uses, and the search's loss
 * gradient is the trainer's own lqf_train_input_grad, which run.c's ARoFace callback calls
 * (trainer forward in training mode with input gradients on, head forward_backward, trainer
 * backward, dL/dwarped read from the input's gradient, no parameter update).
 *
 * BatchNorm during the search: lqface's trainer normalises with the batch statistics and
 * UPDATES the running statistics on each of the k search forwards, as the reference does
 * (its backbone is in train mode during the search); the test compares the running
 * statistics after the search with torch's.
 *
 * Per case (reference preset k=1; reference preset with large etas so that every bound of
 * the clip box binds, including the buggy t upper bound theta0 + 0.3; fixed preset k=2):
 * the loss of each search step, dL/d(s, theta, tx, ty) at each step (every sign equal and
 * magnitudes within a tolerance), the final parameters (to 1e-6), the warped batch, the mixed
 * batch (to 1e-5), the mixed labels (exactly) and the running statistics. Then cos and sin
 * of the similarity matrix against torch's float32 sin/cos on 4096 angles, exactly: torch
 * 1.13 on an AVX2 CPU uses SLEEF's 1-ulp functions, and with libm's (one ulp off in ~8% of
 * small angles) a warped pixel here differed from torch's by 6e-6; warp.c reproduces SLEEF.
 */
#include "testutil.h"

#include "augment/warp.h"
#include "nn/backbone.h"
#include "nn/exec.h"
#include "train/heads.h"
#include "train/run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { B = 8, S = 32, D = 16, C = 4, MAXT = 256, MAXK = 4 };
#define IMG ((size_t)S * S * 3)

typedef struct {
    int n;
    char name[MAXT][128];
    long numel[MAXT];
    int ncase;
    char cname[8][64];
    int k[8];
    double ratio[8];
} dump_list;

static int read_list(const char *path, dump_list *l) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[512];
    l->n = l->ncase = 0;
    while (fgets(line, sizeof line, f)) {
        if (l->n < MAXT && sscanf(line, "tensor %127s %ld", l->name[l->n], &l->numel[l->n]) == 2) l->n++;
        else if (l->ncase < 8 && sscanf(line, "case %63s %d %lf", l->cname[l->ncase], &l->k[l->ncase],
                                        &l->ratio[l->ncase]) == 3)
            l->ncase++;
    }
    fclose(f);
    return 0;
}

static int is_stat(const char *name) {
    size_t n = strlen(name);
    return (n > 12 && !strcmp(name + n - 12, "running_mean")) || (n > 11 && !strcmp(name + n - 11, "running_var"));
}

/* ------------------------------------------------------------------ the loss gradient */
/* The trainer's own input gradient (lqf_train_input_grad, what run.c's ARoFace callback
 * calls); also keeps each step's loss and dL/dwarped so that the test can replay the
 * parameter gradients. */
typedef struct {
    lqf_train *t;
    const int *labels;
    int calls;
    double loss[MAXK];
    float *dwarped[MAXK]; /* (B,S,S,3) each */
} grad_ctx;

static lqf_status grad_fn(void *ctx, int n, const float *warped, float *dwarped) {
    grad_ctx *g = ctx;
    double loss = 0;
    lqf_status st = lqf_train_input_grad(g->t, warped, g->labels, n, dwarped, &loss);
    if (!st && g->calls < MAXK) {
        g->loss[g->calls] = loss;
        memcpy(g->dwarped[g->calls], dwarped, (size_t)n * IMG * sizeof(float));
    }
    g->calls++;
    return st;
}

/* ------------------------------------------------------------------ one case */
typedef struct {
    double grad_rel, grad_min_ratio, p, warped, mixed, stats, loss;
} worst;

/* Runs the case whose dump starts at d + *off; advances *off. */
static void run_case(lqf_train *t, const dump_list *L, int ci, const float *d, size_t *off, const float *sd0,
                     const float *kernel, const float *x, const int *labels, worst *wr) {
    const char *name = L->cname[ci];
    const int k = L->k[ci];
    const double ratio = L->ratio[ci];
    const int fixed = !strncmp(name, "fixed", 5);
    char what[256];
    lqf_graph *g = lqf_train_graph(t);
    /* every case starts from the dumped network state (running statistics included) */
    size_t so = 0;
    for (int i = 0; i < L->n; i++) {
        CHECK(lqf_backbone_set(g, g->params, L->name[i], sd0 + so, (size_t)L->numel[i]) == LQF_OK);
        so += (size_t)L->numel[i];
    }
    memcpy(lqf_train_head_kernel(t), kernel, (size_t)D * C * sizeof(float));
    const float *eta = d + *off, *p0 = eta + 3;
    int perm1[B], perm2[B];
    for (int i = 0; i < B; i++) perm1[i] = (int)p0[4 * B + i], perm2[i] = (int)p0[5 * B + i];
    *off += 3 + 4 * B + 2 * B;

    lqf_aro_config cfg;
    lqf_aro_config_preset(&cfg, fixed ? LQF_ARO_PRESET_FIXED : LQF_ARO_PRESET_REFERENCE);
    cfg.k = k;
    cfg.ratio = ratio;
    cfg.eta_s = eta[0], cfg.eta_theta = eta[1], cfg.eta_t = eta[2];
    CHECK(cfg.warp == (fixed ? LQF_ARO_WARP_CORRECTED : LQF_ARO_WARP_REFERENCE));
    CHECK(cfg.fixed_clip == fixed);

    grad_ctx gc = {t, labels, 0, {0}, {0}};
    for (int i = 0; i < MAXK; i++) gc.dwarped[i] = malloc(B * IMG * sizeof(float));
    lqf_aro_warp_shape ws = {B, S, S, 3, cfg.warp};
    float *scratch = malloc(lqf_aro_search_scratch(&ws) * sizeof(float));
    float *warped = malloc(B * IMG * sizeof(float)), *mixed = malloc(B * IMG * sizeof(float));
    float p[4 * B];
    lqf_status st = lqf_aro_search(&cfg, &ws, x, p0, grad_fn, &gc, p, warped, scratch);
    CHECK(st == LQF_OK);
    if (st) printf("%s: search: %s\n", name, lqf_last_error());
    CHECK(gc.calls == k);

    /* the loss and dL/dp of each step, replayed from the recorded dL/dwarped with the same
     * kernels the search used (lqf_aro_warp_backward at the step's parameters) */
    float pk[4 * B], dp[4 * B];
    memcpy(pk, p0, sizeof pk);
    for (int it = 0; it < k && it < MAXK; it++) {
        const float *rloss = d + *off, *rgrad = rloss + 1;
        *off += 1 + 4 * B;
        float got = (float)gc.loss[it];
        snprintf(what, sizeof what, "%s step %d loss", name, it + 1);
        tu_close(what, &got, rloss, 1, 0, 1e-5);
        double le = fabs(got - rloss[0]) / fabs(rloss[0]);
        if (le > wr->loss) wr->loss = le;
        lqf_aro_warp_backward(&ws, x, pk, gc.dwarped[it], NULL, dp, scratch);
        /* signs must all agree; magnitudes within 1e-3 of the batch's largest */
        int sign_ok = 1;
        double gmax = tu_max_abs(rgrad, 4 * B), worst_rel = 0, min_ratio = INFINITY;
        for (int i = 0; i < 4 * B; i++) {
            int sg = (dp[i] > 0) - (dp[i] < 0), sr = (rgrad[i] > 0) - (rgrad[i] < 0);
            if (sg != sr) {
                sign_ok = 0;
                printf("%s step %d: dL/dp[%d][%d] sign differs: lqface %.6g torch %.6g\n", name, it + 1, i / 4,
                       i % 4, dp[i], rgrad[i]);
            }
            double e = fabs(dp[i] - rgrad[i]);
            if (e / gmax > worst_rel) worst_rel = e / gmax;
            if (e > 0 && fabs(rgrad[i]) / e < min_ratio) min_ratio = fabs(rgrad[i]) / e;
        }
        CHECK(sign_ok);
        snprintf(what, sizeof what, "%s step %d dL/dp", name, it + 1);
        tu_close(what, dp, rgrad, 4 * B, 1e-3 * gmax, 1e-3);
        printf("%s step %d: loss %.6f (torch %.6f), dL/dp max |diff| %.3g = %.3g of max |dL/dp| %.3g; "
               "smallest |dL/dp| / |diff| %.3g\n",
               name, it + 1, got, rloss[0], worst_rel * gmax, worst_rel, gmax, min_ratio);
        if (worst_rel > wr->grad_rel) wr->grad_rel = worst_rel;
        if (min_ratio < wr->grad_min_ratio) wr->grad_min_ratio = min_ratio;
        lqf_aro_ascent_step(&cfg, B, p0, dp, pk);
    }
    CHECK(memcmp(pk, p, sizeof p) == 0); /* the replay took the search's path */

    const float *rp = d + *off, *rwarped = rp + 4 * B, *rmixed = rwarped + B * IMG;
    *off += 4 * B + B * IMG;
    snprintf(what, sizeof what, "%s final parameters", name);
    tu_close(what, p, rp, 4 * B, 1e-6, 0);
    snprintf(what, sizeof what, "%s warped batch", name);
    tu_close(what, warped, rwarped, B * IMG, 1e-5, 0);

    int idx1[B], idx2[B], n1 = 0, n2 = 0, mlab[B];
    CHECK(lqf_aro_mix_select(B, ratio, perm1, perm2, idx1, &n1, idx2, &n2) == LQF_OK);
    CHECK(n1 == (int)(B * ratio) && n2 == (int)(B * (1 - ratio)));
    lqf_aro_mix_gather(IMG, x, warped, labels, idx1, n1, idx2, n2, mixed, mlab);
    const int nm = n1 + n2;
    rmixed = d + *off;
    const float *rmlab = rmixed + (size_t)nm * IMG;
    *off += (size_t)nm * IMG + nm;
    snprintf(what, sizeof what, "%s mixed batch", name);
    tu_close(what, mixed, rmixed, (size_t)nm * IMG, 1e-5, 0);
    int lab_ok = 1;
    for (int i = 0; i < nm; i++) lab_ok &= mlab[i] == (int)rmlab[i];
    CHECK(lab_ok);

    double ep = 0, ew = 0, em = 0, es = 0;
    for (int i = 0; i < 4 * B; i++) ep = fmax(ep, fabs(p[i] - rp[i]));
    for (size_t i = 0; i < B * IMG; i++) ew = fmax(ew, fabs(warped[i] - rwarped[i]));
    for (size_t i = 0; i < (size_t)nm * IMG; i++) em = fmax(em, fabs(mixed[i] - rmixed[i]));

    /* running statistics after the search: k training-mode forwards in both */
    float tmp[4096];
    for (int i = 0; i < L->n; i++) {
        if (!is_stat(L->name[i])) continue;
        const float *ref = d + *off;
        *off += (size_t)L->numel[i];
        if (L->numel[i] > 4096) {
            CHECK(0);
            continue;
        }
        CHECK(lqf_backbone_get(g, g->params, L->name[i], tmp, (size_t)L->numel[i]) == LQF_OK);
        double scale = fmax(1.0, tu_max_abs(ref, (size_t)L->numel[i]));
        snprintf(what, sizeof what, "%s running statistics after the search: %s", name, L->name[i]);
        tu_close(what, tmp, ref, (size_t)L->numel[i], 1e-5 * scale, 1e-5);
        for (long j = 0; j < L->numel[i]; j++) es = fmax(es, fabs(tmp[j] - ref[j]) / scale);
    }
    printf("%s: k %d, %d clean + %d warped; max |diff|: parameters %.3g, warped %.3g, mixed %.3g, "
           "running statistics %.3g (relative to max(1, |max|))\n",
           name, k, n1, n2, ep, ew, em, es);
    wr->p = fmax(wr->p, ep);
    wr->warped = fmax(wr->warped, ew);
    wr->mixed = fmax(wr->mixed, em);
    wr->stats = fmax(wr->stats, es);

    for (int i = 0; i < MAXK; i++) free(gc.dwarped[i]);
    free(scratch);
    free(warped);
    free(mixed);
}

int main(void) {
    dump_list L;
    if (read_list(tu_testdata("aroface/net.txt"), &L)) {
        printf("missing tests/data/aroface/net.txt (run tools/ref_aroface_step.py)\n");
        CHECK(0);
        return tu_finish("test_aroface_step");
    }
    float *d = NULL;
    long nd = tu_load_f32(tu_testdata("aroface/step.bin"), &d);
    CHECK(nd > 0 && L.n > 0 && L.ncase == 3);
    if (nd <= 0) return tu_finish("test_aroface_step");

    /* the network and head as a training run builds them */
    lqf_train_config c;
    lqf_train_config_default(&c);
    tu_train_set(&c, "arch", "iresnet18");
    tu_train_set(&c, "variant", "insightface");
    tu_train_set(&c, "width", "4,8,12,16");
    tu_train_set(&c, "input_size", "32");
    tu_train_set(&c, "emb", "16");
    tu_train_set(&c, "dropout", "0");
    tu_train_set(&c, "classes", "4");
    tu_train_set(&c, "batch", "8");
    tu_train_set(&c, "head", "arcface_st");
    tu_train_set(&c, "s", "64");
    tu_train_set(&c, "m", "0.5");
    tu_train_set(&c, "steps", "1");
    tu_train_set(&c, "aroface", "1");
    lqf_train *t = NULL;
    CHECK(lqf_train_open(&c, &t) == LQF_OK);
    if (!t) {
        printf("open: %s\n", lqf_last_error());
        free(d);
        return tu_finish("test_aroface_step");
    }
    size_t off = 0;
    const float *sd0 = d;
    for (int i = 0; i < L.n; i++) off += (size_t)L.numel[i];
    const float *kernel = d + off;
    off += (size_t)D * C;
    const float *x = d + off;
    off += B * IMG;
    int labels[B];
    for (int i = 0; i < B; i++) labels[i] = (int)d[off + i];
    off += B;

    worst wr = {0, INFINITY, 0, 0, 0, 0, 0};
    for (int ci = 0; ci < L.ncase && (long)off < nd; ci++) run_case(t, &L, ci, d, &off, sd0, kernel, x, labels, &wr);

    /* the similarity matrix's cos and sin equal torch's float32 ones bit for bit */
    int na = (long)off < nd ? (int)d[off++] : 0;
    CHECK(na > 0 && (long)off + 3L * na <= nd);
    if (na > 0 && (long)off + 3L * na <= nd) {
        const float *ang = d + off, *rsin = ang + na, *rcos = rsin + na;
        int bad = 0, libm_bad = 0;
        for (int i = 0; i < na; i++) {
            float prm[4] = {1.0f, ang[i], 0.0f, 0.0f}, M[6];
            lqf_similarity_forward(1, prm, M);
            if (M[0] != rcos[i] || M[3] != rsin[i]) {
                if (bad < 3) printf("angle %.9g: cos %.9g sin %.9g, torch %.9g %.9g\n", ang[i], M[0], M[3], rcos[i], rsin[i]);
                bad++;
            }
            libm_bad += cosf(ang[i]) != rcos[i] || sinf(ang[i]) != rsin[i];
        }
        printf("similarity cos/sin vs torch on %d angles: %d differ (libm's cosf/sinf: %d)\n", na, bad, libm_bad);
        CHECK(bad == 0);
        off += 3 * (size_t)na;
    }
    CHECK((long)off == nd);
    printf("worst over the cases: loss rel %.3g, dL/dp %.3g of the largest (smallest |dL/dp|/|diff| %.3g), "
           "parameters %.3g, warped %.3g, mixed %.3g, running statistics %.3g\n",
           wr.loss, wr.grad_rel, wr.grad_min_ratio, wr.p, wr.warped, wr.mixed, wr.stats);
    lqf_train_free(t);
    free(d);
    return tu_finish("test_aroface_step");
}
