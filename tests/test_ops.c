/*
 * test_ops.c — checks every CPU kernel of src/backend/cpu/ against PyTorch reference dumps written
 * by tools/ref_ops.py (tests/data/ops/manifest.txt lists the cases and their shapes; the
 * arrays are NCHW/logical order and are converted to channels-last here). Convolutions are
 * checked with bias only, with PReLU + residual, and with another activation and no bias,
 * once with the default im2col tiling and once with tiny tiles; tolerance is 1e-4 of the
 * output's scale.
 */
#include "backend/cpu/cpu_internal.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-4

static float *load_case(const char *kind, const char *name, long want) {
    char rel[256];
    snprintf(rel, sizeof rel, "ops/%s_%s.bin", kind, name);
    float *d = NULL;
    long n = tu_load_f32(tu_testdata(rel), &d);
    if (!CHECK(n == want)) {
        fprintf(stderr, "%s: %ld floats, expected %ld\n", rel, n, want);
        free(d);
        return NULL;
    }
    return d;
}

static int compare(const char *kind, const char *name, const char *what, const float *got,
                   const float *want, size_t n) {
    char label[256];
    snprintf(label, sizeof label, "%s %s %s", kind, name, what);
    double scale = tu_max_abs(want, n);
    return tu_close(label, got, want, n, TOL * (scale > 1e-6 ? scale : 1.0), TOL);
}

/* (n,c,h,w) dense NCHW -> NHWC and back, through lqf_copy_view. */
static void to_nhwc(int64_t n, int64_t c, int64_t h, int64_t w, const float *src, float *dst) {
    int64_t d[4] = {n, c, h, w};
    lqf_view vs, vd;
    lqf_view_dense(&vs, 4, d);
    lqf_view_nhwc(&vd, d);
    lqf_copy_view(&vs, src, &vd, dst);
}

static float *nhwc_copy(int64_t n, int64_t c, int64_t h, int64_t w, const float *src) {
    float *d = malloc(sizeof(float) * (size_t)(n * c * h * w) + 4);
    to_nhwc(n, c, h, w, src, d);
    return d;
}

static lqf_act act_of(const char *s, int *shared) {
    *shared = 0;
    if (!strcmp(s, "relu")) return LQF_ACT_RELU;
    if (!strcmp(s, "leaky")) return LQF_ACT_LEAKY;
    if (!strcmp(s, "sigmoid")) return LQF_ACT_SIGMOID;
    if (!strcmp(s, "prelu")) return LQF_ACT_PRELU;
    if (!strcmp(s, "prelu1")) { *shared = 1; return LQF_ACT_PRELU; }
    CHECK(!"unknown activation in manifest");
    return LQF_ACT_NONE;
}

/* ------------------------------------------------------------------ conv */
static void test_conv(const char *line) {
    char name[64], act3[16];
    lqf_conv_shape s;
    memset(&s, 0, sizeof s);
    int eoh, eow;
    if (!CHECK(sscanf(line, "conv %63s %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %15s %d %d", name, &s.n,
                      &s.cin, &s.h, &s.w, &s.cout, &s.kh, &s.kw, &s.sh, &s.sw, &s.pt, &s.pl, &s.pb, &s.pr,
                      &s.dh, &s.dw, &s.group, act3, &eoh, &eow) == 20))
        return;
    lqf_conv_shape_init(&s);
    CHECK(s.oh == eoh && s.ow == eow);
    CHECK(lqf_conv_macs(&s) == (int64_t)eoh * eow * s.cout * (s.cin / s.group) * s.kh * s.kw);
    size_t nx = (size_t)s.n * s.cin * s.h * s.w, nw = lqf_conv_weight_size(&s);
    size_t ny = (size_t)s.n * s.cout * s.oh * s.ow;
    CHECK(nw == (size_t)s.cout * (s.cin / s.group) * s.kh * s.kw);
    float *d = load_case("conv", name, (long)(nx + nw + 2 * s.cout + 4 * ny));
    if (!d) return;
    const float *x = d, *w = x + nx, *b = w + nw, *slope = b + s.cout, *res = slope + s.cout;
    const float *y_bias = res + ny, *y_ep = y_bias + ny, *y_act = y_ep + ny;

    float *xh = nhwc_copy(s.n, s.cin, s.h, s.w, x);
    float *resh = nhwc_copy(s.n, s.cout, s.oh, s.ow, res);
    float *want[3] = {nhwc_copy(s.n, s.cout, s.oh, s.ow, y_bias), nhwc_copy(s.n, s.cout, s.oh, s.ow, y_ep),
                      nhwc_copy(s.n, s.cout, s.oh, s.ow, y_act)};
    float *wp = malloc(nw * sizeof(float)), *wu = malloc(nw * sizeof(float));
    lqf_conv_pack_weights(&s, w, wp);
    lqf_conv_unpack_weights(&s, wp, wu);
    CHECK(memcmp(w, wu, nw * sizeof(float)) == 0);
    float *y = malloc(ny * sizeof(float));

    int shared;
    lqf_epilogue ep_prelu = {.act = LQF_ACT_PRELU, .slope = slope, .residual = resh};
    lqf_epilogue ep3 = {.act = act_of(act3, &shared), .slope = slope, .alpha = 0.1f};
    ep3.slope_shared = shared;
    const char *what[3] = {"bias", "prelu+residual", act3};

    int64_t budgets[2] = {0, 50};
    for (int t = 0; t < 2; t++) {
        lqf_conv_set_im2col_budget(budgets[t]);
        size_t ns = lqf_conv2d_scratch(&s);
        float *scratch = ns ? malloc(ns * sizeof(float)) : NULL;
        for (int k = 0; k < 3; k++) {
            for (size_t i = 0; i < ny; i++) y[i] = 1e30f; /* every output must be written */
            const float *bias = k == 2 ? NULL : b;
            const lqf_epilogue *ep = k == 0 ? NULL : k == 1 ? &ep_prelu : &ep3;
            lqf_conv2d_forward(&s, xh, wp, bias, ep, y, scratch);
            char lbl[96];
            snprintf(lbl, sizeof lbl, "%s%s", what[k], t ? " (small tiles)" : "");
            compare("conv", name, lbl, y, want[k], ny);
        }
        free(scratch);
    }
    lqf_conv_set_im2col_budget(0);
    free(y), free(wp), free(wu), free(xh), free(resh), free(d);
    for (int k = 0; k < 3; k++) free(want[k]);
}

/* ------------------------------------------------------------------ pool / resize */
static void test_pool(const char *line) {
    char name[64];
    lqf_pool_shape s;
    memset(&s, 0, sizeof s);
    int eoh, eow;
    if (!CHECK(sscanf(line, "pool %63s %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d", name, &s.n, &s.c, &s.h, &s.w,
                      &s.kh, &s.kw, &s.sh, &s.sw, &s.pt, &s.pl, &s.pb, &s.pr, &s.ceil_mode, &eoh, &eow) == 16))
        return;
    lqf_pool_shape_init(&s);
    if (!CHECK(s.oh == eoh && s.ow == eow)) {
        fprintf(stderr, "pool %s: output %dx%d, torch %dx%d\n", name, s.oh, s.ow, eoh, eow);
        return;
    }
    size_t nx = (size_t)s.n * s.c * s.h * s.w, ny = (size_t)s.n * s.c * s.oh * s.ow;
    float *d = load_case("pool", name, (long)(nx + ny));
    if (!d) return;
    float *xh = nhwc_copy(s.n, s.c, s.h, s.w, d), *want = nhwc_copy(s.n, s.c, s.oh, s.ow, d + nx);
    float *y = malloc(ny * sizeof(float));
    lqf_maxpool_forward(&s, xh, y);
    compare("maxpool", name, "", y, want, ny);
    free(y), free(xh), free(want), free(d);
}

static void test_resize(const char *line) {
    char name[64];
    int n, c, h, w, sh, sw;
    if (!CHECK(sscanf(line, "resize %63s %d %d %d %d %d %d", name, &n, &c, &h, &w, &sh, &sw) == 7)) return;
    size_t nx = (size_t)n * c * h * w, ny = nx * sh * sw;
    float *d = load_case("resize", name, (long)(nx + ny));
    if (!d) return;
    float *xh = nhwc_copy(n, c, h, w, d), *want = nhwc_copy(n, c, h * sh, w * sw, d + nx);
    float *y = malloc(ny * sizeof(float));
    lqf_resize_nearest(n, h, w, c, sh, sw, xh, y);
    compare("resize", name, "", y, want, ny);
    free(y), free(xh), free(want), free(d);
}

/* ------------------------------------------------------------------ elementwise */
static void test_act(const char *line) {
    char name[64], kind[16];
    int n, c, h, w;
    if (!CHECK(sscanf(line, "act %63s %d %d %d %d %15s", name, &n, &c, &h, &w, kind) == 6)) return;
    size_t nx = (size_t)n * c * h * w;
    float *d = load_case("act", name, (long)(2 * nx + c));
    if (!d) return;
    float *xh = nhwc_copy(n, c, h, w, d), *want = nhwc_copy(n, c, h, w, d + nx + c);
    float *y = malloc(nx * sizeof(float));
    int shared;
    lqf_act a = act_of(kind, &shared);
    lqf_act_forward(a, d + nx, shared, 0.1f, (int64_t)n * h * w, c, xh, y);
    compare("act", name, "", y, want, nx);
    lqf_act_forward(a, d + nx, shared, 0.1f, (int64_t)n * h * w, c, xh, xh); /* in place */
    compare("act", name, "in place", xh, want, nx);
    free(y), free(xh), free(want), free(d);
}

static void test_exp(const char *line) {
    int n;
    if (!CHECK(sscanf(line, "exp %d", &n) == 1)) return;
    float *d = load_case("exp", "1000", 2L * n);
    if (!d) return;
    float *y = malloc((size_t)n * sizeof(float));
    lqf_exp_forward(n, d, y);
    /* exp's output spans many decades: relative tolerance per element. */
    tu_close("exp", y, d + n, (size_t)n, 0.0, 1e-5);
    free(y), free(d);
}

/* Parse "ndim d0 d1 ..." from *p; returns the element count. */
static int64_t parse_dims(const char **p, int ndim, int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        int k = 0;
        long v = 0;
        sscanf(*p, " %ld%n", &v, &k);
        *p += k;
        dims[i] = v;
        n *= v;
    }
    return n;
}

/* A view of logical dims for a buffer in the given layout ("nhwc" for 4-D, else dense), and
 * the buffer converted from dense logical order into that layout. */
static float *to_layout(const char *layout, int ndim, const int64_t *dims, const float *dense, lqf_view *v) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    float *out = malloc((size_t)n * sizeof(float) + 4);
    lqf_view vd;
    lqf_view_dense(&vd, ndim, dims);
    if (!strcmp(layout, "nhwc"))
        lqf_view_nhwc(v, dims);
    else
        *v = vd;
    lqf_copy_view(&vd, dense, v, out);
    return out;
}

static void test_softmax(const char *line) {
    char name[64], layout[16];
    int ndim, k;
    if (!CHECK(sscanf(line, "softmax %63s %15s %d%n", name, layout, &ndim, &k) == 3)) return;
    const char *p = line + k;
    int64_t dims[LQF_MAX_DIMS];
    int64_t n = parse_dims(&p, ndim, dims);
    int axis = atoi(p);
    float *d = load_case("softmax", name, (long)(2 * n));
    if (!d) return;
    lqf_view v;
    float *x = to_layout(layout, ndim, dims, d, &v), *want = to_layout(layout, ndim, dims, d + n, &v);
    float *y = malloc((size_t)n * sizeof(float));
    lqf_softmax(&v, axis, x, y);
    compare("softmax", name, "", y, want, (size_t)n);
    lqf_softmax(&v, axis, x, x);
    compare("softmax", name, "in place", x, want, (size_t)n);
    free(x), free(y), free(want), free(d);
}

static void test_reduce(const char *line) {
    char name[64], layout[16];
    int ndim, k;
    if (!CHECK(sscanf(line, "reduce %63s %15s %d%n", name, layout, &ndim, &k) == 3)) return;
    const char *p = line + k;
    int64_t dims[LQF_MAX_DIMS], ydims[LQF_MAX_DIMS];
    int64_t n = parse_dims(&p, ndim, dims);
    unsigned mask = (unsigned)atoi(p);
    int64_t ny = 1;
    for (int i = 0; i < ndim; i++) {
        ydims[i] = mask >> i & 1u ? 1 : dims[i];
        ny *= ydims[i];
    }
    float *d = load_case("reduce", name, (long)(n + ny));
    if (!d) return;
    lqf_view vx, vy;
    float *x = to_layout(layout, ndim, dims, d, &vx), *want = to_layout(layout, ndim, ydims, d + n, &vy);
    float *y = malloc((size_t)ny * sizeof(float));
    lqf_reduce_sum(&vx, x, mask, &vy, y);
    compare("reduce_sum", name, "", y, want, (size_t)ny);
    free(x), free(y), free(want), free(d);
}

static void test_binary(const char *line) {
    char name[64], opname[8], layout[16];
    int ndim, k;
    if (!CHECK(sscanf(line, "binary %63s %7s %15s %d%n", name, opname, layout, &ndim, &k) == 4)) return;
    const char *p = line + k;
    int64_t ad[LQF_MAX_DIMS], bd[LQF_MAX_DIMS], yd[LQF_MAX_DIMS];
    int64_t na = parse_dims(&p, ndim, ad), nb = parse_dims(&p, ndim, bd), ny = 1;
    for (int i = 0; i < ndim; i++) {
        yd[i] = ad[i] > bd[i] ? ad[i] : bd[i];
        ny *= yd[i];
    }
    lqf_binop op = !strcmp(opname, "add") ? LQF_BIN_ADD : !strcmp(opname, "sub") ? LQF_BIN_SUB
                 : !strcmp(opname, "mul") ? LQF_BIN_MUL : LQF_BIN_DIV;
    float *d = load_case("binary", name, (long)(na + nb + ny));
    if (!d) return;
    lqf_view va, vb, vy;
    float *a = to_layout(layout, ndim, ad, d, &va), *b = to_layout(layout, ndim, bd, d + na, &vb);
    float *want = to_layout(layout, ndim, yd, d + na + nb, &vy);
    float *y = malloc((size_t)ny * sizeof(float));
    lqf_binary(op, &va, a, &vb, b, &vy, y);
    compare("binary", name, "", y, want, (size_t)ny);
    if (na == ny) { /* in place into a */
        lqf_binary(op, &va, a, &vb, b, &vy, a);
        compare("binary", name, "in place", a, want, (size_t)ny);
    }
    free(a), free(b), free(y), free(want), free(d);
}

/* ------------------------------------------------------------------ copy_view */
static void test_copy(const char *line) {
    char name[64];
    int k;
    if (!CHECK(sscanf(line, "copy %63s%n", name, &k) == 1)) return;
    const char *p = line + k;
    if (!strncmp(name, "nchw2nhwc", 9)) {
        int64_t dims[4];
        int64_t n = parse_dims(&p, 4, dims);
        float *d = load_case("copy", name, (long)(2 * n));
        if (!d) return;
        float *y = nhwc_copy(dims[0], dims[1], dims[2], dims[3], d);
        compare("copy", name, "", y, d + n, (size_t)n);
        /* and back */
        float *z = malloc((size_t)n * sizeof(float));
        lqf_view vs, vd;
        lqf_view_nhwc(&vs, dims);
        lqf_view_dense(&vd, 4, dims);
        lqf_copy_view(&vs, y, &vd, z);
        compare("copy", name, "back", z, d, (size_t)n);
        free(y), free(z), free(d);
    } else if (!strncmp(name, "perm201", 7)) {
        int64_t dims[3];
        int64_t n = parse_dims(&p, 3, dims);
        float *d = load_case("copy", name, (long)(2 * n));
        if (!d) return;
        /* y is dense (d2, d0, d1); seen with x's logical dims (d0, d1, d2). */
        lqf_view vs, vd;
        lqf_view_dense(&vs, 3, dims);
        vd = vs;
        vd.strides[0] = dims[1];
        vd.strides[1] = 1;
        vd.strides[2] = dims[0] * dims[1];
        float *y = malloc((size_t)n * sizeof(float));
        lqf_copy_view(&vs, d, &vd, y);
        compare("copy", name, "", y, d + n, (size_t)n);
        free(y), free(d);
    } else if (!strcmp(name, "concat")) {
        int64_t N, ca, cb, H, W;
        int64_t dd[5];
        parse_dims(&p, 5, dd);
        N = dd[0], ca = dd[1], cb = dd[2], H = dd[3], W = dd[4];
        int64_t na = N * ca * H * W, nb = N * cb * H * W, ny = na + nb;
        float *d = load_case("copy", name, (long)(2 * ny));
        if (!d) return;
        float *y = malloc((size_t)ny * sizeof(float));
        int64_t yd[4] = {N, ca + cb, H, W}, adims[4] = {N, ca, H, W}, bdims[4] = {N, cb, H, W};
        lqf_view vy, va, vb;
        lqf_view_nhwc(&vy, yd);
        lqf_view_dense(&va, 4, adims);
        lqf_view_dense(&vb, 4, bdims);
        lqf_view dst = vy;
        dst.dims[1] = ca;
        lqf_copy_view(&va, d, &dst, y);
        dst.dims[1] = cb;
        lqf_copy_view(&vb, d + na, &dst, y + ca);
        float *want = nhwc_copy(N, ca + cb, H, W, d + na + nb);
        compare("copy", name, "", y, want, (size_t)ny);
        free(y), free(want), free(d);
    } else if (!strcmp(name, "slice")) {
        int64_t dims[4];
        int64_t n = parse_dims(&p, 4, dims);
        int64_t sd[4] = {dims[0], dims[1], 2, (dims[3] + 1) / 2}, ns = sd[0] * sd[1] * sd[2] * sd[3];
        float *d = load_case("copy", name, (long)(n + ns));
        if (!d) return;
        lqf_view vx, vs, vd;
        lqf_view_dense(&vx, 4, dims);
        vs = vx;
        for (int i = 0; i < 4; i++) vs.dims[i] = sd[i];
        vs.strides[3] *= 2;
        lqf_view_dense(&vd, 4, sd);
        float *y = malloc((size_t)ns * sizeof(float));
        lqf_copy_view(&vs, d + dims[3], &vd, y);
        compare("copy", name, "", y, d + n, (size_t)ns);
        free(y), free(d);
    } else {
        CHECK(!"unknown copy case");
    }
}

/* ------------------------------------------------------------------ sgemm */
/* A small product checked against a double-precision loop (hand-checkable definition). */
static void test_sgemm(void) {
    enum { M = 37, N = 29, K = 53 };
    static float A[K * M], B[N * K], C[M * N], R[M * N];
    for (int i = 0; i < K * M; i++) A[i] = (float)((i * 7919 % 101) - 50) / 50.0f;
    for (int i = 0; i < N * K; i++) B[i] = (float)((i * 104729 % 89) - 44) / 44.0f;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            for (int i = 0; i < M * N; i++) C[i] = R[i] = 1.0f;
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double acc = 0;
                    for (int k = 0; k < K; k++) {
                        double a = ta ? A[k * M + i] : A[i * K + k];
                        double b = tb ? B[j * K + k] : B[k * N + j];
                        acc += a * b;
                    }
                    R[i * N + j] = (float)(0.5 * acc + 2.0 * R[i * N + j]);
                }
            lqf_sgemm(ta, tb, M, N, K, 0.5f, A, ta ? M : K, B, tb ? K : N, 2.0f, C, N);
            char lbl[32];
            snprintf(lbl, sizeof lbl, "ta=%d tb=%d", ta, tb);
            compare("sgemm", lbl, "", C, R, M * N);
        }
}

/* Every entry of the CPU backend's table is filled (the struct is pointers only: its name
 * and the function pointers, all of one size on the platforms lqface builds for), and it
 * is the default backend. */
static void test_backend_table(void) {
    const lqf_backend *be = lqf_backend_cpu();
    unsigned char raw[sizeof *be];
    memcpy(raw, be, sizeof raw);
    int missing = 0;
    for (size_t off = 0; off + sizeof(void *) <= sizeof raw; off += sizeof(void *)) {
        void *p;
        memcpy(&p, raw + off, sizeof p);
        missing += p == NULL;
    }
    CHECK(sizeof raw % sizeof(void *) == 0 && missing == 0);
    CHECK(lqf_backend_default() == be && !strcmp(be->name, "cpu"));
}

int main(void) {
    test_backend_table();
    test_sgemm();
    FILE *f = fopen(tu_testdata("ops/manifest.txt"), "r");
    if (!CHECK(f != NULL)) return tu_finish("test_ops");
    char line[512];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!*line) continue;
        cases++;
        if (!strncmp(line, "conv ", 5)) test_conv(line);
        else if (!strncmp(line, "pool ", 5)) test_pool(line);
        else if (!strncmp(line, "resize ", 7)) test_resize(line);
        else if (!strncmp(line, "act ", 4)) test_act(line);
        else if (!strncmp(line, "exp ", 4)) test_exp(line);
        else if (!strncmp(line, "softmax ", 8)) test_softmax(line);
        else if (!strncmp(line, "reduce ", 7)) test_reduce(line);
        else if (!strncmp(line, "binary ", 7)) test_binary(line);
        else if (!strncmp(line, "copy ", 5)) test_copy(line);
        else CHECK(!"unknown manifest line");
    }
    fclose(f);
    CHECK(cases >= 50);
    return tu_finish("test_ops");
}
