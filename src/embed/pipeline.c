/*
 * pipeline.c — one photo to one aligned face: load, detect, choose the face the caller
 * wants (centre-most, best score or largest), align to the ArcFace template. Shared by
 * `lqface embed/compare/align` and the evaluation protocols so they all see the same crops
 * (lqf_detect_align, embed.h, is the same step on a photo already decoded).
 */
#include "embed/embed.h"

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
    st = lqf_detect_align(det, img, path, pick, size, crop, face);
    lqf_image_free(img);
    return st;
}

lqf_status lqf_detect_align(lqf_detector *det, const lqf_image *img, const char *name, lqf_face_pick pick,
                            int size, lqf_image **crop, lqf_face *face) {
    *crop = NULL;
    lqf_face *faces = NULL;
    int n = 0;
    lqf_status st = lqf_detect(det, img, &faces, &n);
    if (st) return lqf_fail_context(st, "%s", name);
    if (n == 0) {
        free(faces);
        return lqf_fail(LQF_ERR_NOFACE, "%s: no face found", name);
    }
    int k = pick_face(faces, n, pick, img->width, img->height);
    if (face) *face = faces[k];
    st = lqf_align_face(img, faces[k].landmarks, size, crop);
    free(faces);
    if (st) return lqf_fail_context(st, "%s", name);
    return LQF_OK;
}
