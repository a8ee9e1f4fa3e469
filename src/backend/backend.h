/*
 * backend.h — the backend seam of lqface: the kernel types (views, convolution and pooling
 * shapes, the fused epilogue, activation/binary/unary codes), the shape and view arithmetic
 * every layer shares (backend/view.c, no data touched), and lqf_backend, a table of function
 * pointers for every kernel entry point the executor, the op table (nn/op_*.c), the training
 * heads and optimisers and the CLI use, plus buffer allocation. Code outside backend/
 * reaches kernels only through a table: the executor through the one it was created with,
 * everything else through lqf_backend_default(). The CPU implementation (backend/cpu/,
 * oneDNN's JIT sgemm, AVX-512, OpenMP) is lqf_backend_cpu(); a low-precision or device
 * backend is a new backend/<name>/ filling the same table.
 *
 * Conventions of every kernel: plain float buffers with explicit dimensions; images are
 * channels-last (N,H,W,C); no kernel allocates its working memory (callers pass scratch
 * sized by the matching *_scratch entry) except the per-channel reductions (BatchNorm,
 * PReLU slope, bias: O(threads x C) doubles); every backward kernel ADDS into its gradient
 * outputs (callers zero them first); gradient pointers documented "may be NULL" are
 * skipped; convolution weights are in the backend's packed layout (conv_pack_weights).
 */
#ifndef LQF_BACKEND_H
#define LQF_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#define LQF_MAX_DIMS 6

/* A tensor seen through logical dims and physical strides (in floats). */
typedef struct {
    int ndim;
    int64_t dims[LQF_MAX_DIMS];
    int64_t strides[LQF_MAX_DIMS];
} lqf_view;

typedef enum { LQF_ACT_NONE = 0, LQF_ACT_RELU, LQF_ACT_PRELU, LQF_ACT_LEAKY, LQF_ACT_SIGMOID } lqf_act;
typedef enum { LQF_BIN_ADD, LQF_BIN_SUB, LQF_BIN_MUL, LQF_BIN_DIV } lqf_binop;
/* Elementwise functions of the graph's Unary operator (ONNX Sqrt, Tanh, Clip, Abs, Neg, Reciprocal). */
typedef enum { LQF_UN_SQRT = 0, LQF_UN_TANH, LQF_UN_CLIP, LQF_UN_ABS, LQF_UN_NEG, LQF_UN_RECIPROCAL } lqf_unary_fn;

typedef struct {
    int n, h, w, cin;          /* input  (N,H,W,Cin) */
    int cout, oh, ow;          /* output (N,OH,OW,Cout); oh/ow filled by lqf_conv_shape_init */
    int kh, kw, sh, sw;
    int pt, pl, pb, pr;        /* padding top, left, bottom, right */
    int dh, dw;                /* dilation */
    int group;
} lqf_conv_shape;

typedef struct {
    lqf_act act;
    const float *slope;        /* PReLU: Cout slopes (or 1 shared if slope_shared) */
    int slope_shared;
    float alpha;               /* LeakyReLU */
    const float *residual;     /* (N,OH,OW,Cout) added AFTER the activation, or NULL */
} lqf_epilogue;

typedef struct {
    int n, h, w, c, oh, ow;
    int kh, kw, sh, sw, pt, pl, pb, pr, ceil_mode;
} lqf_pool_shape;

/* ------------------------------------------------------------------ shape and view arithmetic */
/* Dense row-major strides for dims; channels-last strides for a 4-D logical NCHW. */
void lqf_view_dense(lqf_view *v, int ndim, const int64_t *dims);
void lqf_view_nhwc(lqf_view *v, const int64_t dims_nchw[4]);
int64_t lqf_view_numel(const lqf_view *v);
/* 1 when v's strides are dense row-major for its dims (extent-1 dims ignored). */
int lqf_view_is_dense(const lqf_view *v);
/* 1 when two views of equal dims address memory identically (extent-1 dims ignored). */
int lqf_view_same_layout(const lqf_view *a, const lqf_view *b);
/* out = in with its axes reordered: out axis i is in axis perm[i]. */
void lqf_view_permute(const lqf_view *in, const int *perm, lqf_view *out);
/* Right-align v to ndim dims (numpy broadcasting): leading dims of extent 1, stride 0. */
void lqf_view_expand(const lqf_view *v, int ndim, lqf_view *out);

void lqf_conv_shape_init(lqf_conv_shape *s); /* computes oh, ow */
size_t lqf_conv_weight_size(const lqf_conv_shape *s); /* weights of the layer (OIHW count) */
int64_t lqf_conv_macs(const lqf_conv_shape *s);       /* multiply-adds per image */
void lqf_pool_shape_init(lqf_pool_shape *s); /* computes oh, ow (ONNX rules incl. ceil_mode) */

/* ------------------------------------------------------------------ the table */
typedef struct lqf_backend {
    const char *name;

    /* ---- buffers: 64-byte aligned, NULL on failure */
    void *(*alloc)(size_t bytes);
    void (*free)(void *p);
    void (*zero)(float *p, size_t n);

    /* ---- dense products: row-major C(MxN) = alpha * op(A)(MxK) * op(B)(KxN) + beta * C */
    void (*sgemm)(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                  int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

    /* ---- convolution (N,H,W,Cin) -> (N,OH,OW,Cout), weights packed from ONNX/PyTorch OIHW */
    void (*conv_pack_weights)(const lqf_conv_shape *s, const float *w_oihw, float *w_packed);
    void (*conv_unpack_weights)(const lqf_conv_shape *s, const float *w_packed, float *w_oihw);
    size_t (*conv2d_scratch)(const lqf_conv_shape *s);          /* floats for conv2d_forward */
    /* y = epilogue(conv(x, w) + b); b (Cout) or NULL, ep NULL or identity for none; x, y and
     * the residual must not alias */
    void (*conv2d_forward)(const lqf_conv_shape *s, const float *x, const float *w_packed, const float *b,
                           const lqf_epilogue *ep, float *y, float *scratch);
    size_t (*conv2d_backward_scratch)(const lqf_conv_shape *s); /* floats for either backward */
    /* dx (N,H,W,Cin) += conv^T(dy, w) */
    void (*conv2d_backward_data)(const lqf_conv_shape *s, const float *dy, const float *w_packed, float *dx,
                                 float *scratch);
    /* dw (packed) += dL/dw from x and dy; db (Cout) += sum dy; either may be NULL */
    void (*conv2d_backward_weights)(const lqf_conv_shape *s, const float *x, const float *dy, float *dw_packed,
                                    float *db, float *scratch);
    void (*bias_backward)(int64_t rows, int c, const float *dy, float *db); /* db (c) += column sums of dy */

    /* ---- pooling and resizing, NHWC */
    void (*maxpool_forward)(const lqf_pool_shape *s, const float *x, float *y);
    /* dx += dy routed to the first maximum of each window in scan order (recomputed from x) */
    void (*maxpool_backward)(const lqf_pool_shape *s, const float *x, const float *dy, float *dx);
    /* nearest-neighbour upsampling by integer factors */
    void (*resize_nearest)(int n, int h, int w, int c, int sh, int sw, const float *x, float *y);

    /* ---- elementwise (x and y may alias) */
    /* per-channel activation over (rows, C) channels-last data */
    void (*act_forward)(lqf_act act, const float *slope, int slope_shared, float alpha, int64_t rows, int c,
                        const float *x, float *y);
    /* x = the activation's input: dx += dy*f'(x); PReLU dslope (C, or 1 shared) += sum over x<=0
     * of dy*x; dx and dslope may be NULL */
    void (*act_backward)(lqf_act act, const float *slope, int slope_shared, float alpha, int64_t rows, int c,
                         const float *x, const float *dy, float *dx, float *dslope);
    void (*exp_forward)(int64_t n, const float *x, float *y);
    /* y = fn(x) over n values; lo/hi are Clip's bounds */
    void (*unary_forward)(lqf_unary_fn fn, float lo, float hi, int64_t n, const float *x, float *y);
    void (*axpy)(int64_t n, float alpha, const float *x, float *y); /* y += alpha * x */

    /* ---- layout-generic over views (logical dims + physical strides) */
    /* y = a (op) b with numpy broadcasting; all three views have the same ndim */
    void (*binary)(lqf_binop op, const lqf_view *va, const float *a, const lqf_view *vb, const float *b,
                   const lqf_view *vy, float *y);
    /* copy between two views of the same logical dims (transpose, concat, layout changes) */
    void (*copy_view)(const lqf_view *src, const float *x, const lqf_view *dst, float *y);
    /* y = scale * x broadcast to vy (vx has vy's ndim; its extent-1 dims broadcast) */
    void (*scale_broadcast)(const lqf_view *vx, const float *x, float scale, const lqf_view *vy, float *y);
    /* softmax along a logical axis, views of equal dims (x and y may alias) */
    void (*softmax)(const lqf_view *v, int axis, const float *x, float *y);
    /* sum over the axes flagged in mask (bit i = logical axis i); vy has extent 1 there */
    void (*reduce_sum)(const lqf_view *vx, const float *x, unsigned mask, const lqf_view *vy, float *y);

    /* ---- BatchNorm over (rows, C) channels-last data (BN2d: rows = N*H*W, BN1d: rows = N);
     * gamma/beta may be NULL (affine=False) */
    /* batch statistics; running_* updated as PyTorch r = (1-momentum)*r + momentum*stat (unbiased
     * variance), may be NULL; save_mean/save_invstd (C) keep what backward needs */
    void (*bn_forward_train)(int64_t rows, int c, const float *x, const float *gamma, const float *beta,
                             float eps, float momentum, float *running_mean, float *running_var,
                             float *save_mean, float *save_invstd, float *y);
    void (*bn_forward_infer)(int64_t rows, int c, const float *x, const float *gamma, const float *beta,
                             const float *mean, const float *var, float eps, float *y);
    void (*bn_backward_train)(int64_t rows, int c, const float *x, const float *dy, const float *gamma,
                              const float *save_mean, const float *save_invstd, float *dx, float *dgamma,
                              float *dbeta);
    void (*bn_backward_infer)(int64_t rows, int c, const float *x, const float *dy, const float *gamma,
                              const float *mean, const float *var, float eps, float *dx, float *dgamma,
                              float *dbeta);

    /* ---- dense rows (N, features) */
    /* y (N,out) = x (N,in) W^T + b, W (out,in) as PyTorch; b may be NULL */
    void (*linear_forward)(int64_t n, int in, int out, const float *x, const float *w, const float *b, float *y);
    /* dx += dy W; dw += dy^T x; db += column sums of dy; any may be NULL */
    void (*linear_backward)(int64_t n, int in, int out, const float *x, const float *w, const float *dy,
                            float *dx, float *dw, float *db);
    /* mask (n) of 0 or 1/(1-p) drawn from seed (same seed, same mask); y = x*mask; dx += dy*mask */
    void (*dropout_mask)(int64_t n, float p, uint64_t seed, float *mask);
    void (*dropout_forward)(int64_t n, const float *mask, const float *x, float *y);
    void (*dropout_backward)(int64_t n, const float *mask, const float *dy, float *dx);
    /* y (rows,d) = x / ||x||, norm (rows) = ||x|| (may be NULL);
     * backward dx += (dy - y (y.dy)) / norm + dnorm * y, dnorm may be NULL */
    void (*l2norm_forward)(int64_t rows, int d, const float *x, float *y, float *norm);
    void (*l2norm_backward)(int64_t rows, int d, const float *y, const float *norm, const float *dy,
                            const float *dnorm, float *dx);
} lqf_backend;

/* The CPU backend (backend/cpu/). */
const lqf_backend *lqf_backend_cpu(void);
/* The backend of code that has no executor at hand (heads, optimisers, CLI) and of new
 * executors: the CPU one unless lqf_backend_set_default chose another (NULL: back to CPU). */
const lqf_backend *lqf_backend_default(void);
void lqf_backend_set_default(const lqf_backend *b);

#endif
