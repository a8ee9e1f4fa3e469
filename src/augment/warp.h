/*
 * warp.h — the differentiable similarity warp of ARoFace (adversarial face-alignment-error
 * augmentation, spec/algorithms.md §1) at kernel level: affine_grid and bilinear grid_sample
 * exactly as torch.nn.functional's (align_corners=False; padding 'zeros' or 'border'), the
 * similarity parameterisation (s, theta, tx, ty) -> 2x3 matrix, ARoFace's whole warp in one
 * call (the reference's 1-px pad quirk or a corrected variant), each with its backward, and
 * the adversarial search's bookkeeping as pure functions: random start, signed-gradient
 * ascent with the reference's clipping box, and the clean/warped mixing of the batch.
 *
 * Layout: images are channels-last (N,H,W,C) like the rest of lqface; grids are (N,H,W,2)
 * with [..,0] = x (width axis) and [..,1] = y (height axis) in normalised [-1,1] coordinates;
 * matrices are (N,2,3) row-major; warp parameters are (N,4) = (s, theta [radians], tx, ty),
 * translations in normalised coordinates (t = 0.1 is 5.6 px at 112 px).
 * Kernels do not allocate (scratch comes from the matching *_scratch function), never fail
 * (shapes are the caller's contract) and thread with OpenMP over the batch.
 *
 * How the training engine drives it: lqf_aro_augment() runs one iteration of AdvWarp.py
 * (random start, k signed-ascent steps, final warp, mixing) and asks the engine for dL/dwarped
 * through a callback (forward + backward of backbone and head, no parameter update). Spelled
 * out, with the pieces below:
 *     lqf_aro_random_start(B, cfg.init_std, rng, p0)
 *     lqf_aro_search(&cfg, &shape, img, p0, grad_fn, ctx, p, warped, scratch):
 *         p = p0; k times: warp(p) -> grad_fn -> lqf_aro_warp_backward -> lqf_aro_ascent_step
 *         then warped = warp(p)
 *     lqf_randperm(rng, B, perm1); lqf_randperm(rng, B, perm2)
 *     lqf_aro_mix_select(B, cfg.ratio, perm1, perm2, idx1, &n1, idx2, &n2)
 *     lqf_aro_mix_gather(...) -> the batch (n1 + n2 images) the real step trains on.
 * The training engine (src/train/run.c, lqf_train_step) supplies grad_fn (trainer forward in
 * training mode, head forward_backward, trainer backward, no update) and calls
 * lqf_aro_augment before its normal step; BatchNorm uses batch statistics and updates its
 * running statistics on each of the k search forwards, as the reference does.
 * tests/test_warp.c checks the kernels with a closed-form loss; tests/test_aroface_step.c
 * one whole step on a real network against a torch reimplementation of AdvWarp.py.
 */
#ifndef LQF_WARP_H
#define LQF_WARP_H

#include "augment/degrade.h"
#include "core/core.h"

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ affine grid */
/* grid (N,H,W,2) = theta (N,2,3) applied to the pixel centres of an HxW image in normalised
 * coordinates, x_j = (2j+1)/W - 1, y_i = (2i+1)/H - 1 (affine_grid, align_corners=False).
 * The float32 rounding follows torch 1.13's CPU path (its linspace kernel, then a fused
 * multiply-add per matrix entry), so grids agree with torch's bit for bit in practice
 * (checked on 64 sizes from 1x1 to 127x300: all but 49 of 769k values, those in a last bit
 * of grids under 9 px wide); see torch_base_coord in warp.c for why it matters. */
void lqf_affine_grid_forward(int n, int h, int w, const float *theta, float *grid);
/* dtheta (N,2,3) = sum over pixels of dgrid (N,H,W,2) (x) (x_j, y_i, 1). Overwrites dtheta. */
void lqf_affine_grid_backward(int n, int h, int w, const float *dgrid, float *dtheta);

/* ------------------------------------------------------------------ grid sampling */
typedef enum {
    LQF_GRID_PAD_ZEROS = 0,  /* taps outside the image read 0 */
    LQF_GRID_PAD_BORDER = 1, /* coordinates are clamped to the image (edge pixels repeat) */
} lqf_grid_padding;

typedef struct {
    int n, c;         /* batch, channels */
    int hin, win;     /* input  x  (N,Hin,Win,C) */
    int h, w;         /* grid (N,H,W,2), output y (N,H,W,C) */
    lqf_grid_padding pad;
} lqf_grid_sample_shape;

/* y = bilinear sample of x at grid, align_corners=False: pixel coordinate
 * u = ((gx + 1) * Win/2) - 0.5 (likewise v), as torch's grid_sample. A NaN coordinate
 * samples 0 (and gets no gradient). */
void lqf_grid_sample_forward(const lqf_grid_sample_shape *s, const float *x, const float *grid,
                             float *y);
/* Backward of the above given dy (N,H,W,C): dx (N,Hin,Win,C) and dgrid (N,H,W,2), both
 * overwritten; either may be NULL when not wanted. 'border' gives no grid gradient where a
 * coordinate is clamped, nor where it lies exactly on the first/last pixel centre (torch's
 * rule: "borders are considered out of bounds"). */
void lqf_grid_sample_backward(const lqf_grid_sample_shape *s, const float *x, const float *grid,
                              const float *dy, float *dx, float *dgrid);

/* ------------------------------------------------------------------ similarity */
/* M (N,2,3) = [[s cos th, -s sin th, tx], [s sin th, s cos th, ty]] from params (N,4).
 * cos and sin are computed as torch 1.13 does on an AVX2 CPU (SLEEF's 1-ulp functions, not
 * libm's), so M agrees with torch's bit for bit for |th| < 125 (see warp.c). */
void lqf_similarity_forward(int n, const float *params, float *M);
/* dparams (N,4) = dL/d(s, th, tx, ty) from dM (N,2,3). Overwrites dparams. */
void lqf_similarity_backward(int n, const float *params, const float *dM, float *dparams);

/* ------------------------------------------------------------------ ARoFace's warp */
typedef enum {
    /* AdvWarp.py as written: pad the (normalised) image by 1 px of value -1, build the grid
     * for the UNPADDED HxW size and sample the (H+2)x(W+2) tensor with 'border' padding, so
     * even the identity zooms out by (W+2)/W and shows a thin black (-1) rim. */
    LQF_ARO_WARP_REFERENCE = 0,
    /* No padding, grid for the true size, 'zeros' padding: identity is exact, uncovered
     * areas read 0 (mid-grey in (x/255-0.5)/0.5 units). */
    LQF_ARO_WARP_CORRECTED = 1,
} lqf_aro_warp_mode;

typedef struct {
    int n, h, w, c; /* image and warped output (N,H,W,C) */
    lqf_aro_warp_mode mode;
} lqf_aro_warp_shape;

/* Floats of scratch for lqf_aro_warp_forward/backward (the backward needs the most; the
 * same size serves both). */
size_t lqf_aro_warp_scratch(const lqf_aro_warp_shape *s);
/* out (N,H,W,C) = warp of img (N,H,W,C) by params (N,4). */
void lqf_aro_warp_forward(const lqf_aro_warp_shape *s, const float *img, const float *params,
                          float *out, float *scratch);
/* Given dout (N,H,W,C): dparams (N,4) and dimg (N,H,W,C), both overwritten, either may be
 * NULL. img is needed for dparams only (may be NULL when dparams is NULL). */
void lqf_aro_warp_backward(const lqf_aro_warp_shape *s, const float *img, const float *params,
                           const float *dout, float *dimg, float *dparams, float *scratch);

/* ------------------------------------------------------------------ adversarial search */
typedef enum {
    LQF_ARO_PRESET_REFERENCE = 0, /* AdvWarp.py as written: t upper bound theta0 + 0.3 (bug),
                                     reference warp (pad quirk), k = 1 */
    LQF_ARO_PRESET_FIXED = 1,     /* t upper bound t0 + 0.3, corrected warp, k = 1 */
} lqf_aro_preset;

typedef struct {
    lqf_aro_warp_mode warp;
    int fixed_clip;             /* 0: t in [t0-bt, theta0+bt] (reference); 1: [t0-bt, t0+bt] */
    float eta_s, eta_theta, eta_t; /* ascent step sizes (0.1 each) */
    float s_lo, s_hi;           /* s in [s0 - s_lo, s0 + s_hi]  (0.5, 1.5) */
    float b_theta;              /* theta in [theta0 - b, theta0 + b] (0.8) */
    float b_t;                  /* t lower bound t0 - b (0.3); upper bound see fixed_clip */
    float init_std;             /* std of the random start around (1, 0, 0, 0) (0.01) */
    int k;                      /* ascent steps (1) */
    double ratio;               /* clean fraction of the mixed batch (0.75) */
} lqf_aro_config;

void lqf_aro_config_preset(lqf_aro_config *c, lqf_aro_preset preset);
/* LQF_ERR_ARG naming the bad field (negative steps or bounds, k < 1, ratio outside [0,1]). */
lqf_status lqf_aro_config_check(const lqf_aro_config *c);

/* p0 (N,4): s0 ~ N(1, std^2), theta0 ~ N(0, std^2), (tx0, ty0) ~ N(0, std^2). Draw order
 * mirrors AdvWarp.py (all s, then all theta, then tx,ty per sample); the numbers are
 * lqf_rng's, not numpy's. */
void lqf_aro_random_start(int n, double std, lqf_rng *rng, float *p0);
/* One signed ascent step in float32 as AdvWarp.py: p <- p + eta * sign(grad) (sign(0) = 0),
 * then per parameter p <- min(max(p, lo), hi) around the start p0 (N,4) (when lo > hi, which
 * the reference bug allows for t, hi wins, as torch.min(torch.max(..)) does). grad (N,4). */
void lqf_aro_ascent_step(const lqf_aro_config *c, int n, const float *p0, const float *grad,
                         float *p);

/* perm (n): a uniformly random permutation of 0..n-1 (Fisher-Yates on lqf_rng). */
void lqf_randperm(lqf_rng *rng, int n, int *perm);
/* Mixing indices of AdvWarp.py: n1 = int(B*ratio), n2 = int(B*(1-ratio)) (double arithmetic
 * as Python; n1 + n2 may be B-1), idx1 = perm1[:n1] (clean), idx2 = perm2[:n2] (warped).
 * LQF_ERR_ARG when ratio is outside [0,1] or a perm is not a permutation of 0..B-1. */
lqf_status lqf_aro_mix_select(int b, double ratio, const int *perm1, const int *perm2, int *idx1,
                              int *n1, int *idx2, int *n2);
/* out = cat(clean[idx1], warped[idx2]) over samples of `sample` floats each, labels likewise
 * (out_labels may be NULL). out holds (n1+n2) samples. */
void lqf_aro_mix_gather(size_t sample, const float *clean, const float *warped, const int *labels,
                        const int *idx1, int n1, const int *idx2, int n2, float *out,
                        int *out_labels);

/* ------------------------------------------------------------------ the search, wired */
/* The engine's loss backward: given the warped batch (N,H,W,C), write dL/dwarped (same shape)
 * for the current labels (held in ctx). Must not update parameters. */
typedef lqf_status (*lqf_aro_grad_fn)(void *ctx, int n, const float *warped, float *dwarped);

/* Floats of scratch for lqf_aro_search. */
size_t lqf_aro_search_scratch(const lqf_aro_warp_shape *s);
/* AdvWarp.py's search from the start p0 (N,4): c->k steps of warp, grad_fn, backward to the
 * parameters and lqf_aro_ascent_step; then warped (N,H,W,C) = warp of img by the final p
 * (N,4), which must not alias p0 (the clipping box stays around the start). The warp mode is
 * s->mode (normally c->warp). Errors: lqf_aro_config_check's, or grad_fn's status (with
 * context). */
lqf_status lqf_aro_search(const lqf_aro_config *c, const lqf_aro_warp_shape *s, const float *img,
                          const float *p0, lqf_aro_grad_fn grad_fn, void *ctx, float *p, float *warped,
                          float *scratch);

/* One whole AdvWarp.py augmentation of a batch img (B,H,W,C) with labels (B): random start
 * from rng, lqf_aro_search with c->warp, two permutations from rng, mixing. Writes
 * *n_out = int(B*ratio) + int(B*(1-ratio)) samples to out (B,H,W,C capacity) and out_labels
 * (B capacity); params_out (B,4, may be NULL) receives the final warp parameters. out must
 * not alias img. Allocates its buffers (LQF_ERR_NOMEM). */
lqf_status lqf_aro_augment(const lqf_aro_config *c, int b, int h, int w, int ch, const float *img,
                           const int *labels, lqf_rng *rng, lqf_aro_grad_fn grad_fn, void *ctx,
                           float *out, int *out_labels, int *n_out, float *params_out);

#endif
