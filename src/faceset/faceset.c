/*
 * faceset.c — photos prepared once for evaluation (lqf_face_set in lqface.h): loaded,
 * detected and aligned a single time, landmarks kept for face-alignment-error conditions,
 * clean embeddings cached per embedder. Rendering a condition (FAE re-alignment, then
 * resolution, blur, noise, JPEG on the crop) runs in parallel over photos with a generator
 * seeded per photo, so a sweep is deterministic whatever the thread count.
 */
#define _GNU_SOURCE
#include "augment/degrade.h"
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

#define RENDER_CHUNK 64

struct lqf_face_set {
    int n, size;
    char **path;          /* source photo (NULL entries for in-memory sets) */
    int from_detection;   /* 1: landmarks are in the source photo; FAE re-aligns from it */
    lqf_image **crop;     /* clean aligned crop, NULL when the photo failed */
    float (*lm)[10];      /* landmarks used for the clean alignment */
    lqf_status *st;
    char **msg;
    uint8_t *use;         /* photos embedded under a condition (NULL: all) */
    const lqf_embedder *cache_owner; /* clean embeddings cached for this embedder */
    float *cache_emb, *cache_norm;
};

static lqf_face_set *set_alloc(int n, int size) {
    lqf_face_set *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->n = n;
    s->size = size;
    s->path = calloc((size_t)n, sizeof *s->path);
    s->crop = calloc((size_t)n, sizeof *s->crop);
    s->lm = calloc((size_t)n, sizeof *s->lm);
    s->st = calloc((size_t)n, sizeof *s->st);
    s->msg = calloc((size_t)n, sizeof *s->msg);
    if (!s->path || !s->crop || !s->lm || !s->st || !s->msg) {
        lqf_face_set_free(s);
        return NULL;
    }
    return s;
}

void lqf_face_set_free(lqf_face_set *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) {
        if (s->path) free(s->path[i]);
        if (s->crop) lqf_image_free(s->crop[i]);
        if (s->msg) free(s->msg[i]);
    }
    free(s->path);
    free(s->crop);
    free(s->lm);
    free(s->st);
    free(s->msg);
    free(s->cache_emb);
    free(s->cache_norm);
    free(s->use);
    free(s);
}

lqf_status lqf_face_set_select(lqf_face_set *s, const uint8_t *use) {
    free(s->use);
    s->use = NULL;
    if (!use) return LQF_OK;
    s->use = malloc((size_t)s->n);
    if (!s->use) return lqf_fail(LQF_ERR_NOMEM, "face set: out of memory");
    memcpy(s->use, use, (size_t)s->n);
    return LQF_OK;
}

int lqf_face_set_size(const lqf_face_set *s) { return s->n; }

lqf_status lqf_face_set_status(const lqf_face_set *s, int i, const char **msg) {
    if (msg) *msg = s->msg[i] ? s->msg[i] : "";
    return s->st[i];
}

static void template_landmarks(int size, float lm[10]) {
    for (int k = 0; k < 10; k++) lm[k] = lqf_arcface_template[k] * (float)size / 112.0f;
}

lqf_status lqf_face_set_from_paths(const char *const *paths, int n, lqf_detector *det, lqf_face_pick pick,
                                   int size, lqf_face_set **out, lqf_progress_fn progress, void *user) {
    *out = NULL;
    lqf_face_set *s = set_alloc(n, size);
    if (!s) return lqf_fail(LQF_ERR_NOMEM, "face set: out of memory for %d photos", n);
    s->from_detection = det != NULL;
    for (int i = 0; i < n; i++) {
        s->path[i] = strdup(paths[i]);
        lqf_face f;
        s->st[i] = lqf_load_aligned_face(det, paths[i], pick, size, LQF_RGB, &s->crop[i], &f);
        if (s->st[i]) s->msg[i] = strdup(lqf_last_error());
        else if (det) memcpy(s->lm[i], f.landmarks, sizeof f.landmarks);
        else template_landmarks(size, s->lm[i]);
        if (progress && ((i + 1) % 16 == 0 || i + 1 == n)) progress(user, "detect+align", i + 1, n);
    }
    *out = s;
    return LQF_OK;
}

lqf_status lqf_face_set_from_images(lqf_image **faces, char **fail_msg, int n, int size, lqf_face_set **out) {
    *out = NULL;
    lqf_face_set *s = set_alloc(n, size);
    if (!s) return lqf_fail(LQF_ERR_NOMEM, "face set: out of memory for %d faces", n);
    for (int i = 0; i < n; i++) {
        template_landmarks(size, s->lm[i]);
        if (!faces[i]) {
            s->st[i] = LQF_ERR_FORMAT;
            s->msg[i] = strdup(fail_msg && fail_msg[i] ? fail_msg[i] : "face missing");
            continue;
        }
        if (faces[i]->width != size || faces[i]->height != size) {
            s->st[i] = LQF_ERR_SHAPE;
            if (asprintf(&s->msg[i], "face %d is %dx%d, expected %dx%d", i, faces[i]->width, faces[i]->height, size,
                         size) < 0)
                s->msg[i] = NULL;
            lqf_image_free(faces[i]);
            continue;
        }
        lqf_image_set_order(faces[i], LQF_RGB);
        s->crop[i] = faces[i];
    }
    *out = s;
    return LQF_OK;
}

static int condition_is_clean(const lqf_condition *c) {
    return !c || (c->resolution <= 0 && c->blur_sigma <= 0 && c->noise_sigma <= 0 && c->jpeg_quality <= 0 &&
                  c->fae_rot_deg <= 0 && c->fae_scale <= 0 && c->fae_shift_px <= 0);
}

static int has_fae(const lqf_condition *c) { return c->fae_rot_deg > 0 || c->fae_scale > 0 || c->fae_shift_px > 0; }

lqf_status lqf_face_set_render(lqf_face_set *s, int i, const lqf_condition *c, uint64_t seed, lqf_image **out) {
    *out = NULL;
    if (i < 0 || i >= s->n) return lqf_fail(LQF_ERR_ARG, "face set: index %d out of range", i);
    if (s->st[i]) return lqf_fail(s->st[i], "%s", s->msg[i] ? s->msg[i] : "face unavailable");
    lqf_rng rng;
    lqf_rng_seed(&rng, seed * 0x9E3779B97F4A7C15ULL + (uint64_t)i);
    lqf_status st;
    lqf_image *img = NULL;
    if (c && has_fae(c)) {
        float lm[10];
        lqf_perturb_landmarks(s->lm[i], s->size, c->fae_rot_deg, c->fae_scale, c->fae_shift_px, &rng, lm);
        if (s->from_detection) {
            lqf_image *src;
            st = lqf_image_load(s->path[i], LQF_RGB, &src);
            if (st) return st;
            st = lqf_align_face(src, lm, s->size, &img);
            lqf_image_free(src);
        } else {
            st = lqf_align_face(s->crop[i], lm, s->size, &img);
        }
        if (st) return st;
    } else {
        st = lqf_image_clone(s->crop[i], &img);
        if (st) return st;
    }
    if (c) {
        if (c->resolution > 0) st = lqf_degrade_resolution(img, c->resolution);
        if (!st && c->blur_sigma > 0) st = lqf_degrade_blur(img, c->blur_sigma);
        if (!st && c->noise_sigma > 0) lqf_degrade_noise(img, c->noise_sigma, &rng);
        if (!st && c->jpeg_quality > 0) st = lqf_degrade_jpeg(img, c->jpeg_quality);
    }
    if (st) {
        lqf_image_free(img);
        return st;
    }
    *out = img;
    return LQF_OK;
}

lqf_status lqf_face_set_embed(lqf_face_set *s, lqf_embedder *e, const lqf_condition *c, uint64_t seed, float *emb,
                              float *norms, lqf_progress_fn progress, void *user) {
    int D = lqf_embedder_dim(e), clean = condition_is_clean(c);
    if (clean && s->cache_owner == e) {
        memcpy(emb, s->cache_emb, sizeof(float) * (size_t)s->n * D);
        if (norms) memcpy(norms, s->cache_norm, sizeof(float) * (size_t)s->n);
        return LQF_OK;
    }
    memset(emb, 0, sizeof(float) * (size_t)s->n * D);
    float *nrm = norms ? norms : malloc(sizeof(float) * (size_t)s->n);
    if (!norms && !nrm) return lqf_fail(LQF_ERR_NOMEM, "face set: out of memory");
    memset(nrm, 0, sizeof(float) * (size_t)s->n);
    lqf_image *batch[RENDER_CHUNK];
    int idx[RENDER_CHUNK];
    float *vec = malloc(sizeof(float) * (size_t)RENDER_CHUNK * D), q[RENDER_CHUNK];
    lqf_status result = vec ? LQF_OK : lqf_fail(LQF_ERR_NOMEM, "face set: out of memory");
    for (int base = 0; base < s->n && !result; base += RENDER_CHUNK) {
        int b = LQF_MIN(RENDER_CHUNK, s->n - base);
        lqf_image *r[RENDER_CHUNK] = {0};
#pragma omp parallel for schedule(dynamic, 4)
        for (int j = 0; j < b; j++) {
            if (s->st[base + j] || (!clean && s->use && !s->use[base + j])) continue;
            lqf_image *img = NULL;
            if (lqf_face_set_render(s, base + j, clean ? NULL : c, seed, &img) == LQF_OK) r[j] = img;
        }
        int m = 0;
        for (int j = 0; j < b; j++)
            if (r[j]) {
                batch[m] = r[j];
                idx[m++] = base + j;
            }
        if (m) result = lqf_embedder_embed(e, (const lqf_image *const *)batch, m, vec, q);
        for (int k = 0; k < m && !result; k++) {
            memcpy(emb + (size_t)idx[k] * D, vec + (size_t)k * D, sizeof(float) * D);
            nrm[idx[k]] = q[k];
        }
        for (int k = 0; k < m; k++) lqf_image_free(batch[k]);
        if (progress) progress(user, c && c->label[0] ? c->label : "embed", base + b, s->n);
    }
    free(vec);
    if (!result && clean) {
        free(s->cache_emb);
        free(s->cache_norm);
        s->cache_emb = malloc(sizeof(float) * (size_t)s->n * D);
        s->cache_norm = malloc(sizeof(float) * (size_t)s->n);
        if (s->cache_emb && s->cache_norm) {
            memcpy(s->cache_emb, emb, sizeof(float) * (size_t)s->n * D);
            memcpy(s->cache_norm, nrm, sizeof(float) * (size_t)s->n);
            s->cache_owner = e;
        } else {
            s->cache_owner = NULL;
        }
    }
    if (!norms) free(nrm);
    return result;
}
