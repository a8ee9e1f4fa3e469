/*
 * cpu.h — the CPU backend's kernels (backend/cpu/): free functions over plain float buffers
 * with explicit dimensions, the implementations behind lqf_backend_cpu()'s table (their
 * contracts are documented there, in backend/backend.h). Images are channels-last (N,H,W,C).
 * Forward and backward of a layer sit side by side in the same file. Threads come from
 * OpenMP; dense products go through lqf_sgemm (oneDNN's JIT sgemm). No kernel allocates:
 * callers pass scratch sized by the matching *_scratch function. Only backend/cpu/ and the
 * kernel tests (tests/test_ops.c) call these names; everything else goes through a table.
 */
#ifndef LQF_BACKEND_CPU_H
#define LQF_BACKEND_CPU_H

#include "backend/backend.h"

/* ------------------------------------------------------------------ GEMM */
/* Row-major C(MxN) = alpha * op(A)(MxK) * op(B)(KxN) + beta * C. Threads: all. */
void lqf_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
               const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
               float *C, int64_t ldc);

/* ------------------------------------------------------------------ convolution */
/* Packing from ONNX/PyTorch OIHW. */
void lqf_conv_pack_weights(const lqf_conv_shape *s, const float *w_oihw, float *w_packed);
void lqf_conv_unpack_weights(const lqf_conv_shape *s, const float *w_packed, float *w_oihw);
/* Scratch floats needed by lqf_conv2d_forward. */
size_t lqf_conv2d_scratch(const lqf_conv_shape *s);
/* y = epilogue(conv(x, w) + b); x (N,H,W,Cin), y (N,OH,OW,Cout), b (Cout) or NULL. */
void lqf_conv2d_forward(const lqf_conv_shape *s, const float *x, const float *w_packed,
                        const float *b, const lqf_epilogue *ep, float *y, float *scratch);

/* ------------------------------------------------------------------ pooling / resize */
void lqf_maxpool_forward(const lqf_pool_shape *s, const float *x, float *y); /* NHWC */
/* Nearest-neighbour upsampling by integer factors, NHWC. */
void lqf_resize_nearest(int n, int h, int w, int c, int sh, int sw, const float *x, float *y);

/* ------------------------------------------------------------------ elementwise */
/* Per-channel activation over (rows, C) channels-last data, in place allowed. */
void lqf_act_forward(lqf_act act, const float *slope, int slope_shared, float alpha,
                     int64_t rows, int c, const float *x, float *y);
void lqf_exp_forward(int64_t n, const float *x, float *y);
/* y (n) = fn(x) elementwise; lo/hi: Clip's bounds. In place allowed. */
void lqf_unary_forward(lqf_unary_fn fn, float lo, float hi, int64_t n, const float *x, float *y);
/* y (n) += alpha * x. */
void lqf_axpy(int64_t n, float alpha, const float *x, float *y);

/* y = a (op) b with numpy broadcasting over logical dims; views carry physical strides
 * (a dim of extent 1 broadcasts). All three views have the same ndim. */
void lqf_binary(lqf_binop op, const lqf_view *va, const float *a, const lqf_view *vb,
                const float *b, const lqf_view *vy, float *y);

/* ------------------------------------------------------------------ layout */
/* Copy element-by-element between two views with the same logical dims. Transpose,
 * reshape of a non-contiguous tensor, concat and layout changes are all built on this. */
void lqf_copy_view(const lqf_view *src, const float *x, const lqf_view *dst, float *y);
/* y = scale * x broadcast over vy (vx has vy's ndim; its extent-1 dims broadcast). */
void lqf_scale_broadcast(const lqf_view *vx, const float *x, float scale, const lqf_view *vy, float *y);

/* ------------------------------------------------------------------ reductions */
/* Softmax along logical axis, views of equal dims (x and y may alias). */
void lqf_softmax(const lqf_view *v, int axis, const float *x, float *y);
/* Sum over the axes flagged in mask (bit i = logical axis i); vy has extent 1 there. */
void lqf_reduce_sum(const lqf_view *vx, const float *x, unsigned mask, const lqf_view *vy, float *y);

/* ------------------------------------------------------------------ backward (training) */
/* Conventions: every backward kernel ADDS into its gradient outputs (dx, dW, db, ...), so
 * a tensor read by several nodes collects all contributions; callers zero gradients first.
 * Gradient pointers documented "may be NULL" are skipped. Layouts are the forward ones:
 * channels-last activations, packed convolution weights (gradients in the same packing).
 * Exception to "no kernel allocates": the per-channel reductions (BatchNorm, PReLU slope,
 * bias) allocate O(threads x C) doubles per call for their per-thread partial sums. */

/* Convolution (conv_backward.c). dy (N,OH,OW,Cout). Scratch floats for either call: */
size_t lqf_conv2d_backward_scratch(const lqf_conv_shape *s);
/* dx (N,H,W,Cin) += conv^T(dy, w). */
void lqf_conv2d_backward_data(const lqf_conv_shape *s, const float *dy, const float *w_packed,
                              float *dx, float *scratch);
/* dw (packed) += dL/dw from x (N,H,W,Cin) and dy; db (Cout) += sum dy (db may be NULL,
 * dw may be NULL for a bias-only update). */
void lqf_conv2d_backward_weights(const lqf_conv_shape *s, const float *x, const float *dy,
                                 float *dw_packed, float *db, float *scratch);
/* db (c) += column sums of dy (rows, c). */
void lqf_bias_backward(int64_t rows, int c, const float *dy, float *db);

/* BatchNorm over (rows, C) channels-last data: BN2d (rows = N*H*W) and BN1d (rows = N)
 * alike (norm.c). gamma/beta may be NULL (affine=False: 1 and 0). */
/* Training: batch statistics (biased variance normalises, unbiased updates the running
 * variance as PyTorch: r = (1-momentum)*r + momentum*stat); save_mean/save_invstd (C) keep
 * what backward needs; running_* may be NULL (no update). */
void lqf_bn_forward_train(int64_t rows, int c, const float *x, const float *gamma, const float *beta,
                          float eps, float momentum, float *running_mean, float *running_var,
                          float *save_mean, float *save_invstd, float *y);
/* Inference: running statistics. */
void lqf_bn_forward_infer(int64_t rows, int c, const float *x, const float *gamma, const float *beta,
                          const float *mean, const float *var, float eps, float *y);
/* Backward of the training form (the batch statistics depend on x). dx, dgamma, dbeta may be NULL. */
void lqf_bn_backward_train(int64_t rows, int c, const float *x, const float *dy, const float *gamma,
                           const float *save_mean, const float *save_invstd, float *dx,
                           float *dgamma, float *dbeta);
/* Backward of the inference form (fixed statistics). */
void lqf_bn_backward_infer(int64_t rows, int c, const float *x, const float *dy, const float *gamma,
                           const float *mean, const float *var, float eps, float *dx,
                           float *dgamma, float *dbeta);

/* Activations over (rows, C), x = the activation's INPUT (act_backward.c): dx += dy*f'(x);
 * PReLU: dslope (C, or 1 when slope_shared) += sum over x<=0 of dy*x. dslope may be NULL. */
void lqf_act_backward(lqf_act act, const float *slope, int slope_shared, float alpha, int64_t rows,
                      int c, const float *x, const float *dy, float *dx, float *dslope);

/* Linear (linear.c): y (N,out) = x (N,in) * W^T + b, W (out,in) as PyTorch; b may be NULL. */
void lqf_linear_forward(int64_t n, int in, int out, const float *x, const float *w, const float *b,
                        float *y);
/* dx (N,in) += dy W; dw (out,in) += dy^T x; db += column sums of dy. Any may be NULL. */
void lqf_linear_backward(int64_t n, int in, int out, const float *x, const float *w, const float *dy,
                         float *dx, float *dw, float *db);
/* Dropout: mask (n) holds 0 or 1/(1-p) (the kept scale), y = x * mask; backward dx += dy*mask.
 * lqf_dropout_mask draws the mask from a seeded generator (same seed, same mask). */
void lqf_dropout_mask(int64_t n, float p, uint64_t seed, float *mask);
void lqf_dropout_forward(int64_t n, const float *mask, const float *x, float *y);
void lqf_dropout_backward(int64_t n, const float *mask, const float *dy, float *dx);
/* Row L2 normalisation: y (rows,d) = x / ||x||, norm (rows) = ||x|| (AdaFace returns both).
 * Backward: dx += (dy - y (y.dy)) / norm + dnorm * y; dnorm may be NULL. */
void lqf_l2norm_forward(int64_t rows, int d, const float *x, float *y, float *norm);
void lqf_l2norm_backward(int64_t rows, int d, const float *y, const float *norm, const float *dy,
                         const float *dnorm, float *dx);

/* Max pooling (pool_backward.c): dx (N,H,W,C) += dy routed to the first maximum of each
 * window in scan order (PyTorch's choice), recomputed from x. */
void lqf_maxpool_backward(const lqf_pool_shape *s, const float *x, const float *dy, float *dx);

#endif
