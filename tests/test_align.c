/*
 * test_align.c — face alignment against numpy and OpenCV (dumps by tools/ref_align.py):
 * for 50 LFW photos, lqf_similarity_estimate equals a numpy SVD Umeyama to 1e-6 and
 * lqf_align_face's 112x112 crops equal cv2.warpAffine's (16 compared pixel by pixel, all
 * 50 by 8x8-block means); 4 warps running off the source's borders (rotation, zoom, shear)
 * equal cv2.warpAffine; plus small exact cases (identity, integer shift, known similarity)
 * and argument errors. A warp of a window cut from the photo (align.h: what the face set
 * keeps for FAE re-alignment) gives the bytes of the warp of the whole photo whenever the
 * window holds lqf_warp_footprint's rectangle, for 50 photos x 5 perturbed alignments and
 * the border cases. Prints the differences and the time per 112x112 crop.
 */
#include "align/align.h"
#include "core/core.h"
#include "lqface.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *load_ref(const char *rel, size_t *len) {
    uint8_t *d;
    if (lqf_read_file(tu_testdata(rel), &d, len) != LQF_OK) {
        fprintf(stderr, "missing reference %s: %s\n", rel, lqf_last_error());
        CHECK(!"reference file present");
        return NULL;
    }
    return d;
}

static lqf_image *load_lfw(const char *name) {
    char rel[512];
    snprintf(rel, sizeof rel, "data/lfw/lfw-deepfunneled/%s", name);
    lqf_image *im = NULL;
    if (!CHECK(lqf_image_load(tu_shared(rel), LQF_BGR, &im) == LQF_OK)) fprintf(stderr, "  %s\n", lqf_last_error());
    return im;
}

/* ------------------------------------------------------------------ 50 LFW photos */
static void test_lfw(void) {
    size_t ln, ll, lm, lf, lb;
    char *names = (char *)load_ref("align/names.txt", &ln);
    float *lmk = (float *)load_ref("align/landmarks.f32", &ll);
    double *Mref = (double *)load_ref("align/transforms.f64", &lm);
    uint8_t *full = load_ref("align/crops_full.u8", &lf);
    float *bmean = (float *)load_ref("align/crops_blockmean.f32", &lb);
    if (!names || !lmk || !Mref || !full || !bmean) goto done;
    const int N = 50, NFULL = 16, S = 112, B = 8, NB = S / B;
    const size_t csz = (size_t)S * S * 3;
    CHECK(ll == N * 10 * 4 && lm == N * 6 * 8 && lf == NFULL * csz && lb == (size_t)N * NB * NB * 3 * 4);
    if (!(ll == N * 10 * 4 && lm == N * 6 * 8 && lf == NFULL * csz && lb == (size_t)N * NB * NB * 3 * 4)) goto done;

    double worst_M = 0, sum_abs = 0, worst_block = 0;
    int worst_px = 0, n = 0;
    size_t ndiff = 0, npx = 0;
    double t_align = 0;
    char *save = NULL;
    for (char *nm = strtok_r(names, "\n", &save); nm && n < N; nm = strtok_r(NULL, "\n", &save), n++) {
        double M[6];
        CHECK(lqf_similarity_estimate(lmk + 10 * n, lqf_arcface_template, 5, M) == LQF_OK);
        for (int k = 0; k < 6; k++) worst_M = fmax(worst_M, fabs(M[k] - Mref[6 * n + k]));
        lqf_image *img = load_lfw(nm);
        if (!img) continue;
        lqf_image *crop = NULL;
        double t0 = lqf_now();
        lqf_status st = lqf_align_face(img, lmk + 10 * n, S, &crop);
        t_align += lqf_now() - t0;
        if (!CHECK(st == LQF_OK && crop && crop->width == S && crop->height == S && crop->order == LQF_BGR)) {
            lqf_image_free(img);
            lqf_image_free(crop);
            continue;
        }
        if (n < NFULL) {
            const uint8_t *ref = full + (size_t)n * csz;
            for (size_t i = 0; i < csz; i++) {
                int d = abs((int)crop->data[i] - (int)ref[i]);
                sum_abs += d;
                ndiff += d != 0;
                if (d > worst_px) worst_px = d;
            }
            npx += csz;
        }
        const float *bm = bmean + (size_t)n * NB * NB * 3;
        for (int by = 0; by < NB; by++)
            for (int bx = 0; bx < NB; bx++)
                for (int c = 0; c < 3; c++) {
                    double s = 0;
                    for (int y = 0; y < B; y++)
                        for (int x = 0; x < B; x++) s += crop->data[((by * B + y) * S + bx * B + x) * 3 + c];
                    worst_block = fmax(worst_block, fabs(s / (B * B) - bm[(by * NB + bx) * 3 + c]));
                }
        lqf_image_free(crop);
        lqf_image_free(img);
    }
    double mean_abs = npx ? sum_abs / npx : 1e9;
    printf("transforms vs numpy Umeyama (%d photos): max |dM| %.3g\n", n, worst_M);
    printf("crops vs cv2.warpAffine, %d full 112x112 crops: mean |diff| %.4f, max %d, %zu of %zu bytes differ\n",
           NFULL, mean_abs, worst_px, ndiff, npx);
    printf("crops vs cv2.warpAffine, all %d crops: max 8x8-block-mean diff %.4f\n", n, worst_block);
    printf("lqf_align_face: %.1f us per 112x112 crop (250x250 source)\n", 1e6 * t_align / (n ? n : 1));
    CHECK(n == N);
    CHECK(worst_M < 1e-6);
    CHECK(mean_abs <= 0.5);
    CHECK(worst_px <= 1);
    CHECK(worst_block <= 0.5);
done:
    free(names);
    free(lmk);
    free(Mref);
    free(full);
    free(bmean);
}

/* ------------------------------------------------------- warps that leave the image */
static void test_borders(void) {
    size_t l1, l2, l3, ln;
    char *list = (char *)load_ref("align/extra.txt", &l1);
    double *M = (double *)load_ref("align/extra_M.f64", &l2);
    uint8_t *crops = load_ref("align/extra_crops.u8", &l3);
    char *names = (char *)load_ref("align/names.txt", &ln);
    if (!list || !M || !crops || !names) goto done;
    char *name_of[64];
    int nn = 0;
    char *s1 = NULL;
    for (char *nm = strtok_r(names, "\n", &s1); nm && nn < 64; nm = strtok_r(NULL, "\n", &s1)) name_of[nn++] = nm;
    size_t off = 0;
    int k = 0, worst = 0;
    size_t ndiff = 0, nzero = 0;
    char *s2 = NULL;
    for (char *ln2 = strtok_r(list, "\n", &s2); ln2; ln2 = strtok_r(NULL, "\n", &s2), k++) {
        int idx, w, h;
        if (sscanf(ln2, "%d %d %d", &idx, &w, &h) != 3 || idx >= nn) continue;
        if (!CHECK(off + (size_t)w * h * 3 <= l3 && (size_t)(k + 1) * 48 <= l2)) break;
        lqf_image *img = load_lfw(name_of[idx]), *out = NULL;
        if (img && CHECK(lqf_warp_affine(img, M + 6 * k, w, h, &out) == LQF_OK)) {
            for (size_t i = 0; i < (size_t)w * h * 3; i++) {
                int d = abs((int)out->data[i] - (int)crops[off + i]);
                ndiff += d != 0;
                nzero += crops[off + i] == 0;
                if (d > worst) worst = d;
            }
        }
        off += (size_t)w * h * 3;
        lqf_image_free(out);
        lqf_image_free(img);
    }
    printf("border warps vs cv2.warpAffine (%d cases, %zu bytes, %zu of them border zeros): max diff %d, "
           "%zu bytes differ\n",
           k, off, nzero, worst, ndiff);
    CHECK(k == 4 && off == l3);
    CHECK(nzero > off / 10); /* the cases really reach outside the source */
    CHECK(worst <= 1);
done:
    free(list);
    free(M);
    free(crops);
    free(names);
}

/* ------------------------------------------------------- warps of a window of the photo */
/* Copy of the part of img inside box (clipped to the photo) as a window; its origin in *ox, *oy. */
static lqf_image *cut_window(const lqf_image *img, const int box[4], int *ox, int *oy) {
    int x0 = box[0] < 0 ? 0 : box[0], y0 = box[1] < 0 ? 0 : box[1];
    int x1 = box[2] > img->width ? img->width : box[2], y1 = box[3] > img->height ? img->height : box[3];
    if (x1 <= x0 || y1 <= y0) x0 = y0 = 0, x1 = y1 = 1; /* nothing of the photo is read */
    lqf_image *w = NULL;
    if (lqf_image_create(x1 - x0, y1 - y0, img->order, &w)) return NULL;
    for (int y = y0; y < y1; y++)
        memcpy(w->data + (size_t)(y - y0) * w->width * 3, img->data + ((size_t)y * img->width + x0) * 3,
               (size_t)w->width * 3);
    *ox = x0, *oy = y0;
    return w;
}

/* Warp of the window cut by M's footprint vs warp of the whole photo: bytes that differ. */
static size_t window_vs_whole(const lqf_image *img, const double M[6], int w, int h, double *area) {
    int box[4], ox, oy;
    lqf_image *full = NULL, *part = NULL, *win = NULL;
    size_t diff = (size_t)w * h * 3;
    if (!CHECK(lqf_warp_footprint(M, w, h, box) == LQF_OK) || !(win = cut_window(img, box, &ox, &oy))) return diff;
    if (CHECK(lqf_warp_affine(img, M, w, h, &full) == LQF_OK) &&
        CHECK(lqf_warp_affine_window(win, ox, oy, M, w, h, &part) == LQF_OK)) {
        diff = 0;
        for (size_t i = 0; i < (size_t)w * h * 3; i++) diff += full->data[i] != part->data[i];
    }
    *area += (double)win->width * win->height;
    lqf_image_free(full);
    lqf_image_free(part);
    lqf_image_free(win);
    return diff;
}

static void test_window(void) {
    size_t ln, ll, l1, l2;
    char *names = (char *)load_ref("align/names.txt", &ln);
    float *lmk = (float *)load_ref("align/landmarks.f32", &ll);
    char *list = (char *)load_ref("align/extra.txt", &l1);
    double *XM = (double *)load_ref("align/extra_M.f64", &l2);
    if (!names || !lmk || !list || !XM) goto done;
    char *name_of[64], *save = NULL;
    int nn = 0;
    for (char *nm = strtok_r(names, "\n", &save); nm && nn < 50; nm = strtok_r(NULL, "\n", &save)) name_of[nn++] = nm;
    /* perturbations of the alignment about the crop centre: scale, rotation (deg), shift */
    static const double pert[5][4] = {{1, 0, 0, 0}, {0.8, 12, 6, -6}, {1.2, -12, -6, 6}, {0.9, 25, 0, 9}, {1.3, 3, 9, 0}};
    size_t diff = 0;
    double win_area = 0, photo_area = 0;
    int cases = 0;
    for (int n = 0; n < nn; n++) {
        lqf_image *img = load_lfw(name_of[n]);
        double A[6];
        if (!img || !CHECK(lqf_align_matrix(lmk + 10 * n, 112, A) == LQF_OK)) {
            lqf_image_free(img);
            continue;
        }
        for (int p = 0; p < 5; p++) {
            double s = pert[p][0], t = pert[p][1] * M_PI / 180, c = s * cos(t), sn = s * sin(t);
            /* P(y) = c + R(y - c) + shift with c = (56, 56), applied after A */
            double P[6] = {c, -sn, 56 - c * 56 + sn * 56 + pert[p][2], sn, c, 56 - sn * 56 - c * 56 + pert[p][3]};
            double M[6] = {P[0] * A[0] + P[1] * A[3], P[0] * A[1] + P[1] * A[4], P[0] * A[2] + P[1] * A[5] + P[2],
                           P[3] * A[0] + P[4] * A[3], P[3] * A[1] + P[4] * A[4], P[3] * A[2] + P[4] * A[5] + P[5]};
            diff += window_vs_whole(img, M, 112, 112, &win_area);
            photo_area += (double)img->width * img->height;
            cases++;
        }
        lqf_image_free(img);
    }
    int k = 0;
    save = NULL;
    for (char *ln2 = strtok_r(list, "\n", &save); ln2 && (size_t)(k + 1) * 48 <= l2; ln2 = strtok_r(NULL, "\n", &save), k++) {
        int idx, w, h;
        if (sscanf(ln2, "%d %d %d", &idx, &w, &h) != 3 || idx >= nn) continue;
        lqf_image *img = load_lfw(name_of[idx]);
        if (img) diff += window_vs_whole(img, XM + 6 * k, w, h, &win_area);
        if (img) photo_area += (double)img->width * img->height, cases++;
        lqf_image_free(img);
    }
    printf("warps of footprint windows vs the whole photo (%d cases): %zu bytes differ, windows hold %.0f%% of "
           "the photos' pixels\n", cases, diff, 100 * win_area / photo_area);
    CHECK(cases == 5 * 50 + 4);
    CHECK(diff == 0);
    CHECK(win_area < 0.8 * photo_area); /* the windows really are parts of the photos */
    /* a window origin is a pixel position */
    lqf_image *img = NULL, *out = NULL;
    const double I[6] = {1, 0, 0, 0, 1, 0};
    if (CHECK(lqf_image_create(4, 4, LQF_RGB, &img) == LQF_OK))
        CHECK(lqf_warp_affine_window(img, -1, 0, I, 4, 4, &out) == LQF_ERR_ARG && !out);
    lqf_image_free(img);
done:
    free(names);
    free(lmk);
    free(list);
    free(XM);
}

/* ------------------------------------------------------------------ exact small cases */
static void test_small(void) {
    /* a similarity with known parameters is recovered from its own image of the points */
    const double s = 1.7, a = 0.3, tx = -12.5, ty = 40.25;
    float src[10], dst[10];
    for (int i = 0; i < 5; i++) {
        double x = lqf_arcface_template[2 * i], y = lqf_arcface_template[2 * i + 1];
        src[2 * i] = (float)x, src[2 * i + 1] = (float)y;
        dst[2 * i] = (float)(s * cos(a) * x - s * sin(a) * y + tx);
        dst[2 * i + 1] = (float)(s * sin(a) * x + s * cos(a) * y + ty);
    }
    double M[6];
    CHECK(lqf_similarity_estimate(src, dst, 5, M) == LQF_OK);
    double want[6] = {s * cos(a), -s * sin(a), tx, s * sin(a), s * cos(a), ty};
    double e = 0;
    for (int k = 0; k < 6; k++) e = fmax(e, fabs(M[k] - want[k]));
    printf("known similarity recovered: max |dM| %.3g\n", e);
    CHECK(e < 1e-4); /* float32 points */
    /* a reflected point set gives a rotation (det > 0), never a reflection */
    float mir[10];
    for (int i = 0; i < 5; i++) mir[2 * i] = -src[2 * i], mir[2 * i + 1] = src[2 * i + 1];
    CHECK(lqf_similarity_estimate(src, mir, 5, M) == LQF_OK && M[0] * M[4] - M[1] * M[3] > 0);
    CHECK(fabs(M[0] - M[4]) < 1e-12 && fabs(M[1] + M[3]) < 1e-12);
    /* degenerate and bad input */
    float same[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK(lqf_similarity_estimate(same, dst, 5, M) == LQF_ERR_ARG);
    CHECK(lqf_similarity_estimate(src, dst, 1, M) == LQF_ERR_ARG);
    float nan_pts[10];
    memcpy(nan_pts, src, sizeof nan_pts);
    nan_pts[3] = NAN;
    CHECK(lqf_similarity_estimate(nan_pts, dst, 5, M) == LQF_ERR_NUMERIC);

    /* identity and an integer shift copy pixels; outside is 0 */
    lqf_image *img = NULL, *out = NULL;
    CHECK(lqf_image_create(7, 5, LQF_RGB, &img) == LQF_OK);
    if (!img) return;
    for (int i = 0; i < 7 * 5 * 3; i++) img->data[i] = (uint8_t)(37 * i + 11);
    const double I[6] = {1, 0, 0, 0, 1, 0};
    CHECK(lqf_warp_affine(img, I, 7, 5, &out) == LQF_OK && out && !memcmp(out->data, img->data, 105) &&
          out->order == LQF_RGB);
    lqf_image_free(out);
    const double T[6] = {1, 0, 2, 0, 1, -1}; /* dst(x,y) = src(x-2, y+1) */
    CHECK(lqf_warp_affine(img, T, 7, 5, &out) == LQF_OK);
    int ok = out != NULL;
    for (int y = 0; ok && y < 5; y++)
        for (int x = 0; x < 7; x++)
            for (int c = 0; c < 3; c++) {
                int sx = x - 2, sy = y + 1;
                int want_v = (sx >= 0 && sx < 7 && sy >= 0 && sy < 5) ? img->data[(sy * 7 + sx) * 3 + c] : 0;
                ok &= out->data[(y * 7 + x) * 3 + c] == want_v;
            }
    CHECK(ok);
    lqf_image_free(out);
    /* shift by (7.25, 0.25) px over a 64x4 source whose byte size is a multiple of 64 (no
     * allocation slack: under valgrind a read past the last pixel would show; output
     * pixels 48..55 of row 2 form one 8-pixel block ending at the last interior source
     * pixel): every pixel is (576 a + 192 b + 192 c + 64 d + 512) >> 10 of its 2x2
     * neighbourhood, taps beyond the right/bottom edge reading 0 */
    {
        lqf_image *s64 = NULL, *o64 = NULL;
        CHECK(lqf_image_create(64, 4, LQF_BGR, &s64) == LQF_OK);
        for (int i = 0; s64 && i < 64 * 4 * 3; i++) s64->data[i] = (uint8_t)((i * 97 + 13) % 251);
        const double Q[6] = {1, 0, -7.25, 0, 1, -0.25};
        CHECK(s64 && lqf_warp_affine(s64, Q, 64, 4, &o64) == LQF_OK);
        int good = o64 != NULL;
        for (int y = 0; good && y < 4; y++)
            for (int x = 0; x < 64; x++)
                for (int c = 0; c < 3; c++) {
                    int t[4];
                    for (int j = 0; j < 4; j++) {
                        int xx = x + 7 + (j & 1), yy = y + (j >> 1);
                        t[j] = xx < 64 && yy < 4 ? s64->data[(yy * 64 + xx) * 3 + c] : 0;
                    }
                    good &= o64->data[(y * 64 + x) * 3 + c] == ((576 * t[0] + 192 * t[1] + 192 * t[2] + 64 * t[3] + 512) >> 10);
                }
        CHECK(good);
        lqf_image_free(o64);
        lqf_image_free(s64);
    }
    /* half-pixel shift of a constant image stays constant inside, is 0 far outside */
    memset(img->data, 200, 105);
    const double H[6] = {1, 0, 0.5, 0, 1, 0.5};
    CHECK(lqf_warp_affine(img, H, 9, 7, &out) == LQF_OK);
    if (out) CHECK(out->data[(3 * 9 + 3) * 3] == 200 && out->data[(6 * 9 + 8) * 3] == 0);
    lqf_image_free(out);
    out = (lqf_image *)1;
    const double Z[6] = {0, 0, 0, 0, 0, 0};
    CHECK(lqf_warp_affine(img, Z, 4, 4, &out) == LQF_OK); /* singular: OpenCV maps everything to src(0,0) */
    if (out && out != (lqf_image *)1) CHECK(out->data[0] == 200);
    if (out != (lqf_image *)1) lqf_image_free(out);
    out = (lqf_image *)1;
    CHECK(lqf_warp_affine(img, I, 0, 4, &out) == LQF_ERR_ARG && out == NULL);
    const double Bad[6] = {1, 0, NAN, 0, 1, 0};
    CHECK(lqf_warp_affine(img, Bad, 4, 4, &out) == LQF_ERR_NUMERIC && out == NULL);
    CHECK(lqf_align_face(img, NULL, 112, &out) == LQF_ERR_ARG);
    CHECK(lqf_align_face(img, src, 0, &out) == LQF_ERR_ARG);
    /* 224 crop: the template scaled by 2 */
    float lm2[10];
    for (int i = 0; i < 10; i++) lm2[i] = lqf_arcface_template[i] * 0.05f + 1.0f;
    CHECK(lqf_align_face(img, lm2, 224, &out) == LQF_OK && out && out->width == 224 && out->height == 224);
    lqf_image_free(out);
    lqf_image_free(img);
}

int main(void) {
    test_small();
    test_lfw();
    test_borders();
    test_window();
    return tu_finish("test_align");
}
