/*
 * test_faceset.c — prepared face sets (src/faceset/) on 12 real LFW photos with YuNet: a set
 * opened with FAE bounds decodes every photo exactly once through a sweep of clean, FAE 1-4
 * at 112 px and FAE 1-4 at 28 px (lqf_image_loads counts the photos read), and its FAE crops
 * equal, byte for byte, those of a set that keeps nothing and reloads the photo for every
 * re-alignment (the path that re-decodes, whose loads the same counter sees: so the count
 * would catch a second decode). A memory bound too small for any window falls back to
 * reloading, with the same crops. Embedding through a caller's lqf_embed_fn: only the
 * selected photos are embedded under a condition, failed photos get zero rows, and clean
 * embeddings are computed once per function.
 */
#include "faceset/faceset.h"
#include "image/image.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NP 13 /* 12 photos and a missing file */


static void fae(lqf_condition *c, double level, int res) {
    memset(c, 0, sizeof *c);
    snprintf(c->label, sizeof c->label, "%d px FAE %g", res ? res : 112, level);
    c->resolution = res;
    c->fae_rot_deg = 3 * level, c->fae_scale = 0.03 * level, c->fae_shift_px = 1.5 * level;
}

/* Bytes that differ between the crops of photo 0..NP-1 under c in sets a and b. */
static size_t crops_differ(lqf_face_set *a, lqf_face_set *b, const lqf_condition *c) {
    size_t diff = 0;
    for (int i = 0; i < NP; i++) {
        lqf_image *x = NULL, *y = NULL;
        lqf_status sa = lqf_face_set_render(a, i, c, 7, &x), sb = lqf_face_set_render(b, i, c, 7, &y);
        if (sa || sb) diff += sa != sb;
        else
            for (size_t k = 0; k < (size_t)x->width * x->height * 3; k++) diff += x->data[k] != y->data[k];
        lqf_image_free(x);
        lqf_image_free(y);
    }
    return diff;
}

int main(void) {
    static const char *ids[6] = {"Aaron_Peirsol", "Abdullah_Gul", "Adrien_Brody", "Alejandro_Toledo", "Ali_Naimi",
                                 "Alvaro_Uribe"};
    char buf[NP][512];
    const char *paths[NP];
    for (int i = 0; i < 12; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "data/lfw/lfw-deepfunneled/%s/%s_%04d.jpg", ids[i / 2], ids[i / 2], 1 + i % 2);
        snprintf(buf[i], sizeof buf[i], "%s", tu_shared(rel));
        paths[i] = buf[i];
    }
    snprintf(buf[12], sizeof buf[12], "%s", tu_shared("data/lfw/no_such_photo.jpg"));
    paths[12] = buf[12];
    lqf_detector *det = NULL;
    if (!CHECK(lqf_detector_load(tu_shared("models/yunet_n_640_640.onnx"), NULL, &det) == LQF_OK)) {
        fprintf(stderr, "%s\n", lqf_last_error());
        return tu_finish("test_faceset");
    }
    lqf_condition cond[9];
    memset(&cond[0], 0, sizeof cond[0]);
    snprintf(cond[0].label, sizeof cond[0].label, "clean");
    for (int l = 1; l <= 4; l++) fae(&cond[l], l, 0), fae(&cond[4 + l], l, 28);

    /* a set that keeps the FAE windows: one decode per photo for the whole sweep */
    lqf_face_set_options o;
    lqf_face_set_options_default(&o);
    lqf_face_set_options_cover(&o, cond, 9);
    CHECK(o.fae_rot_deg == 12 && o.fae_scale == 0.12 && o.fae_shift_px == 6);
    uint64_t l0 = lqf_image_loads();
    lqf_face_set *win = NULL, *reload = NULL, *tiny = NULL;
    CHECK(lqf_face_set_open(paths, NP, det, &o, &win, NULL, NULL) == LQF_OK);
    uint64_t l1 = lqf_image_loads();
    size_t kept_bytes = 0;
    int kept = win ? lqf_face_set_kept(win, &kept_bytes) : 0;
    printf("opened 12 photos + 1 missing: %llu decodes, %d windows kept (%.0f KB, %.0f%% of the decoded photos)\n",
           (unsigned long long)(l1 - l0), kept, kept_bytes / 1024.0, 100.0 * kept_bytes / (12 * 250 * 250 * 3));
    CHECK(l1 - l0 == 12 && kept == 12);
    CHECK(kept_bytes < 12 * 250 * 250 * 3); /* windows, not whole photos */
    const char *msg;
    CHECK(win && lqf_face_set_status(win, 12, &msg) == LQF_ERR_IO && strstr(msg, "no_such_photo.jpg"));
    for (int i = 0; win && i < 12; i++) CHECK(lqf_face_set_status(win, i, NULL) == LQF_OK);

    float *emb = malloc(sizeof(float) * NP * TU_BLOCK_DIM), *first = malloc(sizeof(float) * NP * TU_BLOCK_DIM);
    int calls = 0;
    for (int k = 0; win && k < 9; k++) CHECK(lqf_face_set_embed_with(win, tu_block_embed, &calls, TU_BLOCK_DIM, &cond[k], 7, emb,
                                                                     NULL, NULL, NULL) == LQF_OK);
    uint64_t l2 = lqf_image_loads();
    printf("sweep of clean + 8 FAE conditions: %llu more decodes, %d faces embedded\n", (unsigned long long)(l2 - l1),
           calls);
    CHECK(l2 == l1);      /* no photo decoded a second time */
    CHECK(calls == 9 * 12); /* failed photo never embedded */
    for (int d = 0; d < TU_BLOCK_DIM; d++) CHECK(emb[12 * TU_BLOCK_DIM + d] == 0);

    /* the same crops as re-aligning from the photo decoded again, which the counter sees */
    CHECK(lqf_face_set_from_paths(paths, NP, det, LQF_PICK_CENTER, 112, &reload, NULL, NULL) == LQF_OK);
    uint64_t l3 = lqf_image_loads();
    size_t diff = 0;
    for (int k = 1; win && reload && k < 9; k++) diff += crops_differ(win, reload, &cond[k]);
    uint64_t l4 = lqf_image_loads();
    printf("FAE crops from kept windows vs from reloaded photos (8 conditions x 12 photos): %zu bytes differ; the "
           "reloading set decoded %llu photos\n", diff, (unsigned long long)(l4 - l3));
    CHECK(diff == 0);
    CHECK(l4 - l3 == 8 * 12); /* the window set rendered with no load; the other reloaded each time */

    /* a memory bound that holds no window: FAE reloads, the crops are the same */
    o.keep_bytes = 1;
    CHECK(lqf_face_set_open(paths, NP, det, &o, &tiny, NULL, NULL) == LQF_OK);
    CHECK(tiny && lqf_face_set_kept(tiny, NULL) == 0);
    uint64_t l5 = lqf_image_loads();
    if (tiny && reload) CHECK(crops_differ(tiny, reload, &cond[4]) == 0);
    CHECK(lqf_image_loads() - l5 == 2 * 12);

    /* selection and the clean cache through the callback */
    uint8_t use[NP] = {0};
    use[1] = use[3] = 1;
    calls = 0;
    CHECK(lqf_face_set_select(win, use) == LQF_OK);
    CHECK(lqf_face_set_embed_with(win, tu_block_embed, &calls, TU_BLOCK_DIM, &cond[2], 7, emb, NULL, NULL, NULL) == LQF_OK);
    CHECK(calls == 2);
    int zero_rows = 0;
    for (int i = 0; i < NP; i++) zero_rows += emb[i * TU_BLOCK_DIM] == 0 && emb[i * TU_BLOCK_DIM + 1] == 0;
    CHECK(zero_rows == NP - 2);
    CHECK(lqf_face_set_embed_with(win, tu_block_embed, &calls, TU_BLOCK_DIM, NULL, 7, first, NULL, NULL, NULL) == LQF_OK);
    CHECK(calls == 2); /* clean: from the cache, for every photo despite the selection */
    int other = 0;
    CHECK(lqf_face_set_embed_with(win, tu_block_embed, &other, TU_BLOCK_DIM, NULL, 7, emb, NULL, NULL, NULL) == LQF_OK);
    CHECK(other == 12 && !memcmp(emb, first, sizeof(float) * NP * TU_BLOCK_DIM)); /* another function: its own embeddings */

    free(emb);
    free(first);
    lqf_face_set_free(win);
    lqf_face_set_free(reload);
    lqf_face_set_free(tiny);
    lqf_detector_free(det);
    return tu_finish("test_faceset");
}
