/*
 * align.c — face alignment: the ArcFace 5-point template, the least-squares similarity
 * transform between point sets (Umeyama without reflection, as skimage's
 * SimilarityTransform.estimate and insightface's norm_crop compute it), and an affine
 * warp with bilinear sampling that reproduces cv2.warpAffine(INTER_LINEAR,
 * BORDER_CONSTANT 0) bit for bit: the inverse map is evaluated in OpenCV's fixed point
 * (coordinates in 1/1024 px, rounded to 1/32 px) and the four taps are blended with
 * 10-bit integer weights. Rows run in parallel (OpenMP) for outputs of 32k pixels or more;
 * with AVX2, blocks of 8 pixels whose taps all lie inside the source are gathered and
 * blended in vector registers; elsewhere the scalar path reads 0 for taps off the source.
 * The warp also runs on a window cut from a photo (align.h): the window's origin is an
 * integer offset of the fixed-point source coordinates, so the bytes do not change.
 *
 * Not here: landmark detection (src/detect) and the differentiable float warp used for
 * training (src/augment).
 */
#if defined(__GNUC__) && !defined(__clang__)
/* The fixed-point map must round exactly as OpenCV's (non-fused) double arithmetic. */
#pragma GCC optimize("fp-contract=off")
#endif
#include "align/align.h"

#include <math.h>
#include <string.h>
#if defined(__AVX2__) || defined(__SSE2__)
#include <immintrin.h>
#endif

const float lqf_arcface_template[10] = {38.2946f, 51.6963f, 73.5318f, 51.5014f, 56.0252f,
                                        71.7366f, 41.5493f, 92.3655f, 70.7299f, 92.2041f};

/* ====================================================================== similarity */

/* Closed form of Umeyama's estimate in 2-D. With demeaned points p (src) and q (dst) and
 * A = sum q p^T, the best rotation maximises trace(R^T A), i.e. angle atan2(A21 - A12,
 * A11 + A22), and the scale is r / sum|p|^2 with r = sqrt((A11+A22)^2 + (A21-A12)^2),
 * which equals Umeyama's trace(S D) (the sum of A's singular values, the smaller one
 * negated when det A < 0). */
lqf_status lqf_similarity_estimate(const float *src, const float *dst, int npoints, double M[6]) {
    if (!src || !dst || !M) return lqf_fail(LQF_ERR_ARG, "lqf_similarity_estimate: NULL argument");
    if (npoints < 2) return lqf_fail(LQF_ERR_ARG, "lqf_similarity_estimate: need >= 2 points, got %d", npoints);
    double sx = 0, sy = 0, dx = 0, dy = 0;
    for (int i = 0; i < npoints; i++) {
        if (!isfinite(src[2 * i]) || !isfinite(src[2 * i + 1]) || !isfinite(dst[2 * i]) ||
            !isfinite(dst[2 * i + 1]))
            return lqf_fail(LQF_ERR_NUMERIC, "lqf_similarity_estimate: point %d is not finite", i);
        sx += src[2 * i];
        sy += src[2 * i + 1];
        dx += dst[2 * i];
        dy += dst[2 * i + 1];
    }
    sx /= npoints, sy /= npoints, dx /= npoints, dy /= npoints;
    double a = 0, b = 0, var = 0; /* a = A11 + A22, b = A21 - A12, var = sum |p|^2 */
    for (int i = 0; i < npoints; i++) {
        double px = src[2 * i] - sx, py = src[2 * i + 1] - sy;
        double qx = dst[2 * i] - dx, qy = dst[2 * i + 1] - dy;
        a += qx * px + qy * py;
        b += qy * px - qx * py;
        var += px * px + py * py;
    }
    double r = sqrt(a * a + b * b);
    if (!(var > 0) || !(r > 0))
        return lqf_fail(LQF_ERR_ARG, "lqf_similarity_estimate: degenerate points (all coincide)");
    double c = a / r, s = b / r, scale = r / var;
    M[0] = scale * c;
    M[1] = -scale * s;
    M[3] = scale * s;
    M[4] = scale * c;
    M[2] = dx - (M[0] * sx + M[1] * sy);
    M[5] = dy - (M[3] * sx + M[4] * sy);
    return LQF_OK;
}

/* ====================================================================== warp */

enum { AB_BITS = 10, AB_SCALE = 1 << AB_BITS, INTER_BITS = 5, INTER_TAB = 1 << INTER_BITS };

/* cvRound: round to nearest, ties to even (the current rounding mode), like OpenCV. */
static inline int round_int(double v) {
#if defined(__SSE2__)
    return _mm_cvtsd_si32(_mm_set_sd(v));
#else
    return (int)lrint(v);
#endif
}

static inline int sat_short(int v) { return v < -32768 ? -32768 : v > 32767 ? 32767 : v; }

/* One output pixel (3 channels) from source tap (sx, sy) with 1/32 fractions fx, fy.
 * Taps outside the source read 0. src: (sh, sw, 3) bytes. */
static inline void warp_px(const uint8_t *src, int sw, int sh, uint8_t *dst, int sx, int sy, int fx, int fy) {
    size_t stride = (size_t)sw * 3;
    /* weights in 1/1024: OpenCV's 15-bit table entries divided by 32 (exact) */
    int w00 = (INTER_TAB - fx) * (INTER_TAB - fy), w01 = fx * (INTER_TAB - fy);
    int w10 = (INTER_TAB - fx) * fy, w11 = fx * fy;
    if ((unsigned)sx < (unsigned)(sw - 1) && (unsigned)sy < (unsigned)(sh - 1)) {
        const uint8_t *p = src + sy * stride + (size_t)sx * 3, *q = p + stride;
        for (int k = 0; k < 3; k++)
            dst[k] = (uint8_t)((p[k] * w00 + p[k + 3] * w01 + q[k] * w10 + q[k + 3] * w11 + 512) >> 10);
    } else if (sx >= sw || sx + 1 < 0 || sy >= sh || sy + 1 < 0) {
        dst[0] = dst[1] = dst[2] = 0;
    } else {
        /* partly outside: taps beyond the border read 0 */
        static const uint8_t zero[3] = {0, 0, 0};
        int x0in = sx >= 0, x1in = sx + 1 < sw, y0in = sy >= 0, y1in = sy + 1 < sh;
        const uint8_t *row0 = src + (ptrdiff_t)sy * (ptrdiff_t)stride, *row1 = row0 + stride;
        const uint8_t *v00 = x0in && y0in ? row0 + (size_t)sx * 3 : zero;
        const uint8_t *v01 = x1in && y0in ? row0 + (size_t)(sx + 1) * 3 : zero;
        const uint8_t *v10 = x0in && y1in ? row1 + (size_t)sx * 3 : zero;
        const uint8_t *v11 = x1in && y1in ? row1 + (size_t)(sx + 1) * 3 : zero;
        for (int k = 0; k < 3; k++)
            dst[k] = (uint8_t)((v00[k] * w00 + v01[k] * w01 + v10[k] * w10 + v11[k] * w11 + 512) >> 10);
    }
}

#if defined(__AVX2__)
/* Eight interior pixels at once: 32-bit gathers fetch each tap's 3 bytes (+1 spare byte,
 * so the caller keeps the very last source pixel out of this path), 16-bit pairs of
 * (tap, weight) are blended with madd, and the results are packed back to 24 bytes.
 * The arithmetic is the scalar path's, so the bytes are identical. */
static inline void warp_px8(const uint8_t *src, int stride, uint8_t *dst, __m256i lin, __m256i fx, __m256i fy) {
    const __m256i one = _mm256_set1_epi32(INTER_TAB), lo8 = _mm256_set1_epi32(0xff);
    const __m256i hi8 = _mm256_set1_epi32(0xff0000), half = _mm256_set1_epi32(512);
    __m256i o = _mm256_add_epi32(lin, _mm256_add_epi32(lin, lin)); /* byte offset = 3 * pixel index */
    __m256i g00 = _mm256_i32gather_epi32((const int *)src, o, 1);
    __m256i g01 = _mm256_i32gather_epi32((const int *)(src + 3), o, 1);
    __m256i g10 = _mm256_i32gather_epi32((const int *)(src + stride), o, 1);
    __m256i g11 = _mm256_i32gather_epi32((const int *)(src + stride + 3), o, 1);
    __m256i ifx = _mm256_sub_epi32(one, fx), ify = _mm256_sub_epi32(one, fy);
    /* (w00 | w01 << 16) and (w10 | w11 << 16) */
    __m256i wa = _mm256_or_si256(_mm256_mullo_epi16(ifx, ify), _mm256_slli_epi32(_mm256_mullo_epi16(fx, ify), 16));
    __m256i wb = _mm256_or_si256(_mm256_mullo_epi16(ifx, fy), _mm256_slli_epi32(_mm256_mullo_epi16(fx, fy), 16));
    __m256i r[3];
#define LQF_CH(c)                                                                                    \
    do {                                                                                             \
        __m256i pa = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(g00, 8 * (c)), lo8),        \
                                     _mm256_and_si256(_mm256_slli_epi32(g01, 16 - 8 * (c)), hi8));  \
        __m256i pb = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(g10, 8 * (c)), lo8),        \
                                     _mm256_and_si256(_mm256_slli_epi32(g11, 16 - 8 * (c)), hi8));  \
        __m256i s = _mm256_add_epi32(_mm256_madd_epi16(pa, wa), _mm256_madd_epi16(pb, wb));         \
        r[c] = _mm256_srli_epi32(_mm256_add_epi32(s, half), 10);                                    \
    } while (0)
    LQF_CH(0);
    LQF_CH(1);
    LQF_CH(2);
#undef LQF_CH
    __m256i px = _mm256_or_si256(r[0], _mm256_or_si256(_mm256_slli_epi32(r[1], 8), _mm256_slli_epi32(r[2], 16)));
    /* 4 x (c0 c1 c2 0) per 128-bit half -> 12 packed bytes */
    const __m256i pack = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1, 0, 1, 2, 4, 5,
                                          6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
    px = _mm256_shuffle_epi8(px, pack);
    __m128i a = _mm256_castsi256_si128(px), b = _mm256_extracti128_si256(px, 1);
    _mm_storel_epi64((__m128i *)dst, a);
    uint32_t t = (uint32_t)_mm_extract_epi32(a, 2);
    memcpy(dst + 8, &t, 4);
    _mm_storel_epi64((__m128i *)(dst + 12), b);
    t = (uint32_t)_mm_extract_epi32(b, 2);
    memcpy(dst + 20, &t, 4);
}
#endif

/* One output row. sxs/sys/fxs/fys: per-pixel scratch of length w.
 * src: (sh, sw, 3) bytes; dst: (w, 3) bytes; X0,Y0: row offsets in 1/1024 px (with the
 * 1/64-px rounding offset already added); adelta/bdelta: per-column offsets. */
static void warp_row(const uint8_t *src, int sw, int sh, uint8_t *dst, int w, int X0, int Y0,
                     const int *adelta, const int *bdelta, int *sxs, int *sys, int *fxs, int *fys) {
    /* fixed-point source coordinates: integer part and 1/32 fraction (vectorises) */
    for (int x = 0; x < w; x++) {
        int X = (X0 + adelta[x]) >> (AB_BITS - INTER_BITS);
        int Y = (Y0 + bdelta[x]) >> (AB_BITS - INTER_BITS);
        sxs[x] = sat_short(X >> INTER_BITS);
        sys[x] = sat_short(Y >> INTER_BITS);
        fxs[x] = X & (INTER_TAB - 1);
        fys[x] = Y & (INTER_TAB - 1);
    }
    int x = 0;
#if defined(__AVX2__)
    /* blocks of 8 whose taps all lie inside, excluding the last source pixel (see warp_px8) */
    const __m256i vsw = _mm256_set1_epi32(sw), minus1 = _mm256_set1_epi32(-1);
    const __m256i xlim = _mm256_set1_epi32(sw - 1), ylim = _mm256_set1_epi32(sh - 1);
    const __m256i last = _mm256_set1_epi32((sh - 2) * sw + sw - 2);
    for (; x + 8 <= w; x += 8) {
        __m256i sx = _mm256_loadu_si256((const __m256i *)(sxs + x));
        __m256i sy = _mm256_loadu_si256((const __m256i *)(sys + x));
        __m256i lin = _mm256_add_epi32(_mm256_mullo_epi32(sy, vsw), sx);
        __m256i in = _mm256_and_si256(_mm256_and_si256(_mm256_cmpgt_epi32(sx, minus1), _mm256_cmpgt_epi32(xlim, sx)),
                                      _mm256_and_si256(_mm256_cmpgt_epi32(sy, minus1), _mm256_cmpgt_epi32(ylim, sy)));
        in = _mm256_andnot_si256(_mm256_cmpeq_epi32(lin, last), in);
        if (_mm256_movemask_epi8(in) == -1) {
            warp_px8(src, sw * 3, dst + 3 * x, lin, _mm256_loadu_si256((const __m256i *)(fxs + x)),
                     _mm256_loadu_si256((const __m256i *)(fys + x)));
        } else {
            for (int k = x; k < x + 8; k++) warp_px(src, sw, sh, dst + 3 * k, sxs[k], sys[k], fxs[k], fys[k]);
        }
    }
#endif
    for (; x < w; x++) warp_px(src, sw, sh, dst + 3 * x, sxs[x], sys[x], fxs[x], fys[x]);
}

/* cv::warpAffine's inverse of M (a singular M maps to 0); LQF_ERR_NUMERIC when M is not
 * finite or the fixed-point source coordinates (1/1024 px in an int) could overflow. */
static lqf_status inverse_map(const double M[6], int out_w, int out_h, double iM[6]) {
    for (int i = 0; i < 6; i++)
        if (!isfinite(M[i])) return lqf_fail(LQF_ERR_NUMERIC, "lqf_warp_affine: matrix is not finite");
    double D = M[0] * M[4] - M[1] * M[3];
    D = D != 0 ? 1. / D : 0;
    iM[0] = M[4] * D;
    iM[1] = M[1] * -D;
    iM[3] = M[3] * -D;
    iM[4] = M[0] * D;
    iM[2] = -iM[0] * M[2] - iM[1] * M[5];
    iM[5] = -iM[3] * M[2] - iM[4] * M[5];
    double reach = fabs(iM[2]) + fabs(iM[5]) + (fabs(iM[0]) + fabs(iM[3])) * out_w +
                   (fabs(iM[1]) + fabs(iM[4])) * out_h;
    if (!(reach < 1e6))
        return lqf_fail(LQF_ERR_NUMERIC, "lqf_warp_affine: transform maps outside +-1e6 px (singular?)");
    return LQF_OK;
}

lqf_status lqf_warp_footprint(const double M[6], int out_w, int out_h, int box[4]) {
    double iM[6];
    lqf_status st = inverse_map(M, out_w, out_h, iM);
    if (st) return st;
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int k = 0; k < 4; k++) {
        double x = k & 1 ? out_w - 1 : 0, y = k & 2 ? out_h - 1 : 0;
        for (int a = 0; a < 2; a++) {
            double v = iM[3 * a] * x + iM[3 * a + 1] * y + iM[3 * a + 2];
            lo[a] = fmin(lo[a], v), hi[a] = fmax(hi[a], v);
        }
    }
    /* the fixed-point tap is floor(v + 1/64 +- 2/1024) and its right/lower neighbour is read
     * too: one pixel of slack on each side covers both */
    for (int a = 0; a < 2; a++) {
        box[a] = (int)floor(lo[a]) - 2;
        box[a + 2] = (int)floor(hi[a]) + 3;
    }
    return LQF_OK;
}

static lqf_status warp(const lqf_image *src, int ox, int oy, const double M[6], int out_w, int out_h,
                       lqf_image **out) {
    if (!out) return lqf_fail(LQF_ERR_ARG, "lqf_warp_affine: out is NULL");
    *out = NULL;
    if (!src || !src->data || src->channels != 3 || src->width <= 0 || src->height <= 0 || !M)
        return lqf_fail(LQF_ERR_ARG, "lqf_warp_affine: source is not a 3-channel image");
    if (out_w <= 0 || out_h <= 0 || out_w > 32767 || out_h > 32767)
        return lqf_fail(LQF_ERR_ARG, "lqf_warp_affine: bad output size %dx%d", out_w, out_h);
    if (ox < 0 || oy < 0) return lqf_fail(LQF_ERR_ARG, "lqf_warp_affine: window origin (%d, %d) is negative", ox, oy);
    if (src->width > 32767 - ox || src->height > 32767 - oy)
        return lqf_fail(LQF_ERR_UNSUPPORTED, "lqf_warp_affine: source %dx%d exceeds 32767 px", src->width + ox,
                        src->height + oy);
    double iM[6];
    lqf_status st = inverse_map(M, out_w, out_h, iM);
    if (st) return st;

    lqf_image *dst;
    st = lqf_image_create(out_w, out_h, src->order, &dst);
    if (st) return st;
    int *adelta = malloc(sizeof(int) * (size_t)out_w * 2);
    if (!adelta) {
        lqf_image_free(dst);
        return lqf_fail(LQF_ERR_NOMEM, "lqf_warp_affine: out of memory");
    }
    int *bdelta = adelta + out_w;
    for (int x = 0; x < out_w; x++) {
        adelta[x] = round_int(iM[0] * x * AB_SCALE);
        bdelta[x] = round_int(iM[3] * x * AB_SCALE);
    }
    /* the window's origin moves the source coordinates by whole pixels (exact in fixed point) */
    const int round_delta = AB_SCALE / INTER_TAB / 2, shift_x = ox * AB_SCALE, shift_y = oy * AB_SCALE;
    int fail = 0;
#pragma omp parallel if ((size_t)out_w * out_h >= ((size_t)1 << 15))
    {
        int *scratch = malloc(sizeof(int) * (size_t)out_w * 4);
        if (!scratch) {
#pragma omp atomic write
            fail = 1;
        }
#pragma omp for schedule(static)
        for (int y = 0; y < out_h; y++) {
            if (!scratch) continue;
            int X0 = round_int((iM[1] * y + iM[2]) * AB_SCALE) + round_delta - shift_x;
            int Y0 = round_int((iM[4] * y + iM[5]) * AB_SCALE) + round_delta - shift_y;
            warp_row(src->data, src->width, src->height, dst->data + (size_t)y * out_w * 3, out_w, X0, Y0,
                     adelta, bdelta, scratch, scratch + out_w, scratch + 2 * out_w, scratch + 3 * out_w);
        }
        free(scratch);
    }
    free(adelta);
    if (fail) {
        lqf_image_free(dst);
        return lqf_fail(LQF_ERR_NOMEM, "lqf_warp_affine: out of memory");
    }
    *out = dst;
    return LQF_OK;
}

lqf_status lqf_warp_affine(const lqf_image *src, const double M[6], int out_w, int out_h, lqf_image **out) {
    return warp(src, 0, 0, M, out_w, out_h, out);
}

lqf_status lqf_warp_affine_window(const lqf_image *win, int ox, int oy, const double M[6], int out_w, int out_h,
                                  lqf_image **out) {
    return warp(win, ox, oy, M, out_w, out_h, out);
}

lqf_status lqf_align_face(const lqf_image *src, const float landmarks[10], int size, lqf_image **out) {
    if (!out) return lqf_fail(LQF_ERR_ARG, "lqf_align_face: out is NULL");
    *out = NULL;
    if (!landmarks) return lqf_fail(LQF_ERR_ARG, "lqf_align_face: landmarks is NULL");
    if (size <= 0 || size > 4096) return lqf_fail(LQF_ERR_ARG, "lqf_align_face: bad crop size %d", size);
    double M[6];
    lqf_status st = lqf_align_matrix(landmarks, size, M);
    if (st) return lqf_fail_context(st, "lqf_align_face");
    return lqf_warp_affine(src, M, size, size, out);
}

lqf_status lqf_align_matrix(const float landmarks[10], int size, double M[6]) {
    float tmpl[10];
    float k = (float)size / 112.0f;
    for (int i = 0; i < 10; i++) tmpl[i] = lqf_arcface_template[i] * k;
    return lqf_similarity_estimate(landmarks, tmpl, 5, M);
}
