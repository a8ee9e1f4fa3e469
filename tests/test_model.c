/*
 * test_model.c — a training checkpoint opened as an inference network (src/train/model.h):
 * a reduced IResNet-18 of each variant (insightface: BN + conv1x1 shortcuts; AdaFace:
 * maxpool shortcuts, dropout 0.4, BGR) is trained a few SGD steps on a fixed batch so that
 * its weights and BatchNorm running statistics move away from the initialisation, saved, and
 * reopened with lqf_model_load_checkpoint: the inference network (BN folded, epilogues
 * fused, dropout the identity) must give the trainer's own eval-mode embeddings
 * (lqf_train_embed) within 1e-4 relative to the largest value, and differ clearly from the
 * untrained network's (so the tensors really come from the file); the input contract comes
 * back from the metadata. A file that is not a checkpoint is refused naming it.
 */
#include "testutil.h"

#include "augment/degrade.h"
#include "nn/net.h"
#include "train/model.h"
#include "train/run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define B 8
#define S 32

static void run_case(const char *variant, const char *order, const char *dropout) {
    lqf_train_config c;
    lqf_train_config_default(&c);
    tu_train_set(&c, "arch", "iresnet18");
    tu_train_set(&c, "variant", variant);
    tu_train_set(&c, "width", "8,16,24,32");
    tu_train_set(&c, "input_size", "32");
    tu_train_set(&c, "emb", "16");
    tu_train_set(&c, "dropout", dropout);
    tu_train_set(&c, "channel_order", order);
    tu_train_set(&c, "classes", "5");
    tu_train_set(&c, "batch", "8");
    tu_train_set(&c, "threads", "1");
    tu_train_set(&c, "head", "cosface");
    tu_train_set(&c, "s", "16");
    tu_train_set(&c, "optimizer", "sgd");
    tu_train_set(&c, "lr", "0.01");
    tu_train_set(&c, "seed", "11");
    tu_train_set(&c, "steps", "100");
    lqf_train *t = NULL, *fresh = NULL;
    CHECK(lqf_train_open(&c, &t) == LQF_OK);
    if (!t) printf("open: %s\n", lqf_last_error());
    CHECK(lqf_train_open(&c, &fresh) == LQF_OK);
    if (!t || !fresh) return;
    /* a fixed batch: smooth random images (the BN statistics must be non-trivial) */
    size_t isz = (size_t)S * S * 3;
    float *x = malloc(B * isz * sizeof(float)), *xn = malloc(B * isz * sizeof(float));
    int labels[B];
    lqf_rng rng;
    lqf_rng_seed(&rng, 5);
    for (int b = 0; b < B; b++) {
        labels[b] = b % 5;
        double fx = 0.1 + 0.05 * b, fy = 0.2 + 0.03 * b;
        for (int y = 0; y < S; y++)
            for (int xx = 0; xx < S; xx++)
                for (int ch = 0; ch < 3; ch++)
                    x[(((size_t)b * S + y) * S + xx) * 3 + ch] =
                        (float)(0.6 * sin(fx * xx + ch) * cos(fy * y) + 0.2 * (lqf_rng_uniform(&rng) - 0.5));
    }
    for (int step = 0; step < 6; step++) CHECK(lqf_train_step(t, x, labels, B, NULL) == LQF_OK);
    char path[256];
    snprintf(path, sizeof path, "/tmp/lqf_test_model_%d_%s.safetensors", (int)getpid(), variant);
    CHECK(lqf_train_save(t, path) == LQF_OK);

    float want[B * 16], untrained[B * 16], got[B * 16];
    CHECK(lqf_train_embed(t, x, B, want) == LQF_OK);
    CHECK(lqf_train_embed(fresh, x, B, untrained) == LQF_OK);

    lqf_net *net = NULL;
    lqf_ckpt_info info;
    CHECK(lqf_model_load_checkpoint(path, &net, &info) == LQF_OK);
    if (net) {
        CHECK(info.input_w == S && info.input_h == S && info.embedding_size == 16);
        CHECK(info.order == (!strcmp(order, "BGR") ? LQF_BGR : LQF_RGB));
        /* the network's input is logical NCHW */
        for (int b = 0; b < B; b++)
            for (int ch = 0; ch < 3; ch++)
                for (int p = 0; p < S * S; p++) xn[((size_t)b * 3 + ch) * S * S + p] = x[((size_t)b * S * S + p) * 3 + ch];
        const float *ins[1] = {xn};
        float *outs[1] = {got};
        CHECK(lqf_net_run(net, B, ins, outs) == LQF_OK);
        double big = tu_max_abs(want, B * 16), d = 0, du = 0;
        for (int i = 0; i < B * 16; i++) {
            d = fmax(d, fabs(got[i] - want[i]));
            du = fmax(du, fabs(untrained[i] - want[i]));
        }
        printf("%s/%s dropout %s: max |checkpoint net - trainer eval| %.3g (largest %.3g); trained vs untrained %.3g\n",
               variant, order, dropout, d, big, du);
        CHECK(d <= 1e-4 * big);
        CHECK(du > 0.05 * big);
        lqf_net_free(net);
    }
    unlink(path);
    free(x);
    free(xn);
    lqf_train_free(t);
    lqf_train_free(fresh);
}

int main(void) {
    run_case("insightface", "RGB", "0");
    run_case("adaface", "BGR", "0.4");
    lqf_net *net = NULL;
    FILE *f = fopen("/tmp/lqf_test_model_bad.safetensors", "wb");
    if (f) {
        fputs("this is not a checkpoint", f);
        fclose(f);
    }
    CHECK(lqf_model_load_checkpoint("/tmp/lqf_test_model_bad.safetensors", &net, NULL) != LQF_OK && !net);
    printf("bad file: %s\n", lqf_last_error());
    CHECK(strstr(lqf_last_error(), "lqf_test_model_bad.safetensors") != NULL);
    unlink("/tmp/lqf_test_model_bad.safetensors");
    return tu_finish("test_model");
}
