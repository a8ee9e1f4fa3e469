/*
 * ops.h — CPU kernels of lqface: free functions over plain float buffers with explicit
 * dimensions. Images are channels-last (N,H,W,C). Forward and backward of a layer sit side
 * by side in the same file (backward is added with training). Threads come from OpenMP;
 * dense products go through lqf_sgemm (oneDNN's JIT sgemm). No kernel allocates: callers
 * pass scratch sized by the matching *_scratch function.
 */
#ifndef LQF_OPS_H
#define LQF_OPS_H

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

/* ------------------------------------------------------------------ GEMM */
/* Row-major C(MxN) = alpha * op(A)(MxK) * op(B)(KxN) + beta * C. Threads: all. */
void lqf_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
               const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
               float *C, int64_t ldc);

/* ------------------------------------------------------------------ convolution */
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

void lqf_conv_shape_init(lqf_conv_shape *s); /* computes oh, ow */
/* Floats of packed weights for this shape, and packing from ONNX/PyTorch OIHW. */
size_t lqf_conv_weight_size(const lqf_conv_shape *s);
void lqf_conv_pack_weights(const lqf_conv_shape *s, const float *w_oihw, float *w_packed);
void lqf_conv_unpack_weights(const lqf_conv_shape *s, const float *w_packed, float *w_oihw);
/* Scratch floats needed by lqf_conv2d_forward. */
size_t lqf_conv2d_scratch(const lqf_conv_shape *s);
/* y = epilogue(conv(x, w) + b); x (N,H,W,Cin), y (N,OH,OW,Cout), b (Cout) or NULL. */
void lqf_conv2d_forward(const lqf_conv_shape *s, const float *x, const float *w_packed,
                        const float *b, const lqf_epilogue *ep, float *y, float *scratch);
int64_t lqf_conv_macs(const lqf_conv_shape *s); /* per image */

/* ------------------------------------------------------------------ pooling / resize */
typedef struct {
    int n, h, w, c, oh, ow;
    int kh, kw, sh, sw, pt, pl, pb, pr, ceil_mode;
} lqf_pool_shape;
void lqf_pool_shape_init(lqf_pool_shape *s); /* computes oh, ow (ONNX rules incl. ceil_mode) */
void lqf_maxpool_forward(const lqf_pool_shape *s, const float *x, float *y); /* NHWC */
/* Nearest-neighbour upsampling by integer factors, NHWC. */
void lqf_resize_nearest(int n, int h, int w, int c, int sh, int sw, const float *x, float *y);

/* ------------------------------------------------------------------ elementwise */
/* Per-channel activation over (rows, C) channels-last data, in place allowed. */
void lqf_act_forward(lqf_act act, const float *slope, int slope_shared, float alpha,
                     int64_t rows, int c, const float *x, float *y);
void lqf_exp_forward(int64_t n, const float *x, float *y);

typedef enum { LQF_BIN_ADD, LQF_BIN_SUB, LQF_BIN_MUL, LQF_BIN_DIV } lqf_binop;
/* y = a (op) b with numpy broadcasting over logical dims; views carry physical strides
 * (a dim of extent 1 broadcasts). All three views have the same ndim. */
void lqf_binary(lqf_binop op, const lqf_view *va, const float *a, const lqf_view *vb,
                const float *b, const lqf_view *vy, float *y);

/* ------------------------------------------------------------------ layout */
/* Copy element-by-element between two views with the same logical dims. Transpose,
 * reshape of a non-contiguous tensor, concat and layout changes are all built on this. */
void lqf_copy_view(const lqf_view *src, const float *x, const lqf_view *dst, float *y);
/* Dense row-major strides for dims; channels-last strides for a 4-D logical NCHW. */
void lqf_view_dense(lqf_view *v, int ndim, const int64_t *dims);
void lqf_view_nhwc(lqf_view *v, const int64_t dims_nchw[4]);

/* ------------------------------------------------------------------ reductions */
/* Softmax along logical axis, views of equal dims (x and y may alias). */
void lqf_softmax(const lqf_view *v, int axis, const float *x, float *y);
/* Sum over the axes flagged in mask (bit i = logical axis i); vy has extent 1 there. */
void lqf_reduce_sum(const lqf_view *vx, const float *x, unsigned mask, const lqf_view *vy, float *y);

#endif
