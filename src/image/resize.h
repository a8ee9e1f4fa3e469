/*
 * resize.h — 8-bit interleaved image resizing with OpenCV's exact semantics, shared by the
 * detectors' letterbox, the degradations and the augmentations (one implementation each).
 */
#ifndef LQF_IMAGE_RESIZE_H
#define LQF_IMAGE_RESIZE_H

#include "lqface.h"

/* Bilinear resize, bit-identical to OpenCV 4.x cv2.resize with INTER_LINEAR (11-bit
 * fixed-point weights; an exact 2x downscale takes OpenCV's 2x2 average). src (h,w,c),
 * dst (nh,nw,c). */
lqf_status lqf_resize_linear_u8(const uint8_t *src, int w, int h, int c, uint8_t *dst, int nw, int nh);
/* cv2.resize INTER_AREA for 3-channel images: box/fractional-coverage averaging when
 * shrinking (OpenCV's 2x fast path rounds half up, other scales half to even); enlarging
 * falls back to bilinear. */
void lqf_resize_area(const uint8_t *src, int w, int h, uint8_t *dst, int ow, int oh);

#endif
