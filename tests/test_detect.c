/*
 * test_detect.c — face detection against the OpenCV reference of tools/ref_detect.py
 * (tests/data/detect/refs.txt): (1) the letterbox is bit-identical to cv2.resize INTER_LINEAR
 * placement, for RGB and BGR input; (2) lqf_yunet_decode on dumped raw YuNet-320 outputs
 * and lqf_retina_decode on dumped RetinaFace outputs equal the numpy decode +
 * cv2.dnn.NMSBoxes; (3) the whole pipeline (lqf_image_load + lqf_detector_load +
 * lqf_detect) on 53 LFW photos, composites of 2 and 3 photos, a small (upscaled) image, a
 * grey image and a background crop, with YuNet 640 and 320 and RetinaFace: same face counts,
 * boxes and landmarks within 1 px; plus error paths and options.
 */
#include "core/core.h"
#include "detect/yunet.h"
#include "lqface.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXF 64

typedef struct {
    int n;
    float f[MAXF][15];
} ref_faces;

static int read_faces(FILE *fp, int n, ref_faces *r) {
    r->n = n;
    if (n > MAXF) return 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 15; k++)
            if (fscanf(fp, "%f", &r->f[i][k]) != 1) return 0;
    return 1;
}

static void face_to_row(const lqf_face *f, float row[15]) {
    row[0] = f->x1, row[1] = f->y1, row[2] = f->x2, row[3] = f->y2, row[4] = f->score;
    memcpy(row + 5, f->landmarks, sizeof(float) * 10);
}

static long load_bytes(const char *path, uint8_t **out) {
    FILE *f = fopen(path, "rb");
    *out = NULL;
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    *out = malloc((size_t)n + 1);
    if (fread(*out, 1, (size_t)n, f) != (size_t)n) n = -1;
    fclose(f);
    return n;
}

/* ------------------------------------------------------------------ (1) letterbox */
static void test_letterbox(const char *src_name, int w, int h, int S, const char *ref_name, float ref_scale) {
    uint8_t *src, *ref;
    long ns = load_bytes(tu_testdata(src_name), &src), nr = load_bytes(tu_testdata(ref_name), &ref);
    if (!CHECK(ns == (long)w * h * 3 && nr == (long)S * S * 3)) {
        free(src);
        free(ref);
        return;
    }
    float *out = malloc(sizeof(float) * 3 * S * S);
    uint8_t *rgb = malloc((size_t)w * h * 3);
    for (long i = 0; i < (long)w * h; i++) {
        rgb[3 * i] = src[3 * i + 2];
        rgb[3 * i + 1] = src[3 * i + 1];
        rgb[3 * i + 2] = src[3 * i];
    }
    float *want = malloc(sizeof(float) * 3 * S * S);
    for (int k = 0; k < 3; k++)
        for (long p = 0; p < (long)S * S; p++) want[k * (long)S * S + p] = ref[3 * p + k];
    for (int pass = 0; pass < 2; pass++) {
        lqf_image im = {w, h, 3, pass ? LQF_RGB : LQF_BGR, pass ? rgb : src};
        float scale = 0;
        CHECK(lqf_letterbox(&im, S, LQF_BGR, NULL, out, &scale) == LQF_OK);
        CHECK(fabsf(scale - ref_scale) <= 1e-6f * ref_scale);
        char what[512];
        snprintf(what, sizeof what, "letterbox %s %dx%d -> %d (%s input)", src_name, w, h, S, pass ? "RGB" : "BGR");
        tu_close(what, out, want, (size_t)3 * S * S, 0, 0);
    }
    /* mean subtraction applies to the whole canvas (padding becomes -mean) */
    lqf_image im = {w, h, 3, LQF_BGR, src};
    const float mean[3] = {104, 117, 123};
    float scale;
    CHECK(lqf_letterbox(&im, S, LQF_BGR, mean, out, &scale) == LQF_OK);
    for (int k = 0; k < 3; k++)
        for (long p = 0; p < (long)S * S; p++) want[k * (long)S * S + p] = ref[3 * p + k] - mean[k];
    tu_close("letterbox with mean", out, want, (size_t)3 * S * S, 0, 0);
    free(out);
    free(rgb);
    free(want);
    free(src);
    free(ref);
}

/* ------------------------------------------------------------------ (2) decode only */
static double g_dec_max = 0;

static void test_decode(const char *raw, int S, float st, float nt, int tk, float scale, const ref_faces *r) {
    float *buf;
    long n = tu_load_f32(tu_testdata(raw), &buf);
    long per = 0;
    for (int s = 8; s <= 32; s *= 2) per += (long)(S / s) * (S / s);
    if (!CHECK(n == per * 16)) {
        free(buf);
        return;
    }
    const float *outs[12];
    const int width[4] = {1, 1, 4, 10};
    long off = 0;
    for (int k = 0; k < 4; k++)
        for (int l = 0; l < 3; l++) {
            long cols = S / (8 << l);
            outs[k * 3 + l] = buf + off;
            off += cols * cols * width[k];
        }
    lqf_face *f = NULL;
    int nf = -1;
    CHECK(lqf_yunet_decode(outs, S, st, nt, tk, scale, &f, &nf) == LQF_OK);
    char what[512];
    snprintf(what, sizeof what, "decode %s thr %.2f nms %.2f top_k %d: %d faces (ref %d)", raw, st, nt, tk, nf, r->n);
    if (CHECK(nf == r->n)) {
        for (int i = 0; i < nf; i++) {
            float row[15];
            face_to_row(&f[i], row);
            for (int k = 0; k < 15; k++) g_dec_max = fmax(g_dec_max, fabs(row[k] - r->f[i][k]));
            tu_close(what, row, r->f[i], 15, 1e-3, 1e-6);
        }
    } else {
        fprintf(stderr, "%s\n", what);
    }
    free(f);
    free(buf);
}

/* Sparse RetinaFace dump: conf (P,2), then rows of (index, loc 4, landm 10). */
static void test_retina_decode(const char *raw, int S, float st, float nt, int tk, float scale, const ref_faces *r) {
    float *buf;
    long n = tu_load_f32(tu_testdata(raw), &buf);
    const int P = lqf_retina_priors(S, NULL);
    if (!CHECK(n >= 2L * P && (n - 2L * P) % 15 == 0)) {
        free(buf);
        return;
    }
    float *loc = calloc((size_t)P * 4, sizeof(float)), *landm = calloc((size_t)P * 10, sizeof(float));
    for (long row = 2L * P; row < n; row += 15) {
        long p = (long)buf[row];
        if (!CHECK(p >= 0 && p < P)) break;
        memcpy(loc + 4 * p, buf + row + 1, 4 * sizeof(float));
        memcpy(landm + 10 * p, buf + row + 5, 10 * sizeof(float));
    }
    lqf_face *f = NULL;
    int nf = -1;
    CHECK(lqf_retina_decode(loc, buf, landm, S, st, nt, tk, scale, &f, &nf) == LQF_OK);
    char what[512];
    snprintf(what, sizeof what, "retina decode %s thr %.2f nms %.2f top_k %d: %d faces (ref %d)", raw, st, nt, tk, nf,
             r->n);
    if (CHECK(nf == r->n)) {
        for (int i = 0; i < nf; i++) {
            float row[15];
            face_to_row(&f[i], row);
            for (int k = 0; k < 15; k++) g_dec_max = fmax(g_dec_max, fabs(row[k] - r->f[i][k]));
            tu_close(what, row, r->f[i], 15, 1e-3, 1e-6);
        }
    } else {
        fprintf(stderr, "%s\n", what);
    }
    free(f);
    free(loc);
    free(landm);
    free(buf);
}

/* ------------------------------------------------------------------ (3) pipeline */
static lqf_image *hconcat(lqf_image **ims, int k) {
    int w = 0, h = ims[0]->height;
    for (int i = 0; i < k; i++) w += ims[i]->width;
    lqf_image *out;
    if (lqf_image_create(w, h, ims[0]->order, &out) != LQF_OK) return NULL;
    int x0 = 0;
    for (int i = 0; i < k; i++) {
        if (ims[i]->height != h) {
            lqf_image_free(out);
            return NULL;
        }
        for (int y = 0; y < h; y++)
            memcpy(out->data + ((size_t)y * w + x0) * 3, ims[i]->data + (size_t)y * ims[i]->width * 3,
                   (size_t)ims[i]->width * 3);
        x0 += ims[i]->width;
    }
    return out;
}

/* Build the image a SOURCE string of refs.txt names; lfw photos load as RGB to exercise the
 * channel conversion, the rest as BGR. */
static lqf_image *load_source(const char *src) {
    char buf[1024];
    lqf_image *im = NULL;
    if (strncmp(src, "lfw:", 4) == 0) {
        snprintf(buf, sizeof buf, "data/lfw/lfw-deepfunneled/%s", src + 4);
        if (lqf_image_load(tu_shared(buf), LQF_RGB, &im) != LQF_OK) fprintf(stderr, "%s\n", lqf_last_error());
        return im;
    }
    if (strncmp(src, "file:", 5) == 0) {
        if (lqf_image_load(tu_testdata(src + 5), LQF_BGR, &im) != LQF_OK) fprintf(stderr, "%s\n", lqf_last_error());
        return im;
    }
    if (strncmp(src, "grey:", 5) == 0) {
        int w, h, v;
        if (sscanf(src + 5, "%d:%d:%d", &w, &h, &v) != 3 || lqf_image_create(w, h, LQF_BGR, &im) != LQF_OK)
            return NULL;
        memset(im->data, v, (size_t)w * h * 3);
        return im;
    }
    if (strncmp(src, "cat:", 4) == 0) {
        lqf_image *parts[4] = {0};
        int k = 0;
        snprintf(buf, sizeof buf, "%s", src + 4);
        for (char *tok = strtok(buf, ","); tok && k < 4; tok = strtok(NULL, ",")) {
            char path[1024];
            snprintf(path, sizeof path, "data/lfw/lfw-deepfunneled/%s", tok);
            if (lqf_image_load(tu_shared(path), LQF_BGR, &parts[k]) != LQF_OK) break;
            k++;
        }
        if (k >= 2) im = hconcat(parts, k);
        for (int i = 0; i < k; i++) lqf_image_free(parts[i]);
        return im;
    }
    return NULL;
}

static double iou(const float *a, const float *b) {
    double iw = fmin(a[2], b[2]) - fmax(a[0], b[0]), ih = fmin(a[3], b[3]) - fmax(a[1], b[1]);
    if (iw <= 0 || ih <= 0) return 0;
    double in = iw * ih;
    return in / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - in);
}

typedef struct {
    char model[64];
    lqf_detector *det;
    int load_failed;
    double box, lm, score;
    int faces, images;
    double seconds;
} pipe_stats;

#define NMODELS 4
static pipe_stats g_models[NMODELS];

/* The detector for a model file name, loaded on first use (NULL if loading failed). */
static pipe_stats *model_slot(const char *model) {
    for (int i = 0; i < NMODELS; i++) {
        pipe_stats *m = &g_models[i];
        if (m->model[0] && strcmp(m->model, model) == 0) return m;
        if (!m->model[0]) {
            char rel[128];
            snprintf(m->model, sizeof m->model, "%s", model);
            snprintf(rel, sizeof rel, "models/%s", model);
            lqf_status st = lqf_detector_load(tu_shared(rel), NULL, &m->det);
            if (!CHECK(st == LQF_OK)) {
                fprintf(stderr, "%s: %s\n", model, lqf_last_error());
                m->load_failed = 1;
            }
            return m;
        }
    }
    return NULL;
}

static void test_pipeline(lqf_detector *det, const char *model, const char *src, const ref_faces *r, pipe_stats *ps) {
    lqf_image *im = load_source(src);
    if (!CHECK(im != NULL)) {
        fprintf(stderr, "cannot build image %s\n", src);
        return;
    }
    lqf_face *f = NULL;
    int n = -1;
    double t0 = lqf_now();
    lqf_status st = lqf_detect(det, im, &f, &n);
    ps->seconds += lqf_now() - t0;
    ps->images++;
    if (!CHECK(st == LQF_OK)) fprintf(stderr, "%s: %s\n", src, lqf_last_error());
    if (!CHECK(n == r->n)) fprintf(stderr, "%s %s: %d faces, reference %d\n", model, src, n, r->n);
    /* match each reference face with the detection of highest IoU (order may differ on near ties) */
    for (int i = 0; i < r->n && n == r->n; i++) {
        int best = -1;
        double bi = 0;
        float row[15];
        for (int j = 0; j < n; j++) {
            face_to_row(&f[j], row);
            double v = iou(row, r->f[i]);
            if (v > bi) bi = v, best = j;
        }
        if (!CHECK(best >= 0)) continue;
        face_to_row(&f[best], row);
        double db = 0, dl = 0;
        for (int k = 0; k < 4; k++) db = fmax(db, fabs(row[k] - r->f[i][k]));
        for (int k = 5; k < 15; k++) dl = fmax(dl, fabs(row[k] - r->f[i][k]));
        double ds = fabs(row[4] - r->f[i][4]);
        ps->box = fmax(ps->box, db);
        ps->lm = fmax(ps->lm, dl);
        ps->score = fmax(ps->score, ds);
        ps->faces++;
        if (!CHECK(db <= 1.0 && dl <= 1.0 && ds <= 0.02))
            fprintf(stderr, "%s %s face %d: box diff %.3f px, landmark diff %.3f px, score diff %.4f\n", model, src, i,
                    db, dl, ds);
    }
    free(f);
    lqf_image_free(im);
}

/* ------------------------------------------------------------------ error paths and options */
static void test_errors(lqf_detector *det) {
    lqf_detector *d = NULL;
    CHECK(lqf_detector_load("/nonexistent/yunet.onnx", NULL, &d) != LQF_OK && d == NULL);
    CHECK(strstr(lqf_last_error(), "/nonexistent/yunet.onnx") != NULL);
    /* an embedding network is not a detector: named error, no crash */
    const char *fr = tu_shared("models/mobilefacenet_fr512.onnx");
    lqf_status st = lqf_detector_load(fr, NULL, &d);
    CHECK(st != LQF_OK && d == NULL);
    CHECK(strstr(lqf_last_error(), "mobilefacenet_fr512.onnx") != NULL);
    lqf_detect_options o;
    lqf_detect_options_default(&o);
    CHECK(o.score_threshold == 0.6f && o.nms_threshold == 0.3f && o.top_k == 5000 && o.max_faces == 0);
    o.score_threshold = 1.5f;
    CHECK(lqf_detector_load(tu_shared("models/yunet_n_320_320.onnx"), &o, &d) == LQF_ERR_ARG && d == NULL);
    lqf_detector_free(NULL);
    if (!det) return;
    lqf_face *f = (lqf_face *)1;
    int n = -1;
    CHECK(lqf_detect(det, NULL, &f, &n) == LQF_ERR_ARG);
    lqf_image bad = {0, 10, 3, LQF_BGR, NULL};
    CHECK(lqf_detect(det, &bad, &f, &n) == LQF_ERR_ARG);
}

int main(void) {
    FILE *fp = fopen(tu_testdata("detect/refs.txt"), "r");
    if (!CHECK(fp != NULL)) return tu_finish("test_detect");
    char cat3[1024] = "";
    int nlb = 0, ndec = 0, nrdec = 0, ndet = 0, ndet_run = 0;
    char kind[16];
    ref_faces r;
    while (fscanf(fp, "%15s", kind) == 1) {
        if (strcmp(kind, "lb") == 0) {
            char src[256], ref[256];
            int w, h, S;
            float scale;
            if (!CHECK(fscanf(fp, "%255s %d %d %d %255s %f", src, &w, &h, &S, ref, &scale) == 6)) break;
            char a[300], b[300];
            snprintf(a, sizeof a, "detect/%s", src);
            snprintf(b, sizeof b, "detect/%s", ref);
            test_letterbox(a, w, h, S, b, scale);
            nlb++;
        } else if (strcmp(kind, "dec") == 0) {
            char raw[256], path[300];
            int S, tk, n;
            float st, nt, scale;
            if (!CHECK(fscanf(fp, "%255s %d %f %f %d %f %d", raw, &S, &st, &nt, &tk, &scale, &n) == 7)) break;
            if (!CHECK(read_faces(fp, n, &r))) break;
            snprintf(path, sizeof path, "detect/%s", raw);
            test_decode(path, S, st, nt, tk, scale, &r);
            ndec++;
        } else if (strcmp(kind, "rdec") == 0) {
            char raw[256], path[300];
            int S, tk, n;
            float st, nt, scale;
            if (!CHECK(fscanf(fp, "%255s %d %f %f %d %f %d", raw, &S, &st, &nt, &tk, &scale, &n) == 7)) break;
            if (!CHECK(read_faces(fp, n, &r))) break;
            snprintf(path, sizeof path, "detect/%s", raw);
            test_retina_decode(path, S, st, nt, tk, scale, &r);
            nrdec++;
        } else if (strcmp(kind, "det") == 0) {
            char model[256], src[1024];
            int S, n;
            float scale;
            if (!CHECK(fscanf(fp, "%255s %d %1023s %f %d", model, &S, src, &scale, &n) == 5)) break;
            if (!CHECK(read_faces(fp, n, &r))) break;
            ndet++;
            pipe_stats *m = model_slot(model);
            if (!CHECK(m != NULL) || !m->det) continue; /* load failure already counted */
            test_pipeline(m->det, model, src, &r, m);
            ndet_run++;
            /* explicit expectations of the task, beyond agreeing with the reference */
            if (strncmp(src, "grey:", 5) == 0 || strcmp(src, "file:detect/bg.png") == 0) CHECK(n == 0);
            if (strncmp(src, "cat:", 4) == 0) {
                int parts = 1;
                for (const char *c = src; *c; c++) parts += *c == ',';
                CHECK(n == parts); /* one face per photo of the composite */
                if (parts == 3) snprintf(cat3, sizeof cat3, "%s", src);
            }
        } else {
            CHECK(!"unknown record in refs.txt");
            break;
        }
    }
    fclose(fp);
    CHECK(nlb >= 6 && ndec >= 12 && nrdec >= 4 && ndet >= 85);
    printf("letterbox cases %d, decode cases %d + %d RetinaFace (max |diff| %.3g), pipeline cases %d run %d\n", nlb,
           ndec, nrdec, g_dec_max, ndet, ndet_run);
    for (int k = 0; k < NMODELS; k++) {
        pipe_stats *m = &g_models[k];
        if (m->images)
            printf("%s: %d images, %d faces matched: max box diff %.4f px, max landmark diff %.4f px, "
                   "max score diff %.5f, %.1f ms/image\n",
                   m->model, m->images, m->faces, m->box, m->lm, m->score, 1e3 * m->seconds / m->images);
    }
    lqf_detector *det320 = model_slot("yunet_n_320_320.onnx")->det;

    /* max_faces keeps the best faces (on the 3-face composite) */
    if (det320 && CHECK(cat3[0] != 0)) {
        lqf_detect_options o;
        lqf_detect_options_default(&o);
        o.max_faces = 1;
        lqf_detector *d1 = NULL;
        if (CHECK(lqf_detector_load(tu_shared("models/yunet_n_320_320.onnx"), &o, &d1) == LQF_OK)) {
            lqf_image *im = load_source(cat3);
            lqf_face *fa = NULL, *fb = NULL;
            int na = 0, nb = 0;
            if (CHECK(im != NULL)) {
                CHECK(lqf_detect(det320, im, &fa, &na) == LQF_OK);
                CHECK(lqf_detect(d1, im, &fb, &nb) == LQF_OK);
                CHECK(na == 3 && nb == 1);
                if (na > 0 && nb == 1) CHECK(memcmp(&fa[0], &fb[0], sizeof(lqf_face)) == 0);
            }
            free(fa);
            free(fb);
            lqf_image_free(im);
        }
        lqf_detector_free(d1);
    }
    test_errors(det320);
    for (int k = 0; k < NMODELS; k++) lqf_detector_free(g_models[k].det);
    return tu_finish("test_detect");
}
