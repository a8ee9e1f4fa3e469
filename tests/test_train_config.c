/*
 * test_train_config.c — the augmentation keys of `lqface train` (lqf_train_augment_config):
 * the preset, then `flip`, then each aug_* override lands in the loader's recipe with the
 * values given; malformed or out-of-range values are refused naming the key; and on real
 * faces (ORL) the overrides do what they say: a loader with `aug_cross 1,14` (every sample
 * through 14 px) or `aug_gblur 1,2,2` gives batches whose Laplacian energy
 * (augment/quality.h) is far below the plain loader's, and `aug_jpeg 1,5,5` moves the pixels
 * by several grey levels on average (its 8x8 block edges keep the Laplacian energy up, so
 * that measure does not show it), deterministically under the seed.
 */
#include "testutil.h"

#include "augment/quality.h"
#include "data/loader.h"
#include "train/run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static lqf_train_config base(void) {
    lqf_train_config c;
    lqf_train_config_default(&c);
    return c;
}

static int set_ok(lqf_train_config *c, const char *k, const char *v) { return lqf_train_config_set(c, k, v) == LQF_OK; }

/* mean Laplacian quality of the first batch of epoch 0 of ORL under the run's augmentation */
#define NB 32
#define BSZ ((size_t)NB * 112 * 112 * 3)
static float plain_x[BSZ], other_x[BSZ];

static double batch_quality(const lqf_train_config *c, float *copy) {
    lqf_dataset *d = NULL;
    if (lqf_dataset_open(tu_shared("data/orl/att_faces"), &d) != LQF_OK) {
        printf("ORL: %s\n", lqf_last_error());
        CHECK(0);
        return NAN;
    }
    lqf_loader_options o;
    lqf_loader_options_default(&o);
    o.batch_size = NB;
    o.seed = 3;
    o.n_threads = 2;
    o.width = o.height = 112;
    CHECK(lqf_train_augment_config(c, &o.augment) == LQF_OK);
    lqf_loader *l = NULL;
    CHECK(lqf_loader_create(d, &o, &l) == LQF_OK);
    double q = NAN;
    const lqf_batch *b = NULL;
    if (l && lqf_loader_start_epoch(l, 0) == LQF_OK && lqf_loader_next(l, &b) == LQF_OK && b) {
        float qs[NB];
        CHECK(lqf_laplacian_quality_batch(b->x, b->n, 112, 112, o.order, o.mean, o.std, qs) == LQF_OK);
        q = 0;
        for (int i = 0; i < b->n; i++) q += qs[i] / b->n;
        memcpy(copy, b->x, (size_t)b->n * 112 * 112 * 3 * sizeof(float));
    }
    lqf_loader_free(l);
    lqf_dataset_free(d);
    return q;
}

int main(void) {
    /* overrides land in the recipe */
    lqf_train_config c = base();
    CHECK(set_ok(&c, "augment", "adaface"));
    CHECK(set_ok(&c, "flip", "0.25"));
    CHECK(set_ok(&c, "aug_lowres", "0.5,0.1,0.3"));
    CHECK(set_ok(&c, "aug_gblur", "0.3,0.5,1.5"));
    CHECK(set_ok(&c, "aug_mblur", "0.2,3,7"));
    CHECK(set_ok(&c, "aug_noise", "0.1,1,4"));
    CHECK(set_ok(&c, "aug_jpeg", "0.4,20,60"));
    CHECK(set_ok(&c, "aug_jitter", "0.6,0.1,0.2,0.3"));
    CHECK(set_ok(&c, "aug_crop", "0.15"));
    CHECK(set_ok(&c, "aug_cross", "0.25,28,14"));
    lqf_augment_config a;
    CHECK(lqf_train_augment_config(&c, &a) == LQF_OK);
    CHECK(a.p_flip == 0.25f);
    CHECK(a.p_lowres == 0.5f && a.lowres_lo == 0.1f && a.lowres_hi == 0.3f);
    CHECK(a.p_gblur == 0.3f && a.gblur_lo == 0.5f && a.gblur_hi == 1.5f);
    CHECK(a.p_mblur == 0.2f && a.mblur_lo == 3 && a.mblur_hi == 7);
    CHECK(a.p_noise == 0.1f && a.noise_lo == 1.0f && a.noise_hi == 4.0f);
    CHECK(a.p_jpeg == 0.4f && a.jpeg_lo == 20 && a.jpeg_hi == 60);
    CHECK(a.p_jitter == 0.6f && a.brightness == 0.1f && a.contrast == 0.2f && a.saturation == 0.3f);
    lqf_augment_config ada;
    lqf_augment_preset_adaface(&ada);
    CHECK(a.p_crop == 0.15f && a.crop_scale_lo == ada.crop_scale_lo && a.crop_scale_hi == ada.crop_scale_hi);
    CHECK(a.cross_share == 0.25f && a.n_cross == 2 && a.cross_res[0] == 28 && a.cross_res[1] == 14);
    CHECK(a.interp_mask == ada.interp_mask); /* untouched fields keep the preset's */

    /* bad values refused naming the key */
    const char *bad[][2] = {{"aug_jpeg", "2,30,90"},  {"aug_jpeg", "0.5,90,30"}, {"aug_gblur", "0.5,1"},
                            {"aug_noise", "x"},       {"aug_cross", "0.5"},       {"aug_cross", "0.5,14.5"},
                            {"aug_jitter", "0.5,1"},  {"aug_lowres", "0.5,0,2"}, {"aug_mblur", "1,3,99"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lqf_train_config b = base();
        CHECK(set_ok(&b, bad[i][0], bad[i][1]));
        lqf_status st = lqf_train_augment_config(&b, &a);
        printf("%s = %s: %s\n", bad[i][0], bad[i][1], st ? lqf_last_error() : "accepted");
        CHECK(st == LQF_ERR_ARG && strstr(lqf_last_error(), bad[i][0]) != NULL);
    }

    /* effects on real faces */
    lqf_train_config plain = base();
    double q_plain = batch_quality(&plain, plain_x);
    lqf_train_config cr = base();
    CHECK(set_ok(&cr, "aug_cross", "1,14"));
    double q_cross = batch_quality(&cr, other_x);
    double q_cross2 = batch_quality(&cr, other_x);
    lqf_train_config gb = base();
    CHECK(set_ok(&gb, "aug_gblur", "1,2,2"));
    double q_blur = batch_quality(&gb, other_x);
    lqf_train_config jp = base();
    CHECK(set_ok(&jp, "aug_jpeg", "1,5,5"));
    batch_quality(&jp, other_x);
    double djpeg = 0;
    for (size_t i = 0; i < BSZ; i++) djpeg += fabs(other_x[i] - plain_x[i]) / BSZ;
    djpeg *= 127.5; /* grey levels */
    printf("ORL batch Laplacian quality: plain %.3f, aug_cross 1,14 %.3f, aug_gblur 1,2,2 %.3f; "
           "aug_jpeg 1,5,5 moves pixels by %.2f grey levels on average\n", q_plain, q_cross, q_blur, djpeg);
    CHECK(q_cross < q_plain - 1.0);
    CHECK(q_blur < q_plain - 1.0);
    CHECK(djpeg > 2.0);
    CHECK(q_cross == q_cross2); /* deterministic */
    return tu_finish("test_train_config");
}
