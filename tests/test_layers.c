/*
 * test_layers.c — checks the backward kernels of the training engine (conv_backward.c,
 * norm.c, act_backward.c, linear.c, pool_backward.c) against PyTorch autograd dumps written
 * by tools/ref_layers.py (tests/data/layers/manifest.txt lists the cases), each within 1e-4
 * of the reference's scale, and against central finite differences of the kernels' own
 * forward: for L = sum(w * y) with w the dumped upstream gradient, sampled coordinates of
 * every input and parameter are perturbed by +-h, and the normalised error
 * sum|fd - analytic| / sum|analytic| must stay below 1e-2. Flatten (the NCHW-order
 * reshape of an NHWC tensor) is checked through the trainer of src/nn/exec.h, and so are
 * (by finite differences) the graph operators the backbones do not use.
 */
#include "backend/cpu/cpu.h" /* the kernels are under test */
#include "nn/graph.h"
#include "nn/exec.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-4
#define FD_TOL 1e-2

static double worst_rel = 0.0; /* largest max|a-b|/max|b| seen, for the summary */
static char case_name[64][64]; /* per case: the largest of those, printed at the end */
static double case_worst[64];
static int ncases;

static void note_case(const char *name, double rel) {
    int k = 0;
    while (k < ncases && strcmp(case_name[k], name)) k++;
    if (k == ncases) {
        if (ncases == 64) return;
        snprintf(case_name[ncases], sizeof case_name[0], "%s", name);
        case_worst[ncases++] = 0.0;
    }
    if (rel > case_worst[k]) case_worst[k] = rel;
}

static float *load_case(const char *name, long want) {
    char rel[256];
    snprintf(rel, sizeof rel, "layers/%s.bin", name);
    float *d = NULL;
    long n = tu_load_f32(tu_testdata(rel), &d);
    if (!CHECK(n == want)) {
        fprintf(stderr, "%s: %ld floats, expected %ld\n", rel, n, want);
        free(d);
        return NULL;
    }
    return d;
}

static void compare(const char *name, const char *what, const float *got, const float *want, size_t n) {
    char label[256];
    snprintf(label, sizeof label, "%s %s", name, what);
    double scale = tu_max_abs(want, n), md = 0;
    if (scale < 1e-6) scale = 1.0;
    for (size_t i = 0; i < n; i++) md = fmax(md, fabs((double)got[i] - want[i]));
    if (md / scale > worst_rel) worst_rel = md / scale;
    note_case(name, md / scale);
    tu_close(label, got, want, n, TOL * scale, 0.0);
}

static float *nhwc(int64_t n, int64_t c, int64_t h, int64_t w, const float *src) {
    int64_t d[4] = {n, c, h, w};
    lqf_view vs, vd;
    lqf_view_dense(&vs, 4, d);
    lqf_view_nhwc(&vd, d);
    float *o = malloc(sizeof(float) * (size_t)(n * c * h * w) + 4);
    lqf_copy_view(&vs, src, &vd, o);
    return o;
}

static float *zeros(size_t n) { return calloc(n + 1, sizeof(float)); }

/* ---------------------------------------------------------------- finite differences */

typedef double (*loss_fn)(void *ctx);

/* Dot product of y and w in double: the scalar loss whose gradient the kernels compute. */
static double dotd(const float *y, const float *w, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)y[i] * w[i];
    return s;
}

/* Central differences of f at up to nsamp coordinates of p (n floats) against grad; skips
 * coordinates whose kink-reference value is within 2h of 0 (ReLU/PReLU corners). */
static void fd_check(const char *label, loss_fn f, void *ctx, float *p, size_t n, const float *grad,
                     float h, const float *kink) {
    unsigned seed = 12345u + (unsigned)n;
    double num = 0, den = 0;
    int used = 0;
    for (int t = 0; t < 24 && used < 16; t++) {
        seed = seed * 1103515245u + 12345u;
        size_t i = (seed >> 8) % n;
        if (kink && fabsf(kink[i]) < 2 * h) continue;
        float v = p[i];
        p[i] = v + h;
        double lp = f(ctx);
        p[i] = v - h;
        double lm = f(ctx);
        p[i] = v;
        double fd = (lp - lm) / (2.0 * h);
        num += fabs(fd - grad[i]);
        den += fabs(grad[i]);
        used++;
    }
    double score = num / (den + 1e-6);
    char what[256];
    snprintf(what, sizeof what, "finite differences %s: normalised error %.2e over %d coords", label, score, used);
    CHECK(used > 0 && score < FD_TOL);
    if (score < FD_TOL) printf("ok   %s\n", what);
    else fprintf(stderr, "FAIL %s\n", what);
}

/* ---------------------------------------------------------------- convolution */

typedef struct {
    lqf_conv_shape s;
    float *x, *w, *b, *y, *dy, *scratch;
} conv_ctx;

static double conv_loss(void *c_) {
    conv_ctx *c = c_;
    lqf_conv2d_forward(&c->s, c->x, c->w, c->b, NULL, c->y, c->scratch);
    return dotd(c->y, c->dy, (size_t)c->s.n * c->s.oh * c->s.ow * c->s.cout);
}

static void test_conv(const char *name, int n, int cin, int h, int w, int cout, int kh, int kw, int sh, int sw,
                      int pt, int pl, int pb, int pr, int group) {
    lqf_conv_shape s;
    memset(&s, 0, sizeof s);
    s.n = n; s.cin = cin; s.h = h; s.w = w; s.cout = cout; s.kh = kh; s.kw = kw; s.sh = sh; s.sw = sw;
    s.pt = pt; s.pl = pl; s.pb = pb; s.pr = pr; s.group = group;
    lqf_conv_shape_init(&s);
    size_t nx = (size_t)n * cin * h * w, nw = lqf_conv_weight_size(&s), ny = (size_t)n * cout * s.oh * s.ow;
    float *d = load_case(name, (long)(nx + nw + cout + ny + ny + nx + nw + cout));
    if (!d) return;
    const float *rx = d, *rw = rx + nx, *rb = rw + nw, *rdy = rb + cout, *ry = rdy + ny, *rdx = ry + ny,
                *rdw = rdx + nx, *rdb = rdw + nw;
    conv_ctx c;
    c.s = s;
    c.x = nhwc(n, cin, h, w, rx);
    c.dy = nhwc(n, cout, s.oh, s.ow, rdy);
    c.w = zeros(nw);
    lqf_conv_pack_weights(&s, rw, c.w);
    c.b = zeros(cout);
    memcpy(c.b, rb, cout * sizeof(float));
    c.y = zeros(ny);
    size_t sc = lqf_conv2d_scratch(&s), sb = lqf_conv2d_backward_scratch(&s);
    c.scratch = zeros(sc > sb ? sc : sb);
    float *ey = nhwc(n, cout, s.oh, s.ow, ry), *edx = nhwc(n, cin, h, w, rdx);
    float *dx = zeros(nx), *dwp = zeros(nw), *dw = zeros(nw), *db = zeros(cout);

    conv_loss(&c);
    compare(name, "y", c.y, ey, ny);
    lqf_conv2d_backward_data(&s, c.dy, c.w, dx, c.scratch);
    lqf_conv2d_backward_weights(&s, c.x, c.dy, dwp, db, c.scratch);
    compare(name, "dx", dx, edx, nx);
    lqf_conv_unpack_weights(&s, dwp, dw);
    compare(name, "dw", dw, rdw, nw);
    compare(name, "db", db, rdb, cout);
    /* accumulation: a second call adds the same amount */
    lqf_conv2d_backward_data(&s, c.dy, c.w, dx, c.scratch);
    for (size_t i = 0; i < nx; i++) edx[i] *= 2.0f;
    compare(name, "dx accumulated twice", dx, edx, nx);

    for (size_t i = 0; i < nx; i++) dx[i] *= 0.5f; /* back to one call's gradient */
    char lb[128];
    snprintf(lb, sizeof lb, "%s dx", name);
    fd_check(lb, conv_loss, &c, c.x, nx, dx, 1e-2f, NULL);
    snprintf(lb, sizeof lb, "%s dw", name);
    fd_check(lb, conv_loss, &c, c.w, nw, dwp, 1e-2f, NULL);
    snprintf(lb, sizeof lb, "%s db", name);
    fd_check(lb, conv_loss, &c, c.b, cout, db, 1e-2f, NULL);
    free(d); free(c.x); free(c.dy); free(c.w); free(c.b); free(c.y); free(c.scratch);
    free(ey); free(edx); free(dx); free(dwp); free(dw); free(db);
}

/* ---------------------------------------------------------------- batch norm */

typedef struct {
    int64_t rows;
    int c;
    float *x, *g, *b, *y, *dy, *sm, *si;
} bn_ctx;

static double bn_loss(void *c_) {
    bn_ctx *c = c_;
    lqf_bn_forward_train(c->rows, c->c, c->x, c->g, c->b, 1e-5f, 0.1f, NULL, NULL, c->sm, c->si, c->y);
    return dotd(c->y, c->dy, (size_t)c->rows * c->c);
}

static void test_bn(const char *name, int n, int c, int h, int w) {
    int sp = h ? h * w : 1;
    size_t nx = (size_t)n * c * sp;
    float *d = load_case(name, (long)(6 * nx + 10 * (size_t)c));
    if (!d) return;
    const float *rx = d, *rg = rx + nx, *rb = rg + c, *rm0 = rb + c, *rv0 = rm0 + c, *rdy = rv0 + c,
                *ry = rdy + nx, *rdx = ry + nx, *rdg = rdx + nx, *rdb = rdg + c, *rm1 = rdb + c, *rv1 = rm1 + c,
                *rye = rv1 + c, *rdxe = rye + nx, *rdge = rdxe + nx, *rdbe = rdge + c;
    int hh = h ? h : 1, ww = h ? w : 1;
    bn_ctx k;
    k.rows = (int64_t)n * sp;
    k.c = c;
    k.x = nhwc(n, c, hh, ww, rx);
    k.dy = nhwc(n, c, hh, ww, rdy);
    k.g = zeros(c); memcpy(k.g, rg, c * sizeof(float));
    k.b = zeros(c); memcpy(k.b, rb, c * sizeof(float));
    k.y = zeros(nx); k.sm = zeros(c); k.si = zeros(c);
    float *rm = zeros(c), *rv = zeros(c);
    memcpy(rm, rm0, c * sizeof(float));
    memcpy(rv, rv0, c * sizeof(float));
    float *ey = nhwc(n, c, hh, ww, ry), *edx = nhwc(n, c, hh, ww, rdx);
    float *dx = zeros(nx), *dg = zeros(c), *db = zeros(c);
    lqf_bn_forward_train(k.rows, c, k.x, k.g, k.b, 1e-5f, 0.1f, rm, rv, k.sm, k.si, k.y);
    compare(name, "train y", k.y, ey, nx);
    compare(name, "running_mean", rm, rm1, c);
    compare(name, "running_var", rv, rv1, c);
    lqf_bn_backward_train(k.rows, c, k.x, k.dy, k.g, k.sm, k.si, dx, dg, db);
    compare(name, "train dx", dx, edx, nx);
    compare(name, "train dgamma", dg, rdg, c);
    compare(name, "train dbeta", db, rdb, c);
    char lb[128];
    snprintf(lb, sizeof lb, "%s train dx", name);
    fd_check(lb, bn_loss, &k, k.x, nx, dx, 1e-2f, NULL);
    snprintf(lb, sizeof lb, "%s train dgamma", name);
    fd_check(lb, bn_loss, &k, k.g, c, dg, 1e-2f, NULL);
    snprintf(lb, sizeof lb, "%s train dbeta", name);
    fd_check(lb, bn_loss, &k, k.b, c, db, 1e-2f, NULL);

    /* eval mode with the updated running statistics */
    float *eye = nhwc(n, c, hh, ww, rye), *edxe = nhwc(n, c, hh, ww, rdxe);
    memset(dx, 0, nx * sizeof(float));
    memset(dg, 0, c * sizeof(float));
    memset(db, 0, c * sizeof(float));
    lqf_bn_forward_infer(k.rows, c, k.x, k.g, k.b, rm, rv, 1e-5f, k.y);
    compare(name, "eval y", k.y, eye, nx);
    lqf_bn_backward_infer(k.rows, c, k.x, k.dy, k.g, rm, rv, 1e-5f, dx, dg, db);
    compare(name, "eval dx", dx, edxe, nx);
    compare(name, "eval dgamma", dg, rdge, c);
    compare(name, "eval dbeta", db, rdbe, c);
    free(d); free(k.x); free(k.dy); free(k.g); free(k.b); free(k.y); free(k.sm); free(k.si);
    free(rm); free(rv); free(ey); free(edx); free(dx); free(dg); free(db); free(eye); free(edxe);
}

/* ---------------------------------------------------------------- activations */

typedef struct {
    lqf_act act;
    int64_t rows;
    int c, shared;
    float *x, *slope, *y, *dy;
} act_ctx;

static double act_loss(void *c_) {
    act_ctx *c = c_;
    lqf_act_forward(c->act, c->slope, c->shared, 0.0f, c->rows, c->c, c->x, c->y);
    return dotd(c->y, c->dy, (size_t)c->rows * c->c);
}

static void test_act(const char *kind, const char *name, int n, int c, int h, int w, int shared) {
    size_t nx = (size_t)n * c * h * w;
    int prelu = !strcmp(kind, "prelu");
    int ns = prelu ? (shared ? 1 : c) : 0;
    float *d = load_case(name, (long)(prelu ? nx + ns + nx + nx + nx + ns : nx * 4));
    if (!d) return;
    const float *rx = d, *rs = rx + nx, *rdy = rs + ns, *ry = rdy + nx, *rdx = ry + nx, *rds = rdx + nx;
    act_ctx k;
    k.act = prelu ? LQF_ACT_PRELU : LQF_ACT_RELU;
    k.rows = (int64_t)n * h * w;
    k.c = c;
    k.shared = shared;
    k.x = nhwc(n, c, h, w, rx);
    k.dy = nhwc(n, c, h, w, rdy);
    k.slope = zeros(ns + 1);
    if (ns) memcpy(k.slope, rs, ns * sizeof(float));
    k.y = zeros(nx);
    float *ey = nhwc(n, c, h, w, ry), *edx = nhwc(n, c, h, w, rdx), *dx = zeros(nx), *ds = zeros(ns + 1);
    act_loss(&k);
    compare(name, "y", k.y, ey, nx);
    lqf_act_backward(k.act, k.slope, shared, 0.0f, k.rows, c, k.x, k.dy, dx, prelu ? ds : NULL);
    compare(name, "dx", dx, edx, nx);
    if (prelu) compare(name, "dslope", ds, rds, ns);
    char lb[128];
    snprintf(lb, sizeof lb, "%s dx", name);
    fd_check(lb, act_loss, &k, k.x, nx, dx, 1e-3f, k.x);
    if (prelu) {
        snprintf(lb, sizeof lb, "%s dslope", name);
        fd_check(lb, act_loss, &k, k.slope, ns, ds, 1e-2f, NULL);
    }
    free(d); free(k.x); free(k.dy); free(k.slope); free(k.y); free(ey); free(edx); free(dx); free(ds);
}

/* ---------------------------------------------------------------- linear */

typedef struct {
    int64_t n;
    int in, out;
    float *x, *w, *b, *y, *dy;
} lin_ctx;

static double lin_loss(void *c_) {
    lin_ctx *c = c_;
    lqf_linear_forward(c->n, c->in, c->out, c->x, c->w, c->b, c->y);
    return dotd(c->y, c->dy, (size_t)c->n * c->out);
}

static void test_linear(const char *name, int n, int in, int out, int bias) {
    size_t nx = (size_t)n * in, nw = (size_t)out * in, ny = (size_t)n * out;
    float *d = load_case(name, (long)(nx + nw + out + ny + ny + nx + nw + out));
    if (!d) return;
    float *rx = d, *rw = rx + nx, *rb = rw + nw, *rdy = rb + out, *ry = rdy + ny, *rdx = ry + ny, *rdw = rdx + nx,
          *rdb = rdw + nw;
    lin_ctx k = {n, in, out, rx, rw, bias ? rb : NULL, zeros(ny), rdy};
    float *dx = zeros(nx), *dw = zeros(nw), *db = zeros(out);
    lin_loss(&k);
    compare(name, "y", k.y, ry, ny);
    lqf_linear_backward(n, in, out, k.x, k.w, k.dy, dx, dw, bias ? db : NULL);
    compare(name, "dx", dx, rdx, nx);
    compare(name, "dw", dw, rdw, nw);
    if (bias) compare(name, "db", db, rdb, out);
    char lb[128];
    snprintf(lb, sizeof lb, "%s dx", name);
    fd_check(lb, lin_loss, &k, k.x, nx, dx, 1e-2f, NULL);
    snprintf(lb, sizeof lb, "%s dw", name);
    fd_check(lb, lin_loss, &k, k.w, nw, dw, 1e-2f, NULL);
    if (bias) {
        snprintf(lb, sizeof lb, "%s db", name);
        fd_check(lb, lin_loss, &k, k.b, out, db, 1e-2f, NULL);
    }
    free(d); free(k.y); free(dx); free(dw); free(db);
}

/* ---------------------------------------------------------------- dropout */

typedef struct {
    int64_t n;
    float *mask, *x, *y, *dy;
} drop_ctx;

static double drop_loss(void *c_) {
    drop_ctx *c = c_;
    lqf_dropout_forward(c->n, c->mask, c->x, c->y);
    return dotd(c->y, c->dy, (size_t)c->n);
}

static void test_dropout(const char *name, int64_t n, float p) {
    float *d = load_case(name, (long)(5 * n));
    if (!d) return;
    float *rx = d, *rm = rx + n, *rdy = rm + n, *ry = rdy + n, *rdx = ry + n;
    float *mask = zeros(n), *dx = zeros(n);
    for (int64_t i = 0; i < n; i++) mask[i] = rm[i] * (1.0f / (1.0f - p));
    drop_ctx k = {n, mask, rx, zeros(n), rdy};
    drop_loss(&k);
    compare(name, "y (torch's mask)", k.y, ry, n);
    lqf_dropout_backward(n, mask, rdy, dx);
    compare(name, "dx", dx, rdx, n);
    fd_check("dropout dx", drop_loss, &k, rx, n, dx, 1e-2f, NULL);
    /* the seeded generator: reproducible, about p dropped, kept scale 1/(1-p) */
    int64_t big = 100000;
    float *m1 = zeros(big), *m2 = zeros(big);
    lqf_dropout_mask(big, p, 7, m1);
    lqf_dropout_mask(big, p, 7, m2);
    CHECK(memcmp(m1, m2, big * sizeof(float)) == 0);
    lqf_dropout_mask(big, p, 8, m2);
    CHECK(memcmp(m1, m2, big * sizeof(float)) != 0);
    int64_t dropped = 0, bad = 0;
    for (int64_t i = 0; i < big; i++) {
        if (m1[i] == 0.0f) dropped++;
        else if (fabsf(m1[i] - 1.0f / (1.0f - p)) > 1e-6f) bad++;
    }
    printf("     dropout mask: %.4f dropped (p = %.2f)\n", (double)dropped / big, p);
    CHECK(bad == 0 && fabs((double)dropped / big - p) < 0.01);
    free(d); free(mask); free(dx); free(k.y); free(m1); free(m2);
}

/* ---------------------------------------------------------------- max pooling */

typedef struct {
    lqf_pool_shape s;
    float *x, *y, *dy;
} pool_ctx;

static double pool_loss(void *c_) {
    pool_ctx *c = c_;
    lqf_maxpool_forward(&c->s, c->x, c->y);
    return dotd(c->y, c->dy, (size_t)c->s.n * c->s.oh * c->s.ow * c->s.c);
}

static void test_pool(const char *name, int n, int c, int h, int w, int k, int st, int p) {
    pool_ctx q;
    memset(&q.s, 0, sizeof q.s);
    q.s.n = n; q.s.c = c; q.s.h = h; q.s.w = w; q.s.kh = q.s.kw = k; q.s.sh = q.s.sw = st;
    q.s.pt = q.s.pl = q.s.pb = q.s.pr = p;
    lqf_pool_shape_init(&q.s);
    size_t nx = (size_t)n * c * h * w, ny = (size_t)n * c * q.s.oh * q.s.ow;
    float *d = load_case(name, (long)(nx + ny + ny + nx));
    if (!d) return;
    float *rx = d, *rdy = rx + nx, *ry = rdy + ny, *rdx = ry + ny;
    q.x = nhwc(n, c, h, w, rx);
    q.dy = nhwc(n, c, q.s.oh, q.s.ow, rdy);
    q.y = zeros(ny);
    float *ey = nhwc(n, c, q.s.oh, q.s.ow, ry), *edx = nhwc(n, c, h, w, rdx), *dx = zeros(nx);
    pool_loss(&q);
    compare(name, "y", q.y, ey, ny);
    lqf_maxpool_backward(&q.s, q.x, q.dy, dx);
    compare(name, "dx", dx, edx, nx);
    char lb[128];
    snprintf(lb, sizeof lb, "%s dx", name);
    fd_check(lb, pool_loss, &q, q.x, nx, dx, 1e-3f, NULL);
    free(d); free(q.x); free(q.dy); free(q.y); free(ey); free(edx); free(dx);
}

/* ---------------------------------------------------------------- L2 norm */

typedef struct {
    int64_t n;
    int d;
    float *x, *y, *norm, *dy, *dn;
} l2_ctx;

static double l2_loss(void *c_) {
    l2_ctx *c = c_;
    lqf_l2norm_forward(c->n, c->d, c->x, c->y, c->norm);
    return dotd(c->y, c->dy, (size_t)c->n * c->d) + dotd(c->norm, c->dn, (size_t)c->n);
}

static void test_l2norm(const char *name, int n, int dd) {
    size_t nx = (size_t)n * dd;
    float *d = load_case(name, (long)(nx + nx + n + nx + n + nx));
    if (!d) return;
    float *rx = d, *rdy = rx + nx, *rdn = rdy + nx, *ry = rdn + n, *rn = ry + nx, *rdx = rn + n;
    l2_ctx k = {n, dd, rx, zeros(nx), zeros(n), rdy, rdn};
    float *dx = zeros(nx);
    l2_loss(&k);
    compare(name, "y", k.y, ry, nx);
    compare(name, "norm", k.norm, rn, n);
    lqf_l2norm_backward(n, dd, k.y, k.norm, rdy, rdn, dx);
    compare(name, "dx", dx, rdx, nx);
    fd_check("l2norm dx", l2_loss, &k, rx, nx, dx, 1e-2f, NULL);
    free(d); free(k.y); free(k.norm); free(dx);
}

/* ---------------------------------------------------------------- flatten (graph) */

/* input (n,c,h,w) NHWC -> RESHAPE (n, c*h*w) in NCHW order, through a training executor. */
static void test_flatten(const char *name, int n, int c, int h, int w) {
    size_t nx = (size_t)n * c * h * w;
    float *d = load_case(name, (long)(4 * nx));
    if (!d) return;
    float *rx = d, *rdy = rx + nx, *ry = rdy + nx, *rdx = ry + nx;
    lqf_graph *g = lqf_graph_new();
    int64_t dx4[4] = {1, c, h, w}, dy2[2] = {1, (int64_t)c * h * w};
    int ti = lqf_graph_add_tensor(g, "x", LQF_T_INPUT, 4, dx4, 1);
    int to = lqf_graph_add_tensor(g, "y", LQF_T_ACT, 2, dy2, 1);
    lqf_graph_add_node(g, LQF_OP_RESHAPE, "flatten", &ti, 1, to);
    g->inputs[g->n_inputs++] = ti;
    g->outputs[g->n_outputs++] = to;
    lqf_exec *tr = NULL;
    CHECK(lqf_exec_create(g, n, LQF_EXEC_TRAIN, &tr) == LQF_OK);
    if (tr) {
        lqf_exec_set_input_grad(tr, 1);
        float *xin = nhwc(n, c, h, w, rx);
        memcpy(lqf_exec_buffer(tr, ti), xin, nx * sizeof(float));
        CHECK(lqf_exec_forward(tr) == LQF_OK);
        compare(name, "y", lqf_exec_buffer(tr, to), ry, nx);
        memcpy(lqf_exec_grad(tr, to), rdy, nx * sizeof(float));
        CHECK(lqf_exec_backward(tr) == LQF_OK);
        float *edx = nhwc(n, c, h, w, rdx);
        compare(name, "dx", lqf_exec_grad(tr, ti), edx, nx);
        free(xin);
        free(edx);
        lqf_exec_free(tr);
    }
    lqf_graph_free(g);
    free(d);
}

/* ---------------------------------------------------------------- graph operators */

/* Operators the backbones do not use, differentiated through the trainer and checked by
 * central differences of its own forward: broadcasting Mul/Sub with parameters, Transpose
 * of an NHWC tensor, Reshape, Gemm with alpha/beta/trans_b and with trans_a, Sigmoid,
 * LeakyRelu, and a tensor read twice (gradients accumulate). */
typedef struct {
    lqf_exec *tr;
    lqf_graph *g;
    const float *w1, *w2;
    size_t n1, n2;
} graph_ctx;

static double graph_loss(void *c_) {
    graph_ctx *c = c_;
    lqf_exec_forward(c->tr);
    return dotd(lqf_exec_buffer(c->tr, c->g->outputs[0]), c->w1, c->n1) +
           dotd(lqf_exec_buffer(c->tr, c->g->outputs[1]), c->w2, c->n2);
}

static void test_graph_ops(void) {
    lqf_graph *g = lqf_graph_new();
    g->build_batch = 2;
    int64_t dx[4] = {2, 3, 4, 5}, dp1[4] = {1, 3, 1, 1}, dp2[1] = {5}, dt3[4] = {2, 4, 5, 3}, dt4[2] = {2, 60},
            dp3[2] = {7, 60}, dp4[1] = {7}, d5[2] = {2, 7}, dp6[2] = {2, 4}, d9[2] = {7, 4};
    int x = lqf_graph_add_tensor(g, "x", LQF_T_INPUT, 4, dx, 1);
    int p1 = lqf_graph_add_tensor(g, "p1", LQF_T_PARAM, 4, dp1, 0);
    int p2 = lqf_graph_add_tensor(g, "p2", LQF_T_PARAM, 1, dp2, 0);
    int p3 = lqf_graph_add_tensor(g, "p3", LQF_T_PARAM, 2, dp3, 0);
    int p4 = lqf_graph_add_tensor(g, "p4", LQF_T_PARAM, 1, dp4, 0);
    int p6 = lqf_graph_add_tensor(g, "p6", LQF_T_PARAM, 2, dp6, 0);
    int t1 = lqf_graph_add_tensor(g, "t1", LQF_T_ACT, 4, dx, 1);
    int t2 = lqf_graph_add_tensor(g, "t2", LQF_T_ACT, 4, dx, 1);
    int t3 = lqf_graph_add_tensor(g, "t3", LQF_T_ACT, 4, dt3, 1);
    int t4 = lqf_graph_add_tensor(g, "t4", LQF_T_ACT, 2, dt4, 1);
    int t5 = lqf_graph_add_tensor(g, "t5", LQF_T_ACT, 2, d5, 1);
    int t6 = lqf_graph_add_tensor(g, "t6", LQF_T_ACT, 2, d5, 1);
    int t7 = lqf_graph_add_tensor(g, "t7", LQF_T_ACT, 2, d5, 1);
    int t8 = lqf_graph_add_tensor(g, "t8", LQF_T_ACT, 2, d5, 1);
    int t9 = lqf_graph_add_tensor(g, "t9", LQF_T_ACT, 2, d9, 0);
    int in[3];
    in[0] = x; in[1] = p1;
    lqf_graph_add_node(g, LQF_OP_MUL, "mul", in, 2, t1);
    in[0] = t1; in[1] = p2;
    lqf_graph_add_node(g, LQF_OP_SUB, "sub", in, 2, t2);
    int nt = lqf_graph_add_node(g, LQF_OP_TRANSPOSE, "transpose", &t2, 1, t3);
    int perm[4] = {0, 2, 3, 1};
    memcpy(g->nodes[nt].a.transpose.perm, perm, sizeof perm);
    lqf_graph_add_node(g, LQF_OP_RESHAPE, "reshape", &t3, 1, t4);
    in[0] = t4; in[1] = p3; in[2] = p4;
    int ng = lqf_graph_add_node(g, LQF_OP_GEMM, "gemm", in, 3, t5);
    g->nodes[ng].a.gemm.trans_b = 1;
    g->nodes[ng].a.gemm.alpha = 0.5f;
    g->nodes[ng].a.gemm.beta = 2.0f;
    lqf_graph_add_node(g, LQF_OP_SIGMOID, "sigmoid", &t5, 1, t6);
    int nl = lqf_graph_add_node(g, LQF_OP_LEAKYRELU, "leaky", &t5, 1, t7);
    g->nodes[nl].a.alpha = 0.1f;
    in[0] = t6; in[1] = t7;
    lqf_graph_add_node(g, LQF_OP_ADD, "add", in, 2, t8);
    in[0] = t5; in[1] = p6;
    int ng2 = lqf_graph_add_node(g, LQF_OP_GEMM, "gemm_ta", in, 2, t9);
    g->nodes[ng2].a.gemm.trans_a = 1;
    g->nodes[ng2].a.gemm.alpha = 1.0f;
    g->inputs[g->n_inputs++] = x;
    g->outputs[g->n_outputs++] = t8;
    g->outputs[g->n_outputs++] = t9;
    unsigned seed = 7;
    for (size_t i = 0; i < g->n_params; i++) {
        seed = seed * 1103515245u + 12345u;
        g->params[i] = (float)((seed >> 9) % 2001) / 1000.0f - 1.0f;
    }
    lqf_exec *tr = NULL;
    CHECK(lqf_exec_create(g, 2, LQF_EXEC_TRAIN, &tr) == LQF_OK);
    if (!tr) {
        lqf_graph_free(g);
        return;
    }
    lqf_exec_set_input_grad(tr, 1);
    float *xb = lqf_exec_buffer(tr, x);
    for (int i = 0; i < 120; i++) xb[i] = (float)sin(0.37 * i);
    float w1[14], w2[28];
    for (int i = 0; i < 14; i++) w1[i] = (float)cos(0.5 * i);
    for (int i = 0; i < 28; i++) w2[i] = (float)sin(0.9 * i + 1);
    graph_ctx c = {tr, g, w1, w2, 14, 28};
    graph_loss(&c);
    memcpy(lqf_exec_grad(tr, t8), w1, sizeof w1);
    memcpy(lqf_exec_grad(tr, t9), w2, sizeof w2);
    lqf_exec_zero_grad(tr);
    CHECK(lqf_exec_backward(tr) == LQF_OK);
    float *grads = malloc(g->n_params * sizeof(float)), gx[120];
    memcpy(grads, lqf_exec_grads(tr), g->n_params * sizeof(float));
    memcpy(gx, lqf_exec_grad(tr, x), sizeof gx);
    fd_check("graph ops dx", graph_loss, &c, xb, 120, gx, 1e-3f, NULL);
    const int ps[5] = {p1, p2, p3, p4, p6};
    for (int k = 0; k < 5; k++) {
        char lb[64];
        snprintf(lb, sizeof lb, "graph ops d%s", g->tensors[ps[k]].name);
        const lqf_tensor *T = &g->tensors[ps[k]];
        fd_check(lb, graph_loss, &c, g->params + T->offset, (size_t)lqf_tensor_numel(T), grads + T->offset, 1e-3f, NULL);
    }
    /* a frozen parameter gets nothing, and graphs with an operator lacking backward are refused */
    lqf_exec_freeze_tensor(tr, p3, 1);
    lqf_exec_zero_grad(tr);
    CHECK(lqf_exec_backward(tr) == LQF_OK);
    CHECK(tu_max_abs(lqf_exec_grads(tr) + g->tensors[p3].offset, 420) == 0.0);
    CHECK(tu_max_abs(lqf_exec_grads(tr) + g->tensors[p4].offset, 7) > 0.0);
    free(grads);
    lqf_exec_free(tr);
    int t10 = lqf_graph_add_tensor(g, "t10", LQF_T_ACT, 2, d5, 1);
    lqf_graph_add_node(g, LQF_OP_EXP, "exp", &t8, 1, t10);
    tr = NULL;
    CHECK(lqf_exec_create(g, 2, LQF_EXEC_TRAIN, &tr) == LQF_ERR_UNSUPPORTED && tr == NULL);
    printf("     refused: %s\n", lqf_last_error());
    lqf_graph_free(g);
}

int main(void) {
    FILE *f = fopen(tu_testdata("layers/manifest.txt"), "r");
    if (!CHECK(f != NULL)) return tu_finish("test_layers");
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char kind[32], name[64];
        int a[16];
        float p;
        if (sscanf(line, "%31s %63s", kind, name) != 2) continue;
        const char *rest = line + strlen(kind) + strlen(name) + 2;
        if (!strcmp(kind, "conv")) {
            CHECK(sscanf(rest, "%d %d %d %d %d %d %d %d %d %d %d %d %d %d", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5],
                         &a[6], &a[7], &a[8], &a[9], &a[10], &a[11], &a[12], &a[13]) == 14);
            test_conv(name, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13]);
        } else if (!strcmp(kind, "bn")) {
            CHECK(sscanf(rest, "%d %d %d %d", &a[0], &a[1], &a[2], &a[3]) == 4);
            test_bn(name, a[0], a[1], a[2], a[3]);
        } else if (!strcmp(kind, "prelu")) {
            CHECK(sscanf(rest, "%d %d %d %d %d", &a[0], &a[1], &a[2], &a[3], &a[4]) == 5);
            test_act(kind, name, a[0], a[1], a[2], a[3], a[4]);
        } else if (!strcmp(kind, "relu")) {
            CHECK(sscanf(rest, "%d %d %d %d", &a[0], &a[1], &a[2], &a[3]) == 4);
            test_act(kind, name, a[0], a[1], a[2], a[3], 0);
        } else if (!strcmp(kind, "linear")) {
            CHECK(sscanf(rest, "%d %d %d %d", &a[0], &a[1], &a[2], &a[3]) == 4);
            test_linear(name, a[0], a[1], a[2], a[3]);
        } else if (!strcmp(kind, "dropout")) {
            CHECK(sscanf(rest, "%d %f", &a[0], &p) == 2);
            test_dropout(name, a[0], p);
        } else if (!strcmp(kind, "flatten")) {
            CHECK(sscanf(rest, "%d %d %d %d", &a[0], &a[1], &a[2], &a[3]) == 4);
            test_flatten(name, a[0], a[1], a[2], a[3]);
        } else if (!strcmp(kind, "maxpool")) {
            CHECK(sscanf(rest, "%d %d %d %d %d %d %d", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6]) == 7);
            test_pool(name, a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
        } else if (!strcmp(kind, "l2norm")) {
            CHECK(sscanf(rest, "%d %d", &a[0], &a[1]) == 2);
            test_l2norm(name, a[0], a[1]);
        } else {
            CHECK(!"unknown manifest line");
        }
    }
    fclose(f);
    test_graph_ops();
    printf("largest error vs PyTorch per case (max |got - torch| / max |torch| over outputs and gradients):\n");
    for (int k = 0; k < ncases; k++) printf("     %-14s %.2e\n", case_name[k], case_worst[k]);
    printf("largest error vs PyTorch: %.3g of the reference's scale\n", worst_rel);
    return tu_finish("test_layers");
}
