/*
 * test_runner.c — the evaluation runners (src/eval/runner.c) wired as documented, on 12 real
 * LFW photos (YuNet) and a missing one, with a caller's embedding function (4x4 block means):
 * lqf_eval_verify's result per condition equals lqf_verify_eval on distances this test
 * computes itself from the face set's embeddings (pairs with the missing photo skipped, a
 * one-sided condition degrading only the second photo of each pair and embedding only
 * those), and lqf_eval_ident's equals lqf_ident_eval on similarities computed here (probes
 * degraded, gallery and distractors clean, failed photos left out of their role).
 */
#include "eval/eval.h"
#include "faceset/faceset.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double sqdist(const float *a, const float *b) {
    double s = 0;
    for (int k = 0; k < TU_BLOCK_DIM; k++) s += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return s;
}

/* The metrics agree (distances summed here may round differently in the last bit). */
static int same_result(const lqf_verify_result *a, const lqf_verify_result *b) {
    int ok = a->n_pairs == b->n_pairs && a->n_folds == b->n_folds && fabs(a->acc_mean - b->acc_mean) < 1e-12 &&
             fabs(a->acc_std - b->acc_std) < 1e-12 && a->best_thr == b->best_thr && fabs(a->eer - b->eer) < 1e-9 &&
             fabs(a->auc - b->auc) < 1e-9;
    for (int k = 0; k < LQF_EVAL_N_FAR; k++) ok &= fabs(a->tar_at_far[k] - b->tar_at_far[k]) < 1e-12;
    if (!ok)
        printf("  differ: n %d/%d folds %d/%d acc %.17g/%.17g std %.17g/%.17g thr %g/%g eer %.17g/%.17g auc %.17g/%.17g\n",
               a->n_pairs, b->n_pairs, a->n_folds, b->n_folds, a->acc_mean, b->acc_mean, a->acc_std, b->acc_std,
               a->best_thr, b->best_thr, a->eer, b->eer, a->auc, b->auc);
    return ok;
}

int main(void) {
    static const char *ids[6] = {"Aaron_Peirsol", "Abdullah_Gul", "Adrien_Brody", "Alejandro_Toledo", "Ali_Naimi",
                                 "Alvaro_Uribe"};
    /* photos 0..5: first photos, 6..11: second photos, 12: missing */
    char buf[13][512];
    const char *paths[13];
    for (int i = 0; i < 12; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "data/lfw/lfw-deepfunneled/%s/%s_%04d.jpg", ids[i % 6], ids[i % 6], 1 + i / 6);
        snprintf(buf[i], sizeof buf[i], "%s", tu_shared(rel));
        paths[i] = buf[i];
    }
    snprintf(buf[12], sizeof buf[12], "%s", tu_shared("data/lfw/missing_photo.jpg"));
    paths[12] = buf[12];
    lqf_detector *det = NULL;
    lqf_face_set *fs = NULL;
    if (!CHECK(lqf_detector_load(tu_shared("models/yunet_n_640_640.onnx"), NULL, &det) == LQF_OK) ||
        !CHECK(lqf_face_set_from_paths(paths, 13, det, LQF_PICK_CENTER, 112, &fs, NULL, NULL) == LQF_OK)) {
        lqf_detector_free(det);
        return tu_finish("test_runner");
    }
    lqf_condition cond[4];
    memset(cond, 0, sizeof cond);
    snprintf(cond[0].label, 64, "clean");
    cond[1].resolution = 14, snprintf(cond[1].label, 64, "14 px");
    cond[2].resolution = 16, cond[2].one_side = 1, snprintf(cond[2].label, 64, "cross 16 px");
    cond[3].fae_rot_deg = 6, cond[3].fae_scale = 0.06, cond[3].fae_shift_px = 3, cond[3].noise_sigma = 5;
    snprintf(cond[3].label, 64, "FAE 2 + noise 5");
    int cnt = 0;
    lqf_eval_options o = {tu_block_embed, &cnt, TU_BLOCK_DIM, 3, NULL, NULL};

    /* verification: 6 same pairs, 6 different, 1 with the missing photo */
    int a[13], b[13];
    uint8_t same[13];
    for (int k = 0; k < 6; k++) a[k] = k, b[k] = 6 + k, same[k] = 1;
    for (int k = 0; k < 6; k++) a[6 + k] = k, b[6 + k] = 6 + (k + 1) % 6, same[6 + k] = 0;
    a[12] = 12, b[12] = 7, same[12] = 1;
    lqf_verify_pairs vp = {13, 4, a, b, same};
    lqf_verify_result res[4], want;
    CHECK(lqf_eval_verify(fs, &vp, cond, 4, &o, res) == LQF_OK);
    int faces_run = cnt;
    float clean[13 * TU_BLOCK_DIM], deg[13 * TU_BLOCK_DIM];
    double d[12];
    int c2 = 0;
    CHECK(lqf_face_set_embed_with(fs, tu_block_embed, &c2, TU_BLOCK_DIM, NULL, 3, clean, NULL, NULL, NULL) == LQF_OK);
    for (int k = 0; k < 4; k++) {
        uint8_t second[13] = {0};
        for (int j = 0; j < 12; j++) second[b[j]] = 1;
        lqf_face_set_select(fs, cond[k].one_side ? second : NULL);
        int before = c2;
        CHECK(lqf_face_set_embed_with(fs, tu_block_embed, &c2, TU_BLOCK_DIM, &cond[k], 3, deg, NULL, NULL, NULL) == LQF_OK);
        if (k == 2) CHECK(c2 - before == 6); /* the second photos only */
        for (int j = 0; j < 12; j++) d[j] = sqdist((k == 2 ? clean : deg) + a[j] * TU_BLOCK_DIM, deg + b[j] * TU_BLOCK_DIM);
        CHECK(lqf_verify_eval(d, same, 12, 4, &want) == LQF_OK);
        printf("verify %-16s accuracy %.3f (runner) %.3f (recomputed), %d pairs\n", cond[k].label, res[k].acc_mean,
               want.acc_mean, res[k].n_pairs);
        CHECK(same_result(&res[k], &want) && res[k].n_pairs == 12);
    }
    lqf_face_set_select(fs, NULL);
    /* the runner embedded: clean 12, 14 px 12, cross 6, FAE 12 */
    CHECK(faces_run == 12 + 12 + 6 + 12);
    vp.n_folds = 13;
    CHECK(lqf_eval_verify(fs, &vp, cond, 1, &o, res) == LQF_ERR_ARG && strstr(lqf_last_error(), "only 12 usable"));

    /* identification: gallery = first photos 0..5 (5 relabelled so it has no mate), probes =
     * second photos, distractor = the missing photo (left out) */
    int glab[6] = {0, 1, 2, 3, 4, 99}, plab[6] = {0, 1, 2, 3, 4, 5};
    lqf_ident_sets sets = {6, 6, 1, glab, plab};
    lqf_ident_result ir[2], iw;
    double cmc[2 * LQF_EVAL_CMC_RANKS], cw[LQF_EVAL_CMC_RANKS];
    CHECK(lqf_eval_ident(fs, &sets, cond, 2, &o, ir, cmc) == LQF_OK);
    uint8_t probes[13] = {0};
    for (int i = 6; i < 12; i++) probes[i] = 1;
    for (int k = 0; k < 2; k++) {
        lqf_face_set_select(fs, probes);
        CHECK(lqf_face_set_embed_with(fs, tu_block_embed, &c2, TU_BLOCK_DIM, &cond[k], 3, deg, NULL, NULL, NULL) == LQF_OK);
        float sim[36];
        for (int p = 0; p < 6; p++)
            for (int g = 0; g < 6; g++) {
                double s = 0;
                for (int j = 0; j < TU_BLOCK_DIM; j++) s += (double)deg[(6 + p) * TU_BLOCK_DIM + j] * clean[g * TU_BLOCK_DIM + j];
                sim[p * 6 + g] = (float)s;
            }
        CHECK(lqf_ident_eval(sim, NULL, plab, glab, 6, 6, 0, cw, LQF_EVAL_CMC_RANKS, &iw) == LQF_OK);
        printf("ident %-8s rank-1 %.3f (runner) %.3f (recomputed), %d probes, %d distractors\n", cond[k].label,
               ir[k].rank1, iw.rank1, ir[k].n_probes, ir[k].n_distractors);
        CHECK(ir[k].rank1 == iw.rank1 && ir[k].rank5 == iw.rank5 && ir[k].n_mated == 5 && ir[k].n_nonmated == 1 &&
              ir[k].n_distractors == 0 && ir[k].dir[0] == iw.dir[0]);
        double e = 0;
        for (int r = 0; r < LQF_EVAL_CMC_RANKS; r++) e = fmax(e, fabs(cmc[k * LQF_EVAL_CMC_RANKS + r] - cw[r]));
        CHECK(e < 1e-6); /* float32 sgemm similarities vs double here: the same ranks */
    }
    lqf_face_set_free(fs);
    lqf_detector_free(det);
    return tu_finish("test_runner");
}
