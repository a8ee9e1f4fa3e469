/*
 * align.h — internal side of face alignment (src/align/align.c; the public warp and
 * alignment are in lqface.h): the alignment matrix alone, the source rectangle a warp reads,
 * and the warp of a window cut from a larger photo, so a caller can keep only the part of a
 * photo that re-alignments need (the face set's FAE conditions) and still get the bytes a
 * warp of the whole photo gives.
 */
#ifndef LQF_ALIGN_H
#define LQF_ALIGN_H

#include "core/core.h"

/* The similarity lqf_align_face warps with: landmarks -> ArcFace template scaled to size. */
lqf_status lqf_align_matrix(const float landmarks[10], int size, double M[6]);

/* Source rectangle [box[0], box[2]) x [box[1], box[3]) (x0, y0, x1, y1; may reach outside
 * the source) that holds every bilinear tap lqf_warp_affine reads for an out_w x out_h
 * output of M. LQF_ERR_NUMERIC for a matrix lqf_warp_affine refuses. */
lqf_status lqf_warp_footprint(const double M[6], int out_w, int out_h, int box[4]);

/* lqf_warp_affine of a window: win holds the pixels [ox, ox + win->width) x [oy, oy +
 * win->height) of a source photo (ox, oy >= 0) and M maps photo coordinates to the output.
 * The offset is applied in the warp's fixed point, so the output equals lqf_warp_affine on
 * the whole photo whenever the window holds the part of lqf_warp_footprint(M) that lies
 * inside the photo. */
lqf_status lqf_warp_affine_window(const lqf_image *win, int ox, int oy, const double M[6], int out_w, int out_h,
                                  lqf_image **out);

#endif
