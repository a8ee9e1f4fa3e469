/*
 * quality.h — a per-image quality signal for quality-adaptive margins (AdaFace's margin,
 * QGFace's gates) that does not come from the network: the Laplacian energy of the face,
 * the sharpness measure of low-resolution face-recognition studies. Blurred, upsampled or
 * heavily compressed faces have little high-frequency content and score low.
 *
 * Definition (lqface's, fixed here so that every caller and test agrees):
 *   Y(i,j)  = 0.299 R + 0.587 G + 0.114 B, in grey levels 0..255 (floats, no rounding);
 *   L(i,j)  = Y(i-1,j) + Y(i+1,j) + Y(i,j-1) + Y(i,j+1) - 4 Y(i,j), the 4-neighbour
 *             Laplacian with OpenCV's BORDER_REFLECT_101 (cv2.Laplacian(Y, CV_32F, ksize=1));
 *   E       = mean over all pixels of L^2;
 *   quality = log(1 + E).
 * The log keeps the value in a few units (aligned 112x112 LFW crops: 4.6-6.0 as they are,
 * 2.4-2.8 after a trip through 28 px, 1.4-1.7 through 14 px), inside AdaFace's [0.001, 100]
 * clip, and makes the batch statistics less dominated by a few very sharp images.
 */
#ifndef LQF_QUALITY_H
#define LQF_QUALITY_H

#include "core/core.h"

/* quality of one 8-bit image (h, w, 3) in channel order `order` (w, h >= 2). */
double lqf_laplacian_quality_u8(const uint8_t *img, int w, int h, lqf_channel_order order);
/* The same on a normalised float image (h, w, 3), x = (pixel - mean[c]) / std[c], as the
 * loader makes them: the pixels are recovered before the measure. */
double lqf_laplacian_quality_f32(const float *x, int w, int h, lqf_channel_order order,
                                 const float mean[3], const float std[3]);
/* Per image of a normalised NHWC batch (n, h, w, 3): q (n). */
lqf_status lqf_laplacian_quality_batch(const float *x, int n, int w, int h, lqf_channel_order order,
                                       const float mean[3], const float std[3], float *q);

#endif
