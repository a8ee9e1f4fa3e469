/*
 * yunet.c — YuNet output decoding and greedy non-maximum suppression, as pure functions over
 * raw float arrays (no network, no image), so they are testable on dumped outputs.
 *
 * YuNet (libfacedetection.train, onnx/) emits, for strides s = 8, 16, 32 over an SxS input,
 * cls (N_s), obj (N_s), bbox (N_s,4) and kps (N_s,10) with N_s = (S/s)^2 anchors in
 * row-major grid order. Decoding (shared/README.md): anchor = (col*s, row*s), no +0.5;
 * centre = bbox[0:2]*s + anchor; size = exp(bbox[2:4])*s; landmark = kps*s + anchor;
 * score = sqrt(clamp(cls,0,1) * clamp(obj,0,1)). NMS follows cv2.dnn.NMSBoxes for Rect2d.
 */
#include "detect/yunet.h"
#include "core/core.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* Keep float rounding identical to the numpy reference (no fused multiply-add). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

/* ------------------------------------------------------------------ NMS */
typedef struct {
    float score;
    int idx;
} nms_cand;

/* Descending score; equal scores keep index order (std::stable_sort in OpenCV). */
static int cand_cmp(const void *pa, const void *pb) {
    const nms_cand *a = pa, *b = pb;
    if (a->score > b->score) return -1;
    if (a->score < b->score) return 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

/* OpenCV's rectOverlap(Rect2d a, Rect2d b) = 1 - jaccardDistance(a, b), boxes (x, y, w, h). */
static double rect_overlap(const float *pa, const float *pb) {
    double ax = pa[0], ay = pa[1], aw = pa[2], ah = pa[3];
    double bx = pb[0], by = pb[1], bw = pb[2], bh = pb[3];
    double Aa = aw * ah, Ab = bw * bh;
    if (Aa + Ab <= DBL_EPSILON) return 1.0; /* jaccard distance 0 */
    double iw = 0, ih = 0;
    if (!(aw <= 0 || ah <= 0 || bw <= 0 || bh <= 0)) {
        /* Rect_::operator&= as written in OpenCV 4.x */
        double xmin_x = ax < bx ? ax : bx, xmin_w = ax < bx ? aw : bw;
        double xmax_x = ax < bx ? bx : ax, xmax_w = ax < bx ? bw : aw;
        double ymin_y = ay < by ? ay : by, ymin_h = ay < by ? ah : bh;
        double ymax_y = ay < by ? by : ay, ymax_h = ay < by ? bh : ah;
        if (!((xmin_x < 0 && xmin_x + xmin_w < xmax_x) || (ymin_y < 0 && ymin_y + ymin_h < ymax_y))) {
            iw = LQF_MIN(xmin_w - (xmax_x - xmin_x), xmax_w);
            ih = LQF_MIN(ymin_h - (ymax_y - ymin_y), ymax_h);
            if (iw <= 0 || ih <= 0) iw = ih = 0;
        }
    }
    double Aab = iw * ih;
    double jd = 1.0 - Aab / (Aa + Ab - Aab);
    return 1.0 - jd;
}

int lqf_nms(const float *boxes, const float *scores, int n, float score_thr, float nms_thr, int top_k,
            int *keep) {
    nms_cand *c = malloc(sizeof(nms_cand) * (size_t)(n > 0 ? n : 1));
    if (!c) return -1;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (scores[i] >= score_thr) c[m++] = (nms_cand){scores[i], i};
    qsort(c, (size_t)m, sizeof *c, cand_cmp);
    if (top_k > 0 && top_k < m) m = top_k;
    int nk = 0;
    for (int i = 0; i < m; i++) {
        const float *b = boxes + 4 * (size_t)c[i].idx;
        int ok = 1;
        for (int k = 0; k < nk && ok; k++) {
            float ov = (float)rect_overlap(b, boxes + 4 * (size_t)keep[k]);
            ok = ov <= nms_thr;
        }
        if (ok) keep[nk++] = c[i].idx;
    }
    free(c);
    return nk;
}

lqf_status lqf_nms_faces(const float *boxes, const float *scores, const float *lms, int n, float score_thr,
                         float nms_thr, int top_k, float scale, int *keep, lqf_face **faces, int *nf) {
    int nk = lqf_nms(boxes, scores, n, score_thr, nms_thr, top_k, keep);
    if (nk < 0) return lqf_fail(LQF_ERR_NOMEM, "detect: out of memory in NMS (%d candidates)", n);
    if (nk == 0) return LQF_OK;
    lqf_face *f = malloc(sizeof(lqf_face) * (size_t)nk);
    if (!f) return lqf_fail(LQF_ERR_NOMEM, "detect: out of memory (%d faces)", nk);
    for (int i = 0; i < nk; i++) {
        const float *b = boxes + 4 * (size_t)keep[i];
        f[i].x1 = b[0] / scale;
        f[i].y1 = b[1] / scale;
        f[i].x2 = (b[0] + b[2]) / scale;
        f[i].y2 = (b[1] + b[3]) / scale;
        f[i].score = scores[keep[i]];
        for (int p = 0; p < 10; p++) f[i].landmarks[p] = lms[10 * (size_t)keep[i] + p] / scale;
    }
    *faces = f;
    *nf = nk;
    return LQF_OK;
}

/* ------------------------------------------------------------------ YuNet decode */
static const int yunet_strides[3] = {8, 16, 32};

lqf_status lqf_yunet_decode(const float *const outs[12], int S, float score_thr, float nms_thr,
                            int top_k, float scale, lqf_face **faces, int *n) {
    if (!outs || !faces || !n || S <= 0 || S % 32 != 0 || !(scale > 0))
        return lqf_fail(LQF_ERR_ARG, "yunet decode: invalid arguments (S=%d, scale=%g)", S, scale);
    *faces = NULL;
    *n = 0;
    for (int i = 0; i < 12; i++)
        if (!outs[i]) return lqf_fail(LQF_ERR_ARG, "yunet decode: output %d is NULL", i);
    /* Pass 1: count candidates. */
    int ncand = 0;
    for (int l = 0; l < 3; l++) {
        const int cols = S / yunet_strides[l], na = cols * cols;
        for (int a = 0; a < na; a++) {
            float cls = LQF_MIN(LQF_MAX(outs[l][a], 0.f), 1.f);
            float obj = LQF_MIN(LQF_MAX(outs[3 + l][a], 0.f), 1.f);
            if (sqrtf(cls * obj) >= score_thr) ncand++;
        }
    }
    if (ncand == 0) return LQF_OK;
    /* Pass 2: boxes (x1, y1, w, h), scores, landmarks of the candidates, in anchor order. */
    float *boxes = malloc(sizeof(float) * 15 * (size_t)ncand);
    int *keep = malloc(sizeof(int) * (size_t)ncand);
    if (!boxes || !keep) {
        free(boxes);
        free(keep);
        return lqf_fail(LQF_ERR_NOMEM, "yunet decode: out of memory (%d candidates)", ncand);
    }
    float *scores = boxes + 4 * (size_t)ncand, *lms = scores + ncand;
    int j = 0;
    for (int l = 0; l < 3; l++) {
        const int s = yunet_strides[l], cols = S / s, na = cols * cols;
        const float fs = (float)s;
        const float *cl = outs[l], *ob = outs[3 + l], *bb = outs[6 + l], *kp = outs[9 + l];
        for (int a = 0; a < na; a++) {
            float cls = LQF_MIN(LQF_MAX(cl[a], 0.f), 1.f);
            float obj = LQF_MIN(LQF_MAX(ob[a], 0.f), 1.f);
            float sc = sqrtf(cls * obj);
            if (!(sc >= score_thr)) continue;
            const float ax = (float)((a % cols) * s), ay = (float)((a / cols) * s);
            const float *r = bb + 4 * (size_t)a, *k = kp + 10 * (size_t)a;
            float cx = r[0] * fs + ax, cy = r[1] * fs + ay;
            float bw = expf(r[2]) * fs, bh = expf(r[3]) * fs;
            float *b = boxes + 4 * (size_t)j;
            b[0] = cx - bw / 2.f;
            b[1] = cy - bh / 2.f;
            b[2] = bw;
            b[3] = bh;
            scores[j] = sc;
            for (int p = 0; p < 5; p++) {
                lms[10 * (size_t)j + 2 * p] = k[2 * p] * fs + ax;
                lms[10 * (size_t)j + 2 * p + 1] = k[2 * p + 1] * fs + ay;
            }
            j++;
        }
    }
    lqf_status st = lqf_nms_faces(boxes, scores, lms, ncand, score_thr, nms_thr, top_k, scale, keep, faces, n);
    free(boxes);
    free(keep);
    return st;
}
