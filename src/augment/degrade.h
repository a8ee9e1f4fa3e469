/*
 * degrade.h — image degradations of low-quality face recognition, on 8-bit HWC images:
 * resolution loss (area-averaging down, bilinear back up, as cv2.resize INTER_AREA then
 * INTER_LINEAR), Gaussian blur (cv2.GaussianBlur kernel rule), additive Gaussian noise, JPEG
 * re-encoding, and face-alignment error (a similarity perturbation of the 5 landmarks).
 * The evaluation sweeps apply them after alignment; the training augmentations reuse them.
 * Randomness comes from lqf_rng (core/rng.h), never from rand().
 */
#ifndef LQF_DEGRADE_H
#define LQF_DEGRADE_H

#include "core/core.h"
#include "core/rng.h" /* lqf_rng, which the degradations draw from */

/* 3-channel shorthands of image/resize.h (cv2.resize INTER_AREA / INTER_LINEAR). */
#include "image/resize.h"
void lqf_resize_bilinear(const uint8_t *src, int w, int h, uint8_t *dst, int ow, int oh);

/* Source index of positions -r .. n+r-1 with OpenCV's BORDER_REFLECT_101
 * (gfedcb|abcdefgh|gfedcba): tab[i + r]. malloc'd; NULL when out of memory. */
int *lqf_reflect101_table(int n, int r);

/* Down to r x r with area averaging, back to the original size with bilinear. In place. */
lqf_status lqf_degrade_resolution(lqf_image *img, int r);
/* Gaussian blur with sigma (kernel size as cv2 for 8-bit: 2*round(3 sigma)+1), reflect-101
 * borders. In place. sigma <= 0 is a no-op. */
lqf_status lqf_degrade_blur(lqf_image *img, double sigma);
/* Add N(0, sigma^2) noise per sample (grey levels), rounded and clipped. In place. */
void lqf_degrade_noise(lqf_image *img, double sigma, lqf_rng *rng);
/* JPEG encode at quality q and decode again. In place. */
lqf_status lqf_degrade_jpeg(lqf_image *img, int quality);

/* Face-alignment error: perturb the landmarks by a random similarity about their centroid,
 * measured in the size x size template frame: rotation U(-rot_deg, rot_deg), scale
 * 1 + U(-scale, scale), shift U(-shift_px, shift_px) per axis (template pixels). The
 * perturbed landmarks (in the source image frame) go to lqf_align_face as usual. */
void lqf_perturb_landmarks(const float lm[10], int size, double rot_deg, double scale, double shift_px,
                           lqf_rng *rng, float out[10]);

#endif
