/*
 * faceset.c — photos prepared once for evaluation (lqf_face_set in lqface.h): decoded,
 * detected and aligned a single time, landmarks kept for face-alignment-error conditions,
 * clean embeddings cached per embedding function. For FAE re-alignment a set opened with FAE
 * bounds keeps, per photo, the window of the decoded photo that any re-alignment within the
 * bounds reads (or the whole photo when the window would be most of it), within a memory
 * bound, and warps that window (align.h: the bytes of a warp of the whole photo), so a sweep
 * decodes every photo once; a re-alignment that needs more reloads the photo. Rendering a
 * condition (FAE re-alignment, then resolution, blur, noise, JPEG on the crop) runs in
 * parallel over photos with a generator seeded per photo, so a sweep is deterministic
 * whatever the thread count.
 */
#define _GNU_SOURCE
#include "faceset/faceset.h"
#include "align/align.h"
#include "augment/degrade.h"
#include "embed/embed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RENDER_CHUNK 64
#define KEEP_BYTES_DEFAULT ((size_t)2 << 30)

typedef struct {
    lqf_image *img;    /* part of the decoded source photo (NULL: nothing kept) */
    int x, y;          /* its origin in the photo */
    int w, h;          /* the photo's size */
} kept_window;

struct lqf_face_set {
    int n, size;
    char **path;          /* source photo (NULL entries for in-memory sets) */
    int from_detection;   /* 1: landmarks are in the source photo; FAE re-aligns from it */
    lqf_image **crop;     /* clean aligned crop, NULL when the photo failed */
    float (*lm)[10];      /* landmarks used for the clean alignment */
    lqf_status *st;
    char **msg;
    kept_window *win;     /* what FAE re-alignment reads (from_detection sets) */
    size_t win_bytes;
    uint8_t *use;         /* photos embedded under a condition (NULL: all) */
    lqf_embed_fn cache_fn; /* clean embeddings cached for (cache_fn, cache_user, cache_dim) */
    void *cache_user;
    int cache_dim;
    float *cache_emb, *cache_norm;
};

static lqf_face_set *set_alloc(int n, int size) {
    lqf_face_set *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->n = n;
    s->size = size;
    size_t m = (size_t)LQF_MAX(n, 1);
    s->path = calloc(m, sizeof *s->path);
    s->crop = calloc(m, sizeof *s->crop);
    s->lm = calloc(m, sizeof *s->lm);
    s->st = calloc(m, sizeof *s->st);
    s->msg = calloc(m, sizeof *s->msg);
    s->win = calloc(m, sizeof *s->win);
    if (!s->path || !s->crop || !s->lm || !s->st || !s->msg || !s->win) {
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
        if (s->win) lqf_image_free(s->win[i].img);
    }
    free(s->path);
    free(s->crop);
    free(s->lm);
    free(s->st);
    free(s->msg);
    free(s->win);
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

int lqf_face_set_kept(const lqf_face_set *s, size_t *bytes) {
    int k = 0;
    for (int i = 0; i < s->n; i++) k += s->win[i].img != NULL;
    if (bytes) *bytes = s->win_bytes;
    return k;
}

static void template_landmarks(int size, float lm[10]) {
    for (int k = 0; k < 10; k++) lm[k] = lqf_arcface_template[k] * (float)size / 112.0f;
}

static int has_fae(const lqf_condition *c) { return c->fae_rot_deg > 0 || c->fae_scale > 0 || c->fae_shift_px > 0; }

/* ------------------------------------------------------------------ options */
void lqf_face_set_options_default(lqf_face_set_options *o) {
    memset(o, 0, sizeof *o);
    o->size = 112;
    o->pick = LQF_PICK_CENTER;
}

void lqf_face_set_options_cover(lqf_face_set_options *o, const lqf_condition *c, int n) {
    for (int i = 0; i < n; i++) {
        o->fae_rot_deg = fmax(o->fae_rot_deg, c[i].fae_rot_deg);
        o->fae_scale = fmax(o->fae_scale, c[i].fae_scale);
        o->fae_shift_px = fmax(o->fae_shift_px, c[i].fae_shift_px);
    }
}

/* ------------------------------------------------------------------ kept windows */
/* Photo rectangle box (x0, y0, x1, y1) that every FAE re-alignment within o's bounds reads.
 * lqf_perturb_landmarks moves the landmarks by P (rotation about their centroid, which the
 * clean alignment M maps onto the template's centroid c, scale, shift, all in the template
 * frame), and the alignment fitted to the moved landmarks is P^-1 M, so the crop's pixel y
 * reads photo point M^-1 P(y): the crop square moved by every such P (bounded by sampling
 * the rotation, plus the sag of the arcs between samples), mapped back through M^-1, plus
 * the warp's tap slack (lqf_warp_footprint) and a pixel for the float rounding of the
 * moved landmarks. */
static lqf_status fae_window(const float lm[10], int size, const lqf_face_set_options *o, int box[4]) {
    double M[6];
    lqf_status st = lqf_align_matrix(lm, size, M);
    if (st) return st;
    float t[10];
    template_landmarks(size, t);
    double c[2] = {(t[0] + t[2] + t[4] + t[6] + t[8]) / 5.0, (t[1] + t[3] + t[5] + t[7] + t[9]) / 5.0};
    const int steps = 32;
    double th = o->fae_rot_deg * M_PI / 180, lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY}, r = 0;
    for (int k = 0; k < 4; k++) {
        double dx = (k & 1 ? size - 1 : 0) - c[0], dy = (k & 2 ? size - 1 : 0) - c[1];
        r = fmax(r, hypot(dx, dy));
        for (int sgn = -1; sgn <= 1; sgn += 2)
            for (int j = 0; j <= steps; j++) {
                double a = th * (2.0 * j / steps - 1), s = 1 + sgn * o->fae_scale;
                double p[2] = {c[0] + s * (cos(a) * dx - sin(a) * dy), c[1] + s * (sin(a) * dx + cos(a) * dy)};
                for (int q = 0; q < 2; q++) lo[q] = fmin(lo[q], p[q]), hi[q] = fmax(hi[q], p[q]);
            }
    }
    double grow = (1 + o->fae_scale) * r * (1 - cos(th / steps)) + o->fae_shift_px;
    double det = M[0] * M[4] - M[1] * M[3];
    if (!(fabs(det) > 0)) return lqf_fail(LQF_ERR_NUMERIC, "face set: singular alignment");
    double Mi[6] = {M[4] / det, -M[1] / det, 0, -M[3] / det, M[0] / det, 0};
    Mi[2] = -(Mi[0] * M[2] + Mi[1] * M[5]);
    Mi[5] = -(Mi[3] * M[2] + Mi[4] * M[5]);
    double plo[2] = {INFINITY, INFINITY}, phi[2] = {-INFINITY, -INFINITY};
    for (int k = 0; k < 4; k++) {
        double x = k & 1 ? hi[0] + grow : lo[0] - grow, y = k & 2 ? hi[1] + grow : lo[1] - grow;
        for (int q = 0; q < 2; q++) {
            double v = Mi[3 * q] * x + Mi[3 * q + 1] * y + Mi[3 * q + 2];
            plo[q] = fmin(plo[q], v), phi[q] = fmax(phi[q], v);
        }
    }
    if (!(phi[0] - plo[0] < 1e6 && phi[1] - plo[1] < 1e6)) return lqf_fail(LQF_ERR_NUMERIC, "face set: window too large");
    for (int q = 0; q < 2; q++) {
        box[q] = (int)floor(plo[q]) - 3;
        box[q + 2] = (int)floor(phi[q]) + 4;
    }
    return LQF_OK;
}

/* Keep what FAE re-alignment of photo i reads: its window (box clipped to the photo), the
 * whole photo (taking *photo) when the window is most of it, or nothing past the memory
 * bound or when no FAE is to be rendered. */
static void keep_window(lqf_face_set *s, int i, lqf_image **photo, const lqf_face_set_options *o) {
    kept_window *k = &s->win[i];
    lqf_image *p = *photo;
    int box[4] = {0, 0, 0, 0};
    k->w = p->width, k->h = p->height;
    if (!(o->fae_rot_deg > 0 || o->fae_scale > 0 || o->fae_shift_px > 0)) return;
    if (fae_window(s->lm[i], s->size, o, box)) return;
    int x0 = LQF_MAX(box[0], 0), y0 = LQF_MAX(box[1], 0), x1 = LQF_MIN(box[2], p->width), y1 = LQF_MIN(box[3], p->height);
    if (x1 <= x0 || y1 <= y0) x0 = y0 = 0, x1 = y1 = 1; /* the re-alignments read nothing of the photo */
    size_t area = (size_t)(x1 - x0) * (y1 - y0), whole = (size_t)p->width * p->height;
    if (4 * area >= 3 * whole) x0 = y0 = 0, x1 = p->width, y1 = p->height, area = whole;
    size_t bytes = area * 3, cap = o->keep_bytes ? o->keep_bytes : KEEP_BYTES_DEFAULT;
    if (s->win_bytes + bytes > cap) return;
    if (area == whole) {
        k->img = p;
        *photo = NULL;
    } else {
        if (lqf_image_create(x1 - x0, y1 - y0, p->order, &k->img)) return; /* then FAE reloads the photo */
        for (int y = y0; y < y1; y++)
            memcpy(k->img->data + (size_t)(y - y0) * (x1 - x0) * 3, p->data + ((size_t)y * p->width + x0) * 3,
                   (size_t)(x1 - x0) * 3);
    }
    k->x = x0, k->y = y0;
    s->win_bytes += bytes;
}

/* The crop of photo i re-aligned to landmarks lm: from its kept window when that holds what
 * the warp reads (lqf_warp_footprint clipped to the photo), else from the photo reloaded. */
static lqf_status realign(const lqf_face_set *s, int i, const float lm[10], lqf_image **out) {
    const kept_window *k = &s->win[i];
    double M[6];
    int b[4];
    if (k->img && !lqf_align_matrix(lm, s->size, M) && !lqf_warp_footprint(M, s->size, s->size, b)) {
        int x0 = LQF_MAX(b[0], 0), y0 = LQF_MAX(b[1], 0), x1 = LQF_MIN(b[2], k->w), y1 = LQF_MIN(b[3], k->h);
        int inside = x1 <= x0 || y1 <= y0 ||
                     (x0 >= k->x && y0 >= k->y && x1 <= k->x + k->img->width && y1 <= k->y + k->img->height);
        if (inside) return lqf_warp_affine_window(k->img, k->x, k->y, M, s->size, s->size, out);
    }
    lqf_image *src;
    lqf_status st = lqf_image_load(s->path[i], LQF_RGB, &src);
    if (st) return st;
    st = lqf_align_face(src, lm, s->size, out);
    lqf_image_free(src);
    return st;
}

/* ------------------------------------------------------------------ building */
/* Photo i: decode, detect and align (or take the aligned face), keep the FAE window. */
static void prepare(lqf_face_set *s, int i, lqf_detector *det, const lqf_face_set_options *o) {
    lqf_image *photo = NULL;
    lqf_face f;
    if (!det) {
        s->st[i] = lqf_load_aligned_face(NULL, s->path[i], o->pick, s->size, LQF_RGB, &s->crop[i], NULL);
        template_landmarks(s->size, s->lm[i]);
    } else if (!(s->st[i] = lqf_image_load(s->path[i], LQF_RGB, &photo)) &&
               !(s->st[i] = lqf_detect_align(det, photo, s->path[i], o->pick, s->size, &s->crop[i], &f))) {
        memcpy(s->lm[i], f.landmarks, sizeof f.landmarks);
        keep_window(s, i, &photo, o);
    }
    if (s->st[i]) s->msg[i] = strdup(lqf_last_error());
    lqf_image_free(photo);
}

lqf_status lqf_face_set_open(const char *const *paths, int n, lqf_detector *det, const lqf_face_set_options *o,
                             lqf_face_set **out, lqf_progress_fn progress, void *user) {
    *out = NULL;
    lqf_face_set_options d;
    if (!o) lqf_face_set_options_default(&d), o = &d;
    if (n < 0 || o->size <= 0 || o->size > 4096)
        return lqf_fail(LQF_ERR_ARG, "face set: bad arguments (%d photos, crop size %d)", n, o->size);
    lqf_face_set *s = set_alloc(n, o->size);
    if (!s) return lqf_fail(LQF_ERR_NOMEM, "face set: out of memory for %d photos", n);
    s->from_detection = det != NULL;
    for (int i = 0; i < n; i++) {
        if (!(s->path[i] = strdup(paths[i]))) {
            lqf_face_set_free(s);
            return lqf_fail(LQF_ERR_NOMEM, "face set: out of memory for %d photos", n);
        }
        prepare(s, i, det, o);
        if (progress && ((i + 1) % 16 == 0 || i + 1 == n)) progress(user, "detect+align", i + 1, n);
    }
    *out = s;
    return LQF_OK;
}

lqf_status lqf_face_set_from_paths(const char *const *paths, int n, lqf_detector *det, lqf_face_pick pick,
                                   int size, lqf_face_set **out, lqf_progress_fn progress, void *user) {
    lqf_face_set_options o;
    lqf_face_set_options_default(&o);
    o.size = size;
    o.pick = pick;
    return lqf_face_set_open(paths, n, det, &o, out, progress, user);
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

/* ------------------------------------------------------------------ rendering, embedding */
int lqf_condition_is_clean(const lqf_condition *c) {
    return !c || (c->resolution <= 0 && c->blur_sigma <= 0 && c->noise_sigma <= 0 && c->jpeg_quality <= 0 &&
                  !has_fae(c));
}

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
        st = s->from_detection ? realign(s, i, lm, &img) : lqf_align_face(s->crop[i], lm, s->size, &img);
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

/* Keep a copy of clean embeddings (and norms) for (fn, user, dim); a failed copy keeps none. */
static void cache_clean(lqf_face_set *s, lqf_embed_fn fn, void *user, int D, const float *emb, const float *nrm) {
    free(s->cache_emb);
    free(s->cache_norm);
    s->cache_emb = malloc(sizeof(float) * (size_t)s->n * D);
    s->cache_norm = malloc(sizeof(float) * (size_t)s->n);
    s->cache_fn = NULL;
    if (!s->cache_emb || !s->cache_norm) return;
    memcpy(s->cache_emb, emb, sizeof(float) * (size_t)s->n * D);
    memcpy(s->cache_norm, nrm, sizeof(float) * (size_t)s->n);
    s->cache_fn = fn, s->cache_user = user, s->cache_dim = D;
}

lqf_status lqf_face_set_embed_with(lqf_face_set *s, lqf_embed_fn fn, void *user, int D, const lqf_condition *c,
                                   uint64_t seed, float *emb, float *norms, lqf_progress_fn progress,
                                   void *progress_user) {
    int clean = lqf_condition_is_clean(c);
    if (clean && s->cache_fn == fn && s->cache_user == user && s->cache_dim == D) {
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
        if (m) result = fn(user, (const lqf_image *const *)batch, m, vec, q);
        for (int k = 0; k < m && !result; k++) {
            memcpy(emb + (size_t)idx[k] * D, vec + (size_t)k * D, sizeof(float) * D);
            nrm[idx[k]] = q[k];
        }
        for (int k = 0; k < m; k++) lqf_image_free(batch[k]);
        if (progress) progress(progress_user, c && c->label[0] ? c->label : "embed", base + b, s->n);
    }
    free(vec);
    if (!result && clean) cache_clean(s, fn, user, D, emb, nrm);
    if (!norms) free(nrm);
    return result;
}

lqf_status lqf_face_set_embed(lqf_face_set *s, lqf_embedder *e, const lqf_condition *c, uint64_t seed, float *emb,
                              float *norms, lqf_progress_fn progress, void *user) {
    return lqf_face_set_embed_with(s, lqf_embedder_embed_fn, e, lqf_embedder_dim(e), c, seed, emb, norms, progress,
                                   user);
}
