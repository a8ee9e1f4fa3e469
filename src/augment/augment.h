/*
 * augment.h — the random low-quality augmentations of face-recognition training, on 8-bit
 * HWC aligned faces (112x112): AdaFace's low-resolution (shrink to side U(lo,hi)*size and
 * enlarge back with one of OpenCV's five interpolations), cross-resolution batches (a fixed
 * share of each batch at chosen resolutions), Gaussian and motion blur, additive noise, JPEG
 * re-encoding, colour jitter (torchvision ColorJitter formulas), AdaFace's random crop
 * (RandomResizedCrop parameters, the crop pasted back onto a zero canvas at its place) and
 * the horizontal flip. Each augmentation has its own probability and range in one config
 * struct; presets give AdaFace's recipe and QGFace's low-quality view.
 *
 * Determinism: every random draw comes from an lqf_rng seeded per sample by
 * lqf_augment_seed(seed, epoch, index), so a sample's augmentation never depends on which
 * thread handles it or in what order. Resolution loss, blur, noise and JPEG reuse
 * augment/degrade.h; this file adds what the evaluation sweeps do not need.
 *
 * Not here: the face-alignment-error (ARoFace) warp, which acts on the landmarks or inside
 * the training graph.
 */
#ifndef LQF_AUGMENT_H
#define LQF_AUGMENT_H

#include "augment/degrade.h"

/* ===================================================================== resizing */
/* OpenCV's interpolation codes (cv2.INTER_*), in the order AdaFace draws them from. */
typedef enum {
    LQF_INTERP_NEAREST = 0, /* cv2.INTER_NEAREST: src = floor(dst * in/out) */
    LQF_INTERP_LINEAR = 1,  /* cv2.INTER_LINEAR: lqf_resize_bilinear */
    LQF_INTERP_CUBIC = 2,   /* cv2.INTER_CUBIC: Keys a = -0.75, 4x4 taps, replicated border */
    LQF_INTERP_AREA = 3,    /* cv2.INTER_AREA: box averaging down (lqf_resize_area); up: OpenCV's
                               area-upscale linear weights */
    LQF_INTERP_LANCZOS4 = 4,/* cv2.INTER_LANCZOS4: 8x8 taps, replicated border */
    LQF_INTERP_COUNT = 5
} lqf_interp;
#define LQF_INTERP_ALL 0x1fu /* mask of all five */

const char *lqf_interp_name(lqf_interp m);
/* cv2.resize(src, (ow, oh), interpolation=m) on 3-channel 8-bit images, in OpenCV's 11-bit
 * fixed point (within 1 grey level of cv2). src (h,w,3), dst (oh,ow,3); they must not alias. */
lqf_status lqf_resize_interp(const uint8_t *src, int w, int h, uint8_t *dst, int ow, int oh, lqf_interp m);

/* ===================================================================== single operations */
/* AdaFace low resolution: shrink to (side, side) with interpolation down and enlarge back
 * to the image size with interpolation up. In place. */
lqf_status lqf_augment_lowres(lqf_image *img, int side, lqf_interp down, lqf_interp up);

/* Motion-blur kernel (len x len, len odd >= 1): an anti-aliased line segment of length len-1
 * through the centre at angle_deg (0 = horizontal, counter-clockwise in image coordinates
 * with y down means clockwise on screen), weight(p) = max(0, 1 - distance(p, segment)),
 * normalised to sum 1. k: len*len floats, row-major. */
void lqf_motion_kernel(int len, double angle_deg, float *k);
/* Correlate img with a k x k float kernel (cv2.filter2D: reflect-101 border, anchor at the
 * centre, rounded and saturated). In place. */
lqf_status lqf_filter2d(lqf_image *img, const float *kernel, int ksize);
lqf_status lqf_augment_motion_blur(lqf_image *img, int len, double angle_deg);

/* torchvision ColorJitter's adjustments on uint8 (functional_tensor.py): brightness
 * clamp(f*x), contrast clamp(f*x + (1-f)*mean(grey)), saturation clamp(f*x + (1-f)*grey),
 * grey = uint8(0.2989 R + 0.587 G + 0.114 B) (truncated), results truncated to uint8 as
 * torch's .to(uint8). Channel order is taken from img->order. In place. (AdaFace calls them
 * on PIL images, whose integer arithmetic rounds slightly differently, and on BGR arrays with
 * RGB grey weights; lqface uses the tensor formulas and the true channel order.) */
void lqf_adjust_brightness(lqf_image *img, float f);
void lqf_adjust_contrast(lqf_image *img, float f);
void lqf_adjust_saturation(lqf_image *img, float f);

/* torchvision RandomResizedCrop.get_params on a width x height image, from pre-drawn
 * uniforms in [0,1): try t (t < 10) consumes u[4t..4t+3] = area scale, log-ratio, row, column
 * (torch.randint(0, n) realised as floor(u*n)); after 10 failed tries the centre-crop
 * fallback. out = {i (top row), j (left column), h, w}. */
void lqf_rrc_params(int width, int height, double scale_lo, double scale_hi, double ratio_lo,
                    double ratio_hi, const double u[40], int out[4]);
/* Zero everything outside rows [i, i+h) and columns [j, j+w) (AdaFace: the crop pasted
 * back on a zero canvas at its location). In place. */
void lqf_crop_paste(lqf_image *img, int i, int j, int h, int w);
void lqf_hflip(lqf_image *img);

/* ===================================================================== random recipe */
typedef struct {
    /* AdaFace low resolution (augmenter.py low_res_augmentation): side = (int)(U(lowres_lo,
     * lowres_hi) * height) (at least 1); the shrinking and the enlarging interpolation are drawn
     * independently, each uniformly among the set bits of interp_mask (bit i = lqf_interp i). */
    float p_lowres, lowres_lo, lowres_hi;
    unsigned interp_mask;
    /* Cross-resolution batches: the first round(cross_share * batch) positions of every batch
     * (the batch is already shuffled) go down to cross_res[pos % n_cross] pixels with area
     * averaging and back with bilinear (lqf_degrade_resolution), as the evaluation sweeps. */
    float cross_share;
    int n_cross, cross_res[8];
    float p_gblur, gblur_lo, gblur_hi;    /* Gaussian blur, sigma U(lo, hi) pixels */
    float p_mblur;                        /* motion blur, length uniform odd in [lo, hi], */
    int mblur_lo, mblur_hi;               /* angle U(0, 180) degrees */
    float p_jitter;                       /* colour jitter: factors U(max(0,1-b), 1+b) etc., */
    float brightness, contrast, saturation; /* applied in a random order (torchvision) */
    float p_noise, noise_lo, noise_hi;    /* additive Gaussian noise, sigma U(lo, hi) grey levels */
    float p_jpeg;                         /* JPEG re-encoding, quality uniform integer in */
    int jpeg_lo, jpeg_hi;                 /* [lo, hi] */
    float p_crop, crop_scale_lo, crop_scale_hi, crop_ratio_lo, crop_ratio_hi; /* AdaFace crop */
    float p_flip;                         /* horizontal flip */
} lqf_augment_config;

/* Everything off (a loader with this config only decodes and normalises). */
void lqf_augment_preset_none(lqf_augment_config *c);
/* AdaFace (augmenter.py): crop p 0.2 (scale 0.2-1, ratio 3/4-4/3), low resolution p 0.2
 * (side 0.2-1, five interpolations), colour jitter p 0.2 (0.5, 0.5, 0.5), flip p 0.5. */
void lqf_augment_preset_adaface(lqf_augment_config *c);
/* QGFace's low-quality view: rescale to 0.1-0.5 of the side and back (p 1, bilinear), JPEG
 * quality 75 (p 1), flip p 0.5. (QGFace's HQ view is flip only.) */
void lqf_augment_preset_qgface_lq(lqf_augment_config *c);

/* Which augmentations fired (bits of lqf_augment_apply's result). */
enum {
    LQF_AUG_CROP = 1 << 0,
    LQF_AUG_LOWRES = 1 << 1,
    LQF_AUG_CROSSRES = 1 << 2,
    LQF_AUG_GBLUR = 1 << 3,
    LQF_AUG_MBLUR = 1 << 4,
    LQF_AUG_JITTER = 1 << 5,
    LQF_AUG_NOISE = 1 << 6,
    LQF_AUG_JPEG = 1 << 7,
    LQF_AUG_FLIP = 1 << 8,
};

/* The per-sample generator seed: a hash of (seed, epoch, index). */
uint64_t lqf_augment_seed(uint64_t seed, uint64_t epoch, uint64_t index);

/* Apply the recipe to one image in place, in the order crop, low resolution, cross
 * resolution, Gaussian blur, motion blur, colour jitter, noise, JPEG, flip. Every gate draws
 * one uniform whether or not it fires (and the parameters only when it fires), so the draws
 * are a pure function of the generator's state. batch_pos/batch_size place the sample in its
 * batch for cross resolution (batch_size 0: no cross resolution). fired (may be NULL)
 * receives LQF_AUG_* bits. */
lqf_status lqf_augment_apply(const lqf_augment_config *c, lqf_image *img, lqf_rng *rng, int batch_pos,
                             int batch_size, unsigned *fired);

#endif
