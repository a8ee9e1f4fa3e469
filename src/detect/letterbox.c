/*
 * letterbox.c — the detector's input preparation: the letterbox that resizes the image
 * (image/resize.c, bit-identical to cv2.resize INTER_LINEAR, the reference every
 * YuNet/RetinaFace user feeds the network with) into the top-left corner of a zero SxS
 * canvas and writes float input in a chosen channel order.
 */
#include "detect/yunet.h"
#include "core/core.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

void lqf_letterbox_size(int w, int h, int S, int *nw, int *nh, float *scale) {
    double s = LQF_MIN((double)S / w, (double)S / h);
    int a = (int)(w * s + 0.5), b = (int)(h * s + 0.5);
    *nw = LQF_MAX(1, LQF_MIN(S, a));
    *nh = LQF_MAX(1, LQF_MIN(S, b));
    *scale = (float)s;
}

lqf_status lqf_letterbox_strided(const lqf_image *img, int S, lqf_channel_order order, const float mean[3],
                                 float *out, const int64_t strides[3], float *scale) {
    if (!img || !img->data || img->width <= 0 || img->height <= 0 || !out || S <= 0 || !strides || !scale)
        return lqf_fail(LQF_ERR_ARG, "letterbox: invalid image or size");
    if (img->channels != 3)
        return lqf_fail(LQF_ERR_SHAPE, "letterbox: expected a 3-channel image, got %d channels",
                        img->channels);
    int nw, nh;
    float sc;
    lqf_letterbox_size(img->width, img->height, S, &nw, &nh, &sc);
    uint8_t *rs = malloc((size_t)nw * nh * 3);
    if (!rs) return lqf_fail(LQF_ERR_NOMEM, "letterbox: out of memory (%dx%d)", nw, nh);
    lqf_status st = lqf_resize_linear_u8(img->data, img->width, img->height, 3, rs, nw, nh);
    if (st != LQF_OK) {
        free(rs);
        return st;
    }
    const int swap = img->order != order;
    const int64_t cs = strides[0], ys = strides[1], xs = strides[2];
    float m[3];
    for (int k = 0; k < 3; k++) m[k] = mean ? mean[k] : 0.f;
#pragma omp parallel for if ((size_t)S * S > 65536) schedule(static)
    for (int y = 0; y < S; y++) {
        float *row = out + y * ys;
        int x = 0;
        if (y < nh) {
            const uint8_t *r = rs + (size_t)y * nw * 3;
            for (; x < nw; x++)
                for (int k = 0; k < 3; k++) row[x * xs + k * cs] = (float)r[3 * x + (swap ? 2 - k : k)] - m[k];
        }
        for (; x < S; x++)
            for (int k = 0; k < 3; k++) row[x * xs + k * cs] = -m[k];
    }
    free(rs);
    *scale = sc;
    return LQF_OK;
}

lqf_status lqf_letterbox(const lqf_image *img, int S, lqf_channel_order order, const float mean[3],
                         float *out, float *scale) {
    const int64_t planar[3] = {(int64_t)S * S, S, 1};
    return lqf_letterbox_strided(img, S, order, mean, out, planar, scale);
}
