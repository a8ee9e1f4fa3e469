/*
 * yunet.h — internal pieces of lqface's face detectors, exposed so they can be tested without
 * the network engine: the letterbox (bit-exact cv2.resize INTER_LINEAR into the top-left of
 * a zero SxS canvas), the pure YuNet decode + NMS over the 12 raw output arrays, the
 * RetinaFace decode over its 3 outputs, and the greedy NMS itself (OpenCV NMSBoxes rules).
 * Not public API: the public detector is lqf_detector_load / lqf_detect in lqface.h.
 */
#ifndef LQF_DETECT_YUNET_H
#define LQF_DETECT_YUNET_H

#include "lqface.h"
#include "image/resize.h"

/* Size of the resized image inside an SxS letterbox canvas: scale = min(S/w, S/h),
 * nw = round(w*scale), nh = round(h*scale), both clamped to [1, S]. */
void lqf_letterbox_size(int w, int h, int S, int *nw, int *nh, float *scale);


/* Letterbox img into out, planar (3,S,S) floats (NCHW of one image) in channel order
 * `order`: the resized image sits in the top-left corner of a zero canvas, and every canvas
 * value then has mean[c] subtracted (mean NULL = none; padding becomes -mean[c]).
 * *scale receives min(S/w, S/h); image coordinates = network coordinates / scale. */
lqf_status lqf_letterbox(const lqf_image *img, int S, lqf_channel_order order, const float mean[3],
                         float *out, float *scale);
/* The same into any layout: element (channel k, row y, column x) at
 * out[k*strides[0] + y*strides[1] + x*strides[2]] (NHWC: {1, 3*S, 3}). */
lqf_status lqf_letterbox_strided(const lqf_image *img, int S, lqf_channel_order order, const float mean[3],
                                 float *out, const int64_t strides[3], float *scale);

/* Greedy NMS with cv2.dnn.NMSBoxes semantics over boxes (n,4) = x, y, width, height:
 * candidates with score >= score_thr, stable-sorted by descending score, cut to top_k
 * (<= 0: all), each kept if its IoU (areas without +1, computed in double) with every kept box
 * is <= nms_thr. keep receives indices into boxes (capacity n); returns how many, or -1 when
 * out of memory. */
int lqf_nms(const float *boxes, const float *scores, int n, float score_thr, float nms_thr, int top_k,
            int *keep);

/* lqf_nms over n candidates (boxes (n,4) x,y,w,h, scores (n), landmarks lms (n,10), all in
 * network input pixels), then the kept ones as faces in image pixels (divided by scale):
 * *faces malloc'd (left NULL, *nf untouched when none is kept). keep: scratch of n ints. */
lqf_status lqf_nms_faces(const float *boxes, const float *scores, const float *lms, int n, float score_thr,
                         float nms_thr, int top_k, float scale, int *keep, lqf_face **faces, int *nf);

/* Decode the 12 raw YuNet outputs of one SxS image, in the ONNX file's order:
 * outs[0..2] cls_8/16/32 (N_s), outs[3..5] obj (N_s), outs[6..8] bbox (N_s,4),
 * outs[9..11] kps (N_s,10), N_s = (S/s)^2 for strides s = 8,16,32, rows row-major over the
 * (S/s)x(S/s) grid. Boxes and landmarks are divided by `scale` (letterbox scale).
 * *faces is malloc'd (NULL when *n = 0), sorted by descending score. */
lqf_status lqf_yunet_decode(const float *const outs[12], int S, float score_thr, float nms_thr,
                            int top_k, float scale, lqf_face **faces, int *n);

/* RetinaFace (biubug6/Pytorch_Retinaface) priors for an SxS input: min sizes {16,32},
 * {64,128}, {256,512} at steps 8, 16, 32 over ceil(S/step) feature maps; (cx, cy, w, h)
 * normalised by S, in the reference's order (row, column, then min size). Returns the prior
 * count; priors NULL = only count. */
int lqf_retina_priors(int S, float *priors);

/* Decode RetinaFace outputs of one SxS image: loc (P,4), conf (P,2) softmax scores (face =
 * column 1), landm (P,10); variances 0.1, 0.2; box = (prior centre + loc*0.1*prior size,
 * prior size * exp(loc*0.2)), landmarks likewise, then pixels of the SxS input divided by
 * `scale`. NMS as lqf_nms over (x1, y1, w, h) in input pixels. */
lqf_status lqf_retina_decode(const float *loc, const float *conf, const float *landm, int S,
                             float score_thr, float nms_thr, int top_k, float scale,
                             lqf_face **faces, int *n);

#endif
