/*
 * pipeline.c — one photo to one aligned face: load, detect, choose the face the caller
 * wants (centre-most, best score or largest), align to the ArcFace template. Shared by
 * `lqface embed/compare/align` and the evaluation protocols so they all see the same crops.
 */
#include "core/core.h"

#include <math.h>
#include <stdlib.h>

static int pick_face(const lqf_face *f, int n, lqf_face_pick pick, int w, int h) {
    int best = 0;
    double best_v = -INFINITY;
    for (int i = 0; i < n; i++) {
        double v;
        if (pick == LQF_PICK_SCORE) {
            v = f[i].score;
        } else if (pick == LQF_PICK_LARGEST) {
            v = (double)(f[i].x2 - f[i].x1) * (f[i].y2 - f[i].y1);
        } else {
            double cx = 0.5 * (f[i].x1 + f[i].x2) - 0.5 * w, cy = 0.5 * (f[i].y1 + f[i].y2) - 0.5 * h;
            v = -(cx * cx + cy * cy);
        }
        if (v > best_v) {
            best_v = v;
            best = i;
        }
    }
    return best;
}

lqf_status lqf_load_aligned_face(lqf_detector *det, const char *path, lqf_face_pick pick, int size,
                                 lqf_channel_order order, lqf_image **crop, lqf_face *face) {
    *crop = NULL;
    lqf_image *img = NULL;
    lqf_status st = lqf_image_load(path, order, &img);
    if (st) return st;
    if (!det) {
        if (img->width != size || img->height != size) {
            int w = img->width, h = img->height;
            lqf_image_free(img);
            return lqf_fail(LQF_ERR_SHAPE, "%s: aligned faces must be %dx%d, this image is %dx%d", path, size,
                            size, w, h);
        }
        *crop = img;
        return LQF_OK;
    }
    lqf_face *faces = NULL;
    int n = 0;
    st = lqf_detect(det, img, &faces, &n);
    if (st) {
        lqf_image_free(img);
        return lqf_fail_context(st, "%s", path);
    }
    if (n == 0) {
        lqf_image_free(img);
        free(faces);
        return lqf_fail(LQF_ERR_NOFACE, "%s: no face found", path);
    }
    int k = pick_face(faces, n, pick, img->width, img->height);
    if (face) *face = faces[k];
    st = lqf_align_face(img, faces[k].landmarks, size, crop);
    free(faces);
    lqf_image_free(img);
    if (st) return lqf_fail_context(st, "%s", path);
    return LQF_OK;
}
