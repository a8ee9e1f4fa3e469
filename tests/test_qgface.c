/*
 * test_qgface.c — quality-guided training against PyTorch (tools/ref_qgface.py, dumps in
 * tests/data/qgface/): the AdaFace head with QGFace's soft quality gate over consecutive
 * batches (zhat from the norms, and from an external quality with the first-batch EMA
 * start), the full QGFace step (gated AdaFace on the 2B rows + the contrastive branch over
 * a FIFO queue that is cut to K, total = cla + w*con, gradient w.r.t. the 2B embeddings and
 * the class centres), and the Laplacian-energy quality against cv2.Laplacian. Losses must
 * agree within 1e-5 relative, gradients within 1e-4 of their largest element. The queue's
 * FIFO order, a finite-difference check of the contrastive gradient and the loader's two
 * views on ORL (deterministic, the LQ view equal to a one-view loader's, the HQ view the
 * decoded image or its mirror) complete it.
 */
#include "augment/quality.h"
#include "data/loader.h"
#include "testutil.h"
#include "train/heads.h"
#include "train/qgface.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double g_loss = 0, g_grad = 0, g_zhat = 0, g_lap = 0;

static double rel(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-30); }

static float *load(const char *name, long expect) {
    char rel_[256];
    snprintf(rel_, sizeof rel_, "qgface/%.200s", name);
    float *p = NULL;
    long n = tu_load_f32(tu_testdata(rel_), &p);
    if (n != expect) {
        fprintf(stderr, "%s: %ld floats, expected %ld\n", rel_, n, expect);
        free(p);
        return NULL;
    }
    return p;
}

static void to_labels(const float *f, int n, int32_t *out) {
    for (int i = 0; i < n; i++) out[i] = (int32_t)f[i];
}

/* ------------------------------------------------------------------ gated AdaFace */
enum { G_B, G_D, G_C, G_NB, G_QS, G_S, G_M, G_H, G_EPS, G_TA, G_MEAN0, G_STD0, G_EMAINIT, G_USEQ, G_N };

static void test_gate(const char *name) {
    char f[128];
    snprintf(f, sizeof f, "%s.cfg", name);
    float *cf = load(f, G_N);
    if (!CHECK(cf != NULL)) return;
    const int B = (int)cf[G_B], D = (int)cf[G_D], C = (int)cf[G_C], nb = (int)cf[G_NB];
    lqf_head_config hc;
    lqf_head_config_default(&hc, LQF_HEAD_ADAFACE, D, C);
    hc.s = cf[G_S], hc.m = cf[G_M], hc.h = cf[G_H], hc.eps = cf[G_EPS], hc.t_alpha = cf[G_TA];
    hc.quality_gate = cf[G_QS];
    hc.ema_init_batch = (int)cf[G_EMAINIT];
    lqf_head *h = NULL;
    CHECK(lqf_head_create(&hc, &h) == LQF_OK);
    h->state.batch_mean = cf[G_MEAN0];
    h->state.batch_std = cf[G_STD0];
    snprintf(f, sizeof f, "%s.W", name);
    float *W = load(f, (long)D * C);
    float *dx = malloc(sizeof(float) * B * D), *dW = malloc(sizeof(float) * D * C);
    int32_t *lab = malloc(sizeof(int32_t) * B);
    for (int k = 0; k < nb && W; k++) {
        float *x, *lf, *q = NULL, *out, *zh, *rdx, *rdW;
        snprintf(f, sizeof f, "%s.%d.x", name, k), x = load(f, (long)B * D);
        snprintf(f, sizeof f, "%s.%d.labels", name, k), lf = load(f, B);
        if (cf[G_USEQ] != 0) snprintf(f, sizeof f, "%s.%d.q", name, k), q = load(f, B);
        snprintf(f, sizeof f, "%s.%d.out", name, k), out = load(f, 3);
        snprintf(f, sizeof f, "%s.%d.zhat", name, k), zh = load(f, B);
        snprintf(f, sizeof f, "%s.%d.dx", name, k), rdx = load(f, (long)B * D);
        snprintf(f, sizeof f, "%s.%d.dW", name, k), rdW = load(f, (long)D * C);
        if (CHECK(x && lf && out && zh && rdx && rdW && (q || cf[G_USEQ] == 0))) {
            to_labels(lf, B, lab);
            lqf_head_result r;
            CHECK(lqf_head_forward_backward_q(h, B, x, W, NULL, lab, q, &r, dx, dW, NULL, NULL) == LQF_OK);
            double el = rel(r.loss, out[0]), ez = tu_norm_err(h->zhat, zh, B);
            double ex = tu_norm_err(dx, rdx, (size_t)B * D), ew = tu_norm_err(dW, rdW, (size_t)D * C);
            double em = rel(h->state.batch_mean, out[1]), es = rel(h->state.batch_std, out[2]);
            printf("  %s batch %d: loss %.6f (ref %.6f, rel %.2e) zhat %.2e dx %.2e dW %.2e ema %.1e %.1e\n", name, k,
                   r.loss, out[0], el, ez, ex, ew, em, es);
            g_loss = fmax(g_loss, el), g_grad = fmax(g_grad, fmax(ex, ew)), g_zhat = fmax(g_zhat, ez);
            CHECK(el < 1e-5);
            CHECK(ez < 1e-5);
            CHECK(ex < 1e-4);
            CHECK(ew < 1e-4);
            CHECK(em < 1e-6 && es < 1e-6);
        }
        free(x), free(lf), free(q), free(out), free(zh), free(rdx), free(rdW);
    }
    free(W), free(dx), free(dW), free(lab), free(cf);
    lqf_head_free(h);
}

/* ------------------------------------------------------------------ the full QGFace step */
enum { S_B, S_D, S_C, S_NS, S_QSC, S_QSQ, S_S, S_M, S_H, S_EPS, S_TA, S_MEAN0, S_STD0, S_K, S_W, S_N0, S_N };

static void test_step(void) {
    float *cf = load("step.cfg", S_N);
    if (!CHECK(cf != NULL)) return;
    const int B = (int)cf[S_B], D = (int)cf[S_D], C = (int)cf[S_C], ns = (int)cf[S_NS], n0 = (int)cf[S_N0];
    const float w = cf[S_W];
    lqf_head_config hc;
    lqf_head_config_default(&hc, LQF_HEAD_ADAFACE, D, C);
    hc.s = cf[S_S], hc.m = cf[S_M], hc.h = cf[S_H], hc.eps = cf[S_EPS], hc.t_alpha = cf[S_TA];
    hc.quality_gate = cf[S_QSC];
    lqf_head *h = NULL;
    CHECK(lqf_head_create(&hc, &h) == LQF_OK);
    h->state.batch_mean = cf[S_MEAN0];
    h->state.batch_std = cf[S_STD0];
    lqf_qg_config qc;
    lqf_qg_config_default(&qc, D);
    qc.queue_size = (int)cf[S_K];
    qc.quality_scale = cf[S_QSQ];
    qc.s = cf[S_S];
    lqf_qgface *qg = NULL;
    CHECK(lqf_qgface_create(&qc, &qg) == LQF_OK);
    float *W = load("step.W", (long)D * C), *q0 = load("step.queue0", (long)n0 * D), *ql0 = load("step.qlabels0", n0);
    int32_t *lab0 = malloc(sizeof(int32_t) * n0), *lab = malloc(sizeof(int32_t) * B), *lab2 = malloc(sizeof(int32_t) * 2 * B);
    float *demb = malloc(sizeof(float) * 2 * B * D), *dcon = malloc(sizeof(float) * 2 * B * D);
    float *dW = malloc(sizeof(float) * D * C);
    if (CHECK(W && q0 && ql0)) {
        to_labels(ql0, n0, lab0);
        CHECK(lqf_qgface_set_queue(qg, n0, q0, lab0) == LQF_OK);
    }
    for (int k = 0; k < ns && W && q0 && ql0; k++) {
        char f[64];
        float *emb, *lf, *out, *rd, *rdW;
        snprintf(f, sizeof f, "step.%d.emb", k), emb = load(f, 2L * B * D);
        snprintf(f, sizeof f, "step.%d.labels", k), lf = load(f, B);
        snprintf(f, sizeof f, "step.%d.out", k), out = load(f, 4);
        snprintf(f, sizeof f, "step.%d.demb", k), rd = load(f, 2L * B * D);
        snprintf(f, sizeof f, "step.%d.dW", k), rdW = load(f, (long)D * C);
        if (CHECK(emb && lf && out && rd && rdW)) {
            to_labels(lf, B, lab);
            for (int i = 0; i < B; i++) lab2[i] = lab2[B + i] = lab[i];
            /* classifier on all 2B rows (k = HQ view first, q = LQ second) */
            lqf_head_result hr;
            CHECK(lqf_head_forward_backward_q(h, 2 * B, emb, W, NULL, lab2, NULL, &hr, demb, dW, NULL, NULL) ==
                  LQF_OK);
            /* contrastive: enqueue the 2B embeddings, then q = second half, k = first half */
            lqf_qg_result cr;
            CHECK(lqf_qgface_enqueue(qg, 2 * B, emb, lab2) == LQF_OK);
            CHECK(lqf_qgface_forward_backward(qg, B, emb + (size_t)B * D, emb, lab, h->zhat + B, h->zhat, &cr,
                                              dcon + (size_t)B * D, dcon) == LQF_OK);
            for (int i = 0; i < 2 * B * D; i++) demb[i] += w * dcon[i];
            double total = hr.loss + w * cr.loss;
            double e1 = rel(hr.loss, out[0]), e2 = rel(cr.loss, out[1]), e3 = rel(total, out[2]);
            double eg = tu_norm_err(demb, rd, 2UL * B * D), ew = tu_norm_err(dW, rdW, (size_t)D * C);
            printf("  step %d: cla %.6f (rel %.2e) con %.6f (ref %.6f, rel %.2e) total rel %.2e, queue %d (ref %g), "
                   "gated %.2f; d(emb) %.2e dW %.2e\n",
                   k, hr.loss, e1, cr.loss, out[1], e2, e3, cr.queue_len, out[3], cr.gated, eg, ew);
            g_loss = fmax(g_loss, fmax(e1, fmax(e2, e3))), g_grad = fmax(g_grad, fmax(eg, ew));
            CHECK(e1 < 1e-5 && e2 < 1e-5 && e3 < 1e-5);
            CHECK(cr.queue_len == (int)out[3]);
            CHECK(cr.gated > 0 && cr.gated < 1); /* the case mixes gated and ungated pairs */
            CHECK(eg < 1e-4);
            CHECK(ew < 1e-4);
        }
        free(emb), free(lf), free(out), free(rd), free(rdW);
    }
    free(W), free(q0), free(ql0), free(lab0), free(lab), free(lab2), free(demb), free(dcon), free(dW), free(cf);
    lqf_head_free(h);
    lqf_qgface_free(qg);
}

/* ------------------------------------------------------------------ queue order, finite differences */
static void test_queue_and_fd(void) {
    const int D = 6, K = 5, B = 3;
    lqf_qg_config qc;
    lqf_qg_config_default(&qc, D);
    qc.queue_size = K;
    qc.quality_scale = 0; /* no gate */
    qc.s = 8;             /* a soft softmax, so that every term matters */
    lqf_qgface *qg = NULL;
    if (!CHECK(lqf_qgface_create(&qc, &qg) == LQF_OK)) return;
    float e[4 * 6];
    int32_t l[4] = {10, 11, 12, 13};
    for (int i = 0; i < 4 * D; i++) e[i] = (i % D == i / D) ? 2.0f : 0.0f; /* row i = 2 e_i */
    CHECK(lqf_qgface_enqueue(qg, 2, e, l) == LQF_OK);
    CHECK(lqf_qgface_enqueue(qg, 4, e, l) == LQF_OK); /* 4 new + 1 old kept */
    CHECK(qg->n == 5);
    CHECK(qg->qlabels[0] == 10 && qg->qlabels[3] == 13 && qg->qlabels[4] == 10);
    CHECK(qg->queue[0] == 1.0f && qg->queue[4 * D + 0] == 1.0f); /* normalised, newest first */

    /* finite differences of the loss in q and k (double-checked central differences) */
    float qe[3 * 6], ke[3 * 6], dq[3 * 6], dk[3 * 6];
    int32_t lab[3] = {1, 2, 1};
    uint64_t s = 12345;
    for (int i = 0; i < B * D; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        qe[i] = (float)((s >> 40) % 2000) / 1000.0f - 1.0f;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        ke[i] = qe[i] + (float)((s >> 40) % 2000) / 2000.0f - 0.5f;
    }
    int32_t lq[5] = {1, 3, 4, 2, 5};
    float qq[5 * 6];
    for (int i = 0; i < 5 * D; i++) qq[i] = sinf(0.7f * i + 0.3f);
    lqf_qgface_reset(qg);
    CHECK(lqf_qgface_enqueue(qg, 5, qq, lq) == LQF_OK);
    lqf_qg_result r;
    CHECK(lqf_qgface_forward_backward(qg, B, qe, ke, lab, NULL, NULL, &r, dq, dk) == LQF_OK);
    double worst = 0, gmax = fmax(tu_max_abs(dq, B * D), tu_max_abs(dk, B * D));
    for (int which = 0; which < 2; which++)
        for (int i = 0; i < B * D; i++) {
            float *v = which ? ke : qe, keep = v[i];
            const float hstep = 1e-3f;
            lqf_qg_result rp, rm;
            v[i] = keep + hstep;
            lqf_qgface_forward_backward(qg, B, qe, ke, lab, NULL, NULL, &rp, NULL, NULL);
            v[i] = keep - hstep;
            lqf_qgface_forward_backward(qg, B, qe, ke, lab, NULL, NULL, &rm, NULL, NULL);
            v[i] = keep;
            double fd = (rp.loss - rm.loss) / (2 * hstep), an = which ? dk[i] : dq[i];
            worst = fmax(worst, fabs(fd - an) / fmax(gmax, 1e-12));
        }
    printf("  contrastive finite differences: worst %.2e of the largest gradient %.3g (loss %.4f)\n", worst, gmax,
           r.loss);
    CHECK(gmax > 1e-3);
    CHECK(worst < 2e-2);
    lqf_qgface_free(qg);
}

/* ------------------------------------------------------------------ Laplacian quality */
static void test_laplacian(void) {
    float *cf = load("lap.cfg", 3);
    if (!CHECK(cf != NULL)) return;
    const int n = (int)cf[0], w = (int)cf[1], h = (int)cf[2];
    float *img = load("lap.img", (long)n * h * w * 3), *q = load("lap.q", n), *qb = load("lap.qbgr", n);
    if (CHECK(img && q && qb)) {
        uint8_t *u = malloc((size_t)n * h * w * 3);
        float *xn = malloc(sizeof(float) * n * h * w * 3), *qf = malloc(sizeof(float) * n);
        const float mean[3] = {127.5f, 127.5f, 127.5f}, std[3] = {128.0f, 128.0f, 128.0f};
        for (long i = 0; i < (long)n * h * w * 3; i++) {
            u[i] = (uint8_t)img[i];
            xn[i] = (img[i] - mean[i % 3]) / std[i % 3];
        }
        CHECK(lqf_laplacian_quality_batch(xn, n, w, h, LQF_RGB, mean, std, qf) == LQF_OK);
        for (int k = 0; k < n; k++) {
            double a = lqf_laplacian_quality_u8(u + (size_t)k * h * w * 3, w, h, LQF_RGB);
            double b = lqf_laplacian_quality_u8(u + (size_t)k * h * w * 3, w, h, LQF_BGR);
            double e = fmax(rel(a, q[k]), fmax(rel(b, qb[k]), rel(qf[k], q[k])));
            printf("  laplacian quality %d: %.5f (cv2 %.5f), BGR %.5f (cv2 %.5f), from floats %.5f\n", k, a, q[k], b,
                   qb[k], qf[k]);
            g_lap = fmax(g_lap, e);
            CHECK(e < 1e-5);
        }
        CHECK(q[0] > q[1] && q[1] > q[3]); /* sharp noise > blurred > upsampled */
        free(u), free(xn), free(qf);
    }
    free(cf), free(img), free(q), free(qb);
}

/* ------------------------------------------------------------------ two views in the loader */
static lqf_loader *orl_loader(lqf_dataset *d, int two, int threads, int lq) {
    lqf_loader_options o;
    lqf_loader_options_default(&o);
    o.batch_size = 8;
    o.seed = 99;
    o.n_threads = threads;
    o.width = o.height = 32;
    o.two_views = two;
    if (lq) lqf_augment_preset_qgface_lq(&o.augment);
    lqf_loader *l = NULL;
    if (lqf_loader_create(d, &o, &l) != LQF_OK) return NULL;
    return l;
}

static void test_two_views(void) {
    lqf_dataset *d = NULL;
    if (!CHECK(lqf_dataset_open(tu_shared("data/orl/att_faces"), &d) == LQF_OK)) return;
    lqf_loader *a = orl_loader(d, 1, 1, 1), *b = orl_loader(d, 1, 2, 1), *one = orl_loader(d, 0, 2, 1),
               *plain = orl_loader(d, 0, 1, 0);
    if (CHECK(a && b && one && plain)) {
        const size_t px = 32 * 32 * 3;
        int same_ab = 1, lq_same = 1, hq_ok = 1, hq_flipped = 0, lq_differs = 0, batches = 0;
        for (int epoch = 0; epoch < 2; epoch++) {
            lqf_loader_start_epoch(a, epoch), lqf_loader_start_epoch(b, epoch);
            lqf_loader_start_epoch(one, epoch), lqf_loader_start_epoch(plain, epoch);
            for (int k = 0; k < 3; k++) {
                const lqf_batch *ba = NULL, *bb = NULL, *bo = NULL, *bp = NULL;
                if (!CHECK(lqf_loader_next(a, &ba) == LQF_OK && lqf_loader_next(b, &bb) == LQF_OK &&
                           lqf_loader_next(one, &bo) == LQF_OK && lqf_loader_next(plain, &bp) == LQF_OK && ba && bb &&
                           bo && bp))
                    break;
                batches++;
                CHECK(ba->x_hq != NULL && bo->x_hq == NULL);
                size_t n = (size_t)ba->n * px;
                same_ab &= !memcmp(ba->x, bb->x, n * sizeof(float)) && !memcmp(ba->x_hq, bb->x_hq, n * sizeof(float));
                lq_same &= !memcmp(ba->x, bo->x, n * sizeof(float));
                for (int i = 0; i < ba->n; i++) { /* HQ view: the decoded image, maybe mirrored */
                    const float *h = ba->x_hq + i * px, *p = bp->x + i * px;
                    int eq = !memcmp(h, p, px * sizeof(float)), mir = 1;
                    for (int r = 0; r < 32 && mir; r++)
                        for (int c = 0; c < 32 && mir; c++)
                            mir = !memcmp(h + (r * 32 + c) * 3, p + (r * 32 + 31 - c) * 3, 3 * sizeof(float));
                    hq_ok &= eq || mir;
                    hq_flipped += !eq && mir;
                    lq_differs += !!memcmp(ba->x + i * px, p, px * sizeof(float));
                }
            }
        }
        printf("  two views: %d batches, HQ mirrored %d of %d, LQ differs from the decoded image in %d\n", batches,
               hq_flipped, batches * 8, lq_differs);
        CHECK(batches == 6);
        CHECK(same_ab);     /* deterministic whatever the thread count */
        CHECK(lq_same);     /* the LQ view is what a one-view loader gives */
        CHECK(hq_ok);       /* the HQ view is flip only */
        CHECK(hq_flipped > 8 && hq_flipped < 40);
        CHECK(lq_differs == batches * 8);
    }
    lqf_loader_free(a), lqf_loader_free(b), lqf_loader_free(one), lqf_loader_free(plain);
    lqf_dataset_free(d);
}

int main(void) {
    test_gate("gate_norm");
    test_gate("gate_quality");
    test_step();
    test_queue_and_fd();
    test_laplacian();
    test_two_views();
    printf("worst: loss rel %.2e, gradient %.2e (of the largest), zhat %.2e, laplacian rel %.2e\n", g_loss, g_grad,
           g_zhat, g_lap);
    return tu_finish("test_qgface");
}
