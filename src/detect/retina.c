/*
 * retina.c — RetinaFace (MobileNet-0.25, biubug6/Pytorch_Retinaface) prior boxes and output
 * decoding, as pure functions over raw float arrays, the second detector kind behind
 * lqf_detector_load. The network (input BGR minus (104,117,123)) predicts, per prior, box
 * offsets `loc`, softmax scores `conf` (column 1 = face) and 10 landmark offsets `landm`,
 * decoded with variances 0.1 (centres, landmarks) and 0.2 (log sizes) as in the reference's
 * utils/box_utils.py; NMS is lqface's (lqf_nms, OpenCV rules), not the reference's +1 areas.
 */
#include "detect/yunet.h"
#include "core/core.h"

#include <math.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

static const int retina_steps[3] = {8, 16, 32};
static const int retina_min_sizes[3][2] = {{16, 32}, {64, 128}, {256, 512}};

int lqf_retina_priors(int S, float *priors) {
    int n = 0;
    for (int k = 0; k < 3; k++) {
        const int step = retina_steps[k], fm = (S + step - 1) / step;
        for (int i = 0; i < fm; i++)
            for (int j = 0; j < fm; j++)
                for (int m = 0; m < 2; m++) {
                    if (priors) {
                        /* computed in double like the Python reference, stored as float32 */
                        double s = (double)retina_min_sizes[k][m] / S;
                        float *p = priors + 4 * (size_t)n;
                        p[0] = (float)((j + 0.5) * step / S);
                        p[1] = (float)((i + 0.5) * step / S);
                        p[2] = (float)s;
                        p[3] = (float)s;
                    }
                    n++;
                }
    }
    return n;
}

lqf_status lqf_retina_decode(const float *loc, const float *conf, const float *landm, int S,
                             float score_thr, float nms_thr, int top_k, float scale,
                             lqf_face **faces, int *n) {
    if (!loc || !conf || !landm || !faces || !n || S <= 0 || !(scale > 0))
        return lqf_fail(LQF_ERR_ARG, "retinaface decode: invalid arguments (S=%d, scale=%g)", S, scale);
    *faces = NULL;
    *n = 0;
    const int P = lqf_retina_priors(S, NULL);
    int ncand = 0;
    for (int p = 0; p < P; p++) ncand += conf[2 * (size_t)p + 1] >= score_thr;
    if (ncand == 0) return LQF_OK;
    float *priors = malloc(sizeof(float) * 4 * (size_t)P);
    float *boxes = malloc(sizeof(float) * 15 * (size_t)ncand);
    int *keep = malloc(sizeof(int) * (size_t)ncand);
    if (!priors || !boxes || !keep) {
        free(priors);
        free(boxes);
        free(keep);
        return lqf_fail(LQF_ERR_NOMEM, "retinaface decode: out of memory (%d candidates)", ncand);
    }
    lqf_retina_priors(S, priors);
    float *scores = boxes + 4 * (size_t)ncand, *lms = scores + ncand;
    const float fS = (float)S, v0 = 0.1f, v1 = 0.2f;
    int j = 0;
    for (int p = 0; p < P; p++) {
        const float sc = conf[2 * (size_t)p + 1];
        if (!(sc >= score_thr)) continue;
        const float *pr = priors + 4 * (size_t)p, *l = loc + 4 * (size_t)p, *lm = landm + 10 * (size_t)p;
        float cx = pr[0] + l[0] * v0 * pr[2], cy = pr[1] + l[1] * v0 * pr[3];
        float w = pr[2] * expf(l[2] * v1), h = pr[3] * expf(l[3] * v1);
        float x1 = cx - w / 2.f, y1 = cy - h / 2.f;
        float x2 = w + x1, y2 = h + y1;
        float *b = boxes + 4 * (size_t)j;
        b[0] = x1 * fS;
        b[1] = y1 * fS;
        b[2] = x2 * fS - x1 * fS;
        b[3] = y2 * fS - y1 * fS;
        scores[j] = sc;
        for (int q = 0; q < 5; q++) {
            lms[10 * (size_t)j + 2 * q] = (pr[0] + lm[2 * q] * v0 * pr[2]) * fS;
            lms[10 * (size_t)j + 2 * q + 1] = (pr[1] + lm[2 * q + 1] * v0 * pr[3]) * fS;
        }
        j++;
    }
    lqf_status st = lqf_nms_faces(boxes, scores, lms, ncand, score_thr, nms_thr, top_k, scale, keep, faces, n);
    free(priors);
    free(boxes);
    free(keep);
    return st;
}
