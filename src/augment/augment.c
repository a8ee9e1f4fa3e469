/*
 * augment.c — the training augmentations declared in augment.h: OpenCV's nearest, cubic,
 * Lanczos-4 and area-upscale resizing (linear and area-downscale come from degrade.c),
 * motion blur through a filter2D, torchvision's colour-jitter formulas, RandomResizedCrop
 * parameters with AdaFace's paste-back, the flip, and the random recipe that strings them
 * together under a per-sample generator.
 */
#include "augment/augment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define COEF_BITS 11
#define COEF_SCALE (1 << COEF_BITS)

static inline uint8_t sat_round(float v) { /* cv::saturate_cast<uchar>(float): round half even */
    long i = lrintf(v);
    return (uint8_t)(i < 0 ? 0 : i > 255 ? 255 : i);
}

static inline uint8_t sat_trunc(float v) { /* torch's float -> uint8 after clamp(0, 255) */
    v = v < 0 ? 0 : v > 255 ? 255 : v;
    return (uint8_t)v;
}

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

const char *lqf_interp_name(lqf_interp m) {
    static const char *names[] = {"nearest", "linear", "cubic", "area", "lanczos4"};
    return (unsigned)m < LQF_INTERP_COUNT ? names[m] : "?";
}

/* ===================================================================== resizing */
/* OpenCV's interpolateCubic (A = -0.75) and interpolateLanczos4, in float as OpenCV. */
static void cubic_coefs(float x, float c[4]) {
    const float A = -0.75f;
    c[0] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
    c[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
    c[2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
    c[3] = 1.f - c[0] - c[1] - c[2];
}

static void lanczos4_coefs(float x, float c[8]) {
    static const double s45 = 0.70710678118654752440084436210485;
    static const double cs[8][2] = {{1, 0}, {-s45, -s45}, {0, 1}, {s45, -s45},
                                    {-1, 0}, {s45, s45}, {0, -1}, {-s45, s45}};
    float sum = 0;
    double y0 = -(x + 3) * M_PI * 0.25, s0 = sin(y0), c0 = cos(y0);
    for (int i = 0; i < 8; i++) {
        float y0_ = (x + 3 - i);
        if (fabsf(y0_) >= 1e-6f) {
            double y = -y0_ * M_PI * 0.25;
            c[i] = (float)((cs[i][0] * s0 + cs[i][1] * c0) / (y * y));
        } else {
            c[i] = 1e30f;
        }
        sum += c[i];
    }
    sum = 1.f / sum;
    for (int i = 0; i < 8; i++) c[i] *= sum;
}

/* Taps of one axis as OpenCV's resizeGeneric computes them: for output o the source
 * indices first = sx - ksize/2 + 1 .. + ksize - 1 (clamped to the image at use) and the
 * fixed-point weights. area_mode: INTER_AREA when enlarging. */
static void axis_taps(int in, int out, lqf_interp m, int ksize, int *first, short *alpha) {
    double inv_scale = (double)out / in, scale = 1.0 / inv_scale;
    int k2 = ksize / 2;
    for (int o = 0; o < out; o++) {
        int sx;
        float fx;
        if (m != LQF_INTERP_AREA) {
            fx = (float)((o + 0.5) * scale - 0.5);
            sx = (int)floorf(fx);
            fx -= (float)sx;
        } else {
            sx = (int)floor(o * scale);
            fx = (float)((o + 1) - (sx + 1) * inv_scale);
            fx = fx <= 0 ? 0.f : fx - floorf(fx);
        }
        int smooth = m == LQF_INTERP_CUBIC || m == LQF_INTERP_LANCZOS4;
        if (sx < k2 - 1 && sx < 0 && !smooth) fx = 0, sx = 0;
        if (sx + k2 >= in && sx >= in - 1 && !smooth) fx = 0, sx = in - 1;
        float cb[8];
        if (m == LQF_INTERP_CUBIC) cubic_coefs(fx, cb);
        else if (m == LQF_INTERP_LANCZOS4) lanczos4_coefs(fx, cb);
        else cb[0] = 1.f - fx, cb[1] = fx;
        first[o] = sx - k2 + 1;
        for (int k = 0; k < ksize; k++) {
            long v = lrintf(cb[k] * COEF_SCALE);
            alpha[o * ksize + k] = (short)(v < -32768 ? -32768 : v > 32767 ? 32767 : v);
        }
    }
}

/* Separable fixed-point resize (cubic, Lanczos-4, area upscale): a horizontal pass into
 * int rows with replicated borders, then a vertical pass rounding as OpenCV's VResize*. */
static lqf_status resize_generic(const uint8_t *src, int w, int h, uint8_t *dst, int ow, int oh, lqf_interp m) {
    int ksize = m == LQF_INTERP_CUBIC ? 4 : m == LQF_INTERP_LANCZOS4 ? 8 : 2;
    int *xf = malloc(sizeof(int) * (size_t)ow), *yf = malloc(sizeof(int) * (size_t)oh);
    short *xa = malloc(sizeof(short) * (size_t)ow * ksize), *ya = malloc(sizeof(short) * (size_t)oh * ksize);
    int *rows = malloc(sizeof(int) * (size_t)ow * 3 * h); /* every source row, resized horizontally */
    if (!xf || !yf || !xa || !ya || !rows) {
        free(xf), free(yf), free(xa), free(ya), free(rows);
        return lqf_fail(LQF_ERR_NOMEM, "resize: out of memory for %dx%d -> %dx%d", w, h, ow, oh);
    }
    axis_taps(w, ow, m, ksize, xf, xa);
    axis_taps(h, oh, m, ksize, yf, ya);
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (size_t)y * w * 3;
        int *r = rows + (size_t)y * ow * 3;
        for (int x = 0; x < ow; x++)
            for (int c = 0; c < 3; c++) {
                int acc = 0;
                for (int k = 0; k < ksize; k++) acc += s[clampi(xf[x] + k, 0, w - 1) * 3 + c] * xa[x * ksize + k];
                r[x * 3 + c] = acc;
            }
    }
    for (int y = 0; y < oh; y++) {
        const int *r[8];
        for (int k = 0; k < ksize; k++) r[k] = rows + (size_t)clampi(yf[y] + k, 0, h - 1) * ow * 3;
        const short *b = ya + (size_t)y * ksize;
        uint8_t *o = dst + (size_t)y * ow * 3;
        for (int i = 0; i < ow * 3; i++) {
            long v;
            if (ksize == 2) /* VResizeLinearVec_32s8u */
                v = ((((b[0] * (r[0][i] >> 4)) >> 16) + ((b[1] * (r[1][i] >> 4)) >> 16) + 2) >> 2);
            else { /* FixedPtCast<int, uchar, 22> */
                int64_t acc = 0;
                for (int k = 0; k < ksize; k++) acc += (int64_t)b[k] * r[k][i];
                v = (long)((acc + (1 << (2 * COEF_BITS - 1))) >> (2 * COEF_BITS));
            }
            o[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    free(xf), free(yf), free(xa), free(ya), free(rows);
    return LQF_OK;
}

static void resize_nearest(const uint8_t *src, int w, int h, uint8_t *dst, int ow, int oh) {
    double ifx = 1.0 / ((double)ow / w), ify = 1.0 / ((double)oh / h);
    for (int y = 0; y < oh; y++) {
        int sy = LQF_MIN((int)floor(y * ify), h - 1);
        for (int x = 0; x < ow; x++) {
            int sx = LQF_MIN((int)floor(x * ifx), w - 1);
            memcpy(dst + ((size_t)y * ow + x) * 3, src + ((size_t)sy * w + sx) * 3, 3);
        }
    }
}

lqf_status lqf_resize_interp(const uint8_t *src, int w, int h, uint8_t *dst, int ow, int oh, lqf_interp m) {
    if (!src || !dst || w <= 0 || h <= 0 || ow <= 0 || oh <= 0)
        return lqf_fail(LQF_ERR_ARG, "resize: bad arguments (%dx%d -> %dx%d)", w, h, ow, oh);
    if (w == ow && h == oh) { /* cv2.resize copies */
        memcpy(dst, src, (size_t)w * h * 3);
        return LQF_OK;
    }
    switch (m) {
    case LQF_INTERP_NEAREST: resize_nearest(src, w, h, dst, ow, oh); return LQF_OK;
    case LQF_INTERP_LINEAR: lqf_resize_bilinear(src, w, h, dst, ow, oh); return LQF_OK;
    case LQF_INTERP_AREA:
        if (ow <= w && oh <= h) {
            lqf_resize_area(src, w, h, dst, ow, oh);
            return LQF_OK;
        }
        return resize_generic(src, w, h, dst, ow, oh, m);
    case LQF_INTERP_CUBIC:
    case LQF_INTERP_LANCZOS4: return resize_generic(src, w, h, dst, ow, oh, m);
    default: return lqf_fail(LQF_ERR_ARG, "resize: unknown interpolation %d", (int)m);
    }
}

lqf_status lqf_augment_lowres(lqf_image *img, int side, lqf_interp down, lqf_interp up) {
    if (side <= 0) return lqf_fail(LQF_ERR_ARG, "augment: low-resolution side must be positive (got %d)", side);
    uint8_t *small = malloc((size_t)side * side * 3);
    if (!small) return lqf_fail(LQF_ERR_NOMEM, "augment: out of memory");
    lqf_status st = lqf_resize_interp(img->data, img->width, img->height, small, side, side, down);
    if (!st) st = lqf_resize_interp(small, side, side, img->data, img->width, img->height, up);
    free(small);
    return st;
}

/* ===================================================================== motion blur */
void lqf_motion_kernel(int len, double angle_deg, float *k) {
    int c = len / 2;
    double th = angle_deg * M_PI / 180.0, dx = cos(th), dy = sin(th), half = (len - 1) / 2.0, sum = 0;
    double *tmp = malloc(sizeof(double) * (size_t)len * len);
    for (int y = 0; y < len; y++)
        for (int x = 0; x < len; x++) {
            double px = x - c, py = y - c, t = px * dx + py * dy;
            t = t < -half ? -half : t > half ? half : t;
            double ex = px - t * dx, ey = py - t * dy, d = sqrt(ex * ex + ey * ey);
            double v = d < 1 ? 1 - d : 0;
            tmp[y * len + x] = v;
            sum += v;
        }
    for (int i = 0; i < len * len; i++) k[i] = (float)(tmp[i] / sum);
    free(tmp);
}

lqf_status lqf_filter2d(lqf_image *img, const float *kernel, int ksize) {
    if (ksize < 1 || !(ksize & 1)) return lqf_fail(LQF_ERR_ARG, "filter2d: kernel size must be odd (got %d)", ksize);
    int W = img->width, H = img->height, r = ksize / 2;
    uint8_t *src = malloc((size_t)W * H * 3);
    int *xi = lqf_reflect101_table(W, r), *yi = lqf_reflect101_table(H, r);
    if (!src || !xi || !yi) {
        free(src), free(xi), free(yi);
        return lqf_fail(LQF_ERR_NOMEM, "filter2d: out of memory");
    }
    memcpy(src, img->data, (size_t)W * H * 3);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float acc[3] = {0, 0, 0};
            for (int ky = 0; ky < ksize; ky++) {
                const uint8_t *row = src + (size_t)yi[y + ky] * W * 3;
                for (int kx = 0; kx < ksize; kx++) {
                    float kv = kernel[ky * ksize + kx];
                    if (kv == 0) continue;
                    const uint8_t *p = row + (size_t)xi[x + kx] * 3;
                    acc[0] += kv * p[0], acc[1] += kv * p[1], acc[2] += kv * p[2];
                }
            }
            uint8_t *o = img->data + ((size_t)y * W + x) * 3;
            o[0] = sat_round(acc[0]), o[1] = sat_round(acc[1]), o[2] = sat_round(acc[2]);
        }
    free(src), free(xi), free(yi);
    return LQF_OK;
}

lqf_status lqf_augment_motion_blur(lqf_image *img, int len, double angle_deg) {
    if (len <= 1) return LQF_OK;
    len |= 1;
    float *k = malloc(sizeof(float) * (size_t)len * len);
    if (!k) return lqf_fail(LQF_ERR_NOMEM, "augment: out of memory");
    lqf_motion_kernel(len, angle_deg, k);
    lqf_status st = lqf_filter2d(img, k, len);
    free(k);
    return st;
}

/* ===================================================================== colour jitter */
/* torchvision rgb_to_grayscale on uint8: (0.2989 r + 0.587 g + 0.114 b) in float32,
 * truncated to uint8. */
static inline uint8_t grey_u8(const uint8_t *p, lqf_channel_order order) {
    float r = p[order == LQF_RGB ? 0 : 2], g = p[1], b = p[order == LQF_RGB ? 2 : 0];
    return (uint8_t)(0.2989f * r + 0.587f * g + 0.114f * b);
}

void lqf_adjust_brightness(lqf_image *img, float f) {
    size_t n = (size_t)img->width * img->height * 3;
    for (size_t i = 0; i < n; i++) img->data[i] = sat_trunc(f * img->data[i] + (1.f - f) * 0.f);
}

void lqf_adjust_contrast(lqf_image *img, float f) {
    size_t npx = (size_t)img->width * img->height;
    double sum = 0;
    for (size_t i = 0; i < npx; i++) sum += grey_u8(img->data + 3 * i, img->order);
    float mean = (float)(sum / npx);
    for (size_t i = 0; i < npx * 3; i++) img->data[i] = sat_trunc(f * img->data[i] + (1.f - f) * mean);
}

void lqf_adjust_saturation(lqf_image *img, float f) {
    size_t npx = (size_t)img->width * img->height;
    for (size_t i = 0; i < npx; i++) {
        uint8_t *p = img->data + 3 * i;
        float g = grey_u8(p, img->order);
        for (int c = 0; c < 3; c++) p[c] = sat_trunc(f * p[c] + (1.f - f) * g);
    }
}

/* ===================================================================== crop, flip */
void lqf_rrc_params(int width, int height, double scale_lo, double scale_hi, double ratio_lo, double ratio_hi,
                    const double u[40], int out[4]) {
    double area = (double)width * height, lr0 = log(ratio_lo), lr1 = log(ratio_hi);
    for (int t = 0; t < 10; t++) {
        const double *v = u + 4 * t;
        double target = area * (scale_lo + v[0] * (scale_hi - scale_lo));
        double aspect = exp(lr0 + v[1] * (lr1 - lr0));
        int w = (int)rint(sqrt(target * aspect)), h = (int)rint(sqrt(target / aspect)); /* Python round */
        if (0 < w && w <= width && 0 < h && h <= height) {
            out[0] = LQF_MIN((int)floor(v[2] * (height - h + 1)), height - h);
            out[1] = LQF_MIN((int)floor(v[3] * (width - w + 1)), width - w);
            out[2] = h;
            out[3] = w;
            return;
        }
    }
    double in_ratio = (double)width / height;
    int w, h;
    if (in_ratio < ratio_lo) {
        w = width;
        h = (int)rint(w / ratio_lo);
    } else if (in_ratio > ratio_hi) {
        h = height;
        w = (int)rint(h * ratio_hi);
    } else {
        w = width;
        h = height;
    }
    out[0] = (height - h) / 2;
    out[1] = (width - w) / 2;
    out[2] = h;
    out[3] = w;
}

void lqf_crop_paste(lqf_image *img, int i, int j, int h, int w) {
    int W = img->width, H = img->height;
    for (int y = 0; y < H; y++) {
        uint8_t *row = img->data + (size_t)y * W * 3;
        if (y < i || y >= i + h) {
            memset(row, 0, (size_t)W * 3);
            continue;
        }
        if (j > 0) memset(row, 0, (size_t)LQF_MIN(j, W) * 3);
        if (j + w < W) memset(row + (size_t)LQF_MAX(j + w, 0) * 3, 0, (size_t)(W - LQF_MAX(j + w, 0)) * 3);
    }
}

void lqf_hflip(lqf_image *img) {
    int W = img->width;
    for (int y = 0; y < img->height; y++) {
        uint8_t *row = img->data + (size_t)y * W * 3;
        for (int a = 0, b = W - 1; a < b; a++, b--)
            for (int c = 0; c < 3; c++) {
                uint8_t t = row[a * 3 + c];
                row[a * 3 + c] = row[b * 3 + c];
                row[b * 3 + c] = t;
            }
    }
}

/* ===================================================================== presets */
void lqf_augment_preset_none(lqf_augment_config *c) {
    memset(c, 0, sizeof *c);
    c->lowres_lo = 0.2f, c->lowres_hi = 1.0f, c->interp_mask = LQF_INTERP_ALL;
    c->gblur_lo = 0.5f, c->gblur_hi = 2.0f;
    c->mblur_lo = 3, c->mblur_hi = 11;
    c->brightness = c->contrast = c->saturation = 0.5f;
    c->noise_lo = 2.0f, c->noise_hi = 10.0f;
    c->jpeg_lo = 30, c->jpeg_hi = 90;
    c->crop_scale_lo = 0.2f, c->crop_scale_hi = 1.0f, c->crop_ratio_lo = 3.f / 4.f, c->crop_ratio_hi = 4.f / 3.f;
}

void lqf_augment_preset_adaface(lqf_augment_config *c) {
    lqf_augment_preset_none(c);
    c->p_crop = 0.2f;
    c->p_lowres = 0.2f;
    c->p_jitter = 0.2f;
    c->p_flip = 0.5f;
}

void lqf_augment_preset_qgface_lq(lqf_augment_config *c) {
    lqf_augment_preset_none(c);
    c->p_lowres = 1.0f, c->lowres_lo = 0.1f, c->lowres_hi = 0.5f, c->interp_mask = 1u << LQF_INTERP_LINEAR;
    c->p_jpeg = 1.0f, c->jpeg_lo = c->jpeg_hi = 75;
    c->p_flip = 0.5f;
}

/* ===================================================================== random recipe */
/* Chained through the generator's own seeding: seed -> epoch -> index. */
uint64_t lqf_augment_seed(uint64_t seed, uint64_t epoch, uint64_t index) {
    lqf_rng r;
    lqf_rng_seed(&r, seed);
    lqf_rng_seed(&r, lqf_rng_u64(&r) ^ epoch);
    lqf_rng_seed(&r, lqf_rng_u64(&r) ^ index);
    return lqf_rng_u64(&r);
}

static double uni(lqf_rng *r, double lo, double hi) { return lo + lqf_rng_uniform(r) * (hi - lo); }
static int uni_int(lqf_rng *r, int lo, int hi) { /* inclusive */
    if (hi <= lo) return lo;
    return lo + (int)(lqf_rng_u64(r) % (uint64_t)(hi - lo + 1));
}
static int gate(lqf_rng *r, float p) { return lqf_rng_uniform(r) < p; }

/* One interpolation, uniformly among the set bits of mask (linear when the mask is empty). */
static lqf_interp pick_interp(lqf_rng *r, unsigned mask) {
    int n = 0;
    for (int k = 0; k < LQF_INTERP_COUNT; k++) n += (mask >> k) & 1;
    if (!n) return LQF_INTERP_LINEAR;
    int pick = (int)(lqf_rng_u64(r) % (uint64_t)n);
    for (int k = 0; k < LQF_INTERP_COUNT; k++)
        if ((mask >> k) & 1 && pick-- == 0) return (lqf_interp)k;
    return LQF_INTERP_LINEAR;
}

lqf_status lqf_augment_apply(const lqf_augment_config *c, lqf_image *img, lqf_rng *rng, int batch_pos,
                             int batch_size, unsigned *fired) {
    unsigned f = 0;
    lqf_status st = LQF_OK;
    if (fired) *fired = 0;
    if (!c || !img || !rng) return lqf_fail(LQF_ERR_ARG, "lqf_augment_apply: NULL argument");
    if (gate(rng, c->p_crop)) {
        double u[40];
        for (int k = 0; k < 40; k++) u[k] = lqf_rng_uniform(rng);
        int p[4];
        lqf_rrc_params(img->width, img->height, c->crop_scale_lo, c->crop_scale_hi, c->crop_ratio_lo,
                       c->crop_ratio_hi, u, p);
        lqf_crop_paste(img, p[0], p[1], p[2], p[3]);
        f |= LQF_AUG_CROP;
    }
    if (gate(rng, c->p_lowres)) {
        int side = (int)(uni(rng, c->lowres_lo, c->lowres_hi) * img->height);
        lqf_interp down = pick_interp(rng, c->interp_mask), up = pick_interp(rng, c->interp_mask);
        if ((st = lqf_augment_lowres(img, LQF_MAX(side, 1), down, up))) return st;
        f |= LQF_AUG_LOWRES;
    }
    if (batch_size > 0 && c->n_cross > 0 && c->cross_share > 0) {
        int n_low = (int)lrint(c->cross_share * batch_size);
        if (batch_pos < n_low) {
            if ((st = lqf_degrade_resolution(img, c->cross_res[batch_pos % c->n_cross]))) return st;
            f |= LQF_AUG_CROSSRES;
        }
    }
    if (gate(rng, c->p_gblur)) {
        if ((st = lqf_degrade_blur(img, uni(rng, c->gblur_lo, c->gblur_hi)))) return st;
        f |= LQF_AUG_GBLUR;
    }
    if (gate(rng, c->p_mblur)) {
        int lo = (LQF_MAX(c->mblur_lo, 1) - 1) / 2, hi = (LQF_MAX(c->mblur_hi, 1) - 1) / 2;
        int len = 2 * uni_int(rng, lo, hi) + 1;
        double angle = uni(rng, 0, 180);
        if ((st = lqf_augment_motion_blur(img, len, angle))) return st;
        f |= LQF_AUG_MBLUR;
    }
    if (gate(rng, c->p_jitter)) {
        float fb = (float)uni(rng, fmax(0, 1 - c->brightness), 1 + c->brightness);
        float fc = (float)uni(rng, fmax(0, 1 - c->contrast), 1 + c->contrast);
        float fs = (float)uni(rng, fmax(0, 1 - c->saturation), 1 + c->saturation);
        int order[3] = {0, 1, 2};
        for (int k = 2; k > 0; k--) { /* Fisher-Yates: torch.randperm's role */
            int j = uni_int(rng, 0, k), t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
        for (int k = 0; k < 3; k++) {
            if (order[k] == 0 && c->brightness > 0) lqf_adjust_brightness(img, fb);
            if (order[k] == 1 && c->contrast > 0) lqf_adjust_contrast(img, fc);
            if (order[k] == 2 && c->saturation > 0) lqf_adjust_saturation(img, fs);
        }
        f |= LQF_AUG_JITTER;
    }
    if (gate(rng, c->p_noise)) {
        lqf_degrade_noise(img, uni(rng, c->noise_lo, c->noise_hi), rng);
        f |= LQF_AUG_NOISE;
    }
    if (gate(rng, c->p_jpeg)) {
        int q = uni_int(rng, LQF_MAX(c->jpeg_lo, 1), LQF_MIN(LQF_MAX(c->jpeg_hi, c->jpeg_lo), 100));
        if ((st = lqf_degrade_jpeg(img, q))) return st;
        f |= LQF_AUG_JPEG;
    }
    if (gate(rng, c->p_flip)) {
        lqf_hflip(img);
        f |= LQF_AUG_FLIP;
    }
    if (fired) *fired = f;
    return LQF_OK;
}
