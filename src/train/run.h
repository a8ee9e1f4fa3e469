/*
 * run.h — the training run that ties the engine together (`lqface train`): a config of
 * key = value settings (data, architecture or an imported ONNX network to fine-tune, margin
 * head, optimiser, schedule, augmentation, ARoFace, checkpoints, validation) and the loop
 *   loader batch (NHWC) -> trainer forward -> head forward_backward on the embedding ->
 *   dL/dembedding -> trainer backward -> clip -> optimiser steps (backbone with decay / no
 *   decay groups, head kernel with its own optimiser, same schedule) -> zero gradients,
 * with checkpoints (checkpoint.h: parameters by state_dict / ONNX initializer name in
 * PyTorch layout, BN running statistics, head kernel and state, optimiser buffers, step,
 * epoch, batch within the epoch, the config as metadata) that resume EXACTLY, validation on
 * a verification pair list with the current network in eval mode (flip fusion,
 * lqf_verify_eval), and a progress callback. The library never prints: the CLI formats the
 * progress and writes the JSON-lines log.
 * Quality-guided training (qgface = 1, QGFace): the loader gives two views per sample, the
 * network runs on [HQ; LQ] (2B images), the AdaFace head with its quality gate on all 2B rows
 * and the contrastive branch (qgface.h) on the pairs add their gradients on the embeddings;
 * quality = laplacian feeds AdaFace the input's Laplacian energy (augment/quality.h).
 *
 * Use: lqf_train_config_default, lqf_train_config_set(key, value) for each setting,
 * lqf_train_open (builds or imports the network, opens the data, restores `resume`),
 * lqf_train_loop, lqf_train_free. lqf_train_step runs one step on a caller's batch (tests).
 */
#ifndef LQF_TRAIN_RUN_H
#define LQF_TRAIN_RUN_H

#include "augment/augment.h"
#include "nn/graph.h"
#include "train/heads.h"

#define LQF_TRAIN_PATH 1024

typedef struct {
    /* data */
    char data[LQF_TRAIN_PATH];      /* folder, list file or .rec */
    char data_root[LQF_TRAIN_PATH]; /* root of relative paths in a list file ("" = its dir) */
    int classes;                    /* 0: the dataset's count */
    char lfw_pairs[LQF_TRAIN_PATH]; /* with lfw_test_fold: train on the identities of the */
    int lfw_test_fold;              /* other folds only (data = a folder of identities) */
    char augment[32];               /* none | adaface | qgface-lq */
    /* overrides of the preset, "p,lo,hi" ("" = the preset's): */
    char aug_lowres[64];            /* low resolution: side fraction lo..hi */
    char aug_gblur[64];             /* Gaussian blur: sigma lo..hi (pixels) */
    char aug_mblur[64];             /* motion blur: length lo..hi (odd pixels) */
    char aug_noise[64];             /* additive Gaussian noise: sigma lo..hi (grey levels) */
    char aug_jpeg[64];              /* JPEG re-encoding: quality lo..hi */
    char aug_jitter[64];            /* colour jitter "p[,brightness,contrast,saturation]" */
    char aug_crop[64];              /* AdaFace crop "p[,scale_lo,scale_hi]" */
    char aug_cross[128];            /* cross-resolution batches "share,r1[,r2...]" (pixels) */
    float flip;                     /* horizontal flip probability; < 0: the preset's */
    int loader_threads;
    /* network */
    char arch[32];                  /* iresnet18..200 | mobilefacenet | onnx */
    char variant[32];               /* insightface | adaface (IResNet shortcut/head) */
    char init_onnx[LQF_TRAIN_PATH]; /* fine-tune this ONNX network (arch becomes "onnx") */
    char onnx_bn[8];                /* its BatchNorms: fold (into the convolutions) | train */
    int width[4];                   /* IResNet stage widths (reduced nets) */
    int mfn_base, mfn_sep;          /* MobileFaceNet widths */
    int input_size;                 /* square input side (112) */
    int emb;                        /* embedding size */
    float dropout;                  /* < 0: the variant's default */
    char channel_order[8];          /* RGB | BGR */
    float input_mean, input_std;    /* (pixel - mean) / std */
    /* head */
    char head[32];
    float s, m, m1, m2, m3, h, t_alpha;
    /* optimiser and schedule */
    char optimizer[16];             /* sgd | adamw */
    float lr, momentum, weight_decay, beta1, beta2, adam_eps;
    int bn_decay;                   /* 0: no weight decay on BatchNorm (AdaFace), 1: decay all */
    char schedule[16];              /* poly | multistep | cosine | constant */
    int warmup_steps;
    float warmup_factor, power, gamma, eta_min;
    char milestones[128];           /* epochs, comma-separated (multistep) */
    float clip_grad;                /* backbone gradient norm bound, 0 = off */
    float head_lr_mult;             /* the head kernel's lr = lr x this (1) */
    char freeze[256];               /* comma-separated tensor-name prefixes */
    /* length */
    int epochs;
    long steps;                     /* 0: epochs x batches per epoch */
    int batch;
    int threads;                    /* compute threads (0: library default) */
    uint64_t seed;
    double max_seconds;             /* stop (with a checkpoint) after this long; 0 = no bound */
    /* checkpoints */
    char ckpt_dir[LQF_TRAIN_PATH];  /* "" = no checkpoints */
    int ckpt_every;                 /* steps; 0 = only at the end */
    int keep_last;                  /* numbered checkpoints kept (0 = all) */
    char resume[LQF_TRAIN_PATH];    /* checkpoint file to continue from, or "auto" (or a
                                       directory): its newest checkpoint that loads (resume.h) */
    /* validation */
    char val_pairs[LQF_TRAIN_PATH]; /* LFW pairs.txt or `path path label` list */
    char val_root[LQF_TRAIN_PATH];
    char val_align[16];             /* none (aligned crops, resized) | yunet */
    char val_detector[LQF_TRAIN_PATH]; /* YuNet model for val_align = yunet */
    int val_every;                  /* steps; 0 = only at the end */
    /* ARoFace */
    int aroface;
    char aro_preset[16];            /* reference | fixed */
    int aro_k;
    float aro_ratio;
    /* quality-guided training (QGFace; docs/training.md) */
    char quality[16];               /* AdaFace's quality signal: norm | laplacian */
    int quality_ema_init;           /* 1: first batch starts the EMA, 0: 20/100 prior, -1: auto */
    float quality_gate;             /* classifier gate qs (AdaFace), 0 off; < 0: qg_quality_scale
                                       with qgface, else off */
    int qgface;                     /* 1: two views + contrastive branch */
    float qg_quality_scale;         /* qs of the contrastive hard gate (and of the classifier's) */
    float qg_weight;                /* w in L = L_cla + w * L_con */
    int qg_queue;                   /* queue size K */
} lqf_train_config;

void lqf_train_config_default(lqf_train_config *c);
/* Set one key from its text value; LQF_ERR_ARG names an unknown key or a bad value. */
lqf_status lqf_train_config_set(lqf_train_config *c, const char *key, const char *value);
/* The loader's augmentation of the run: the `augment` preset, `flip`, then the aug_* overrides
 * (LQF_ERR_ARG naming the key when a value does not parse or is out of range). */
lqf_status lqf_train_augment_config(const lqf_train_config *c, lqf_augment_config *a);
/* Parse `key = value` lines of text (len bytes; '#' starts a comment, blank lines skipped);
 * messages name "name:LINE". skip_unknown: keys this build does not know are ignored (the
 * config a newer lqface wrote into a checkpoint). */
lqf_status lqf_train_config_parse(lqf_train_config *c, const char *text, size_t len, const char *name,
                                  int skip_unknown);
/* Read `key = value` lines ('#' comments, blank lines) from a file. */
lqf_status lqf_train_config_load(lqf_train_config *c, const char *path);
/* The key table: number of keys, name and one-line help of key i; value of a key as text. */
int lqf_train_config_n_keys(void);
const char *lqf_train_config_key(int i, const char **help);
void lqf_train_config_get(const lqf_train_config *c, const char *key, char *buf, size_t len);

typedef enum {
    LQF_TRAIN_EV_STEP = 0, /* a step was done */
    LQF_TRAIN_EV_VAL,      /* a validation finished (val_acc set) */
    LQF_TRAIN_EV_CKPT,     /* a checkpoint was written (path set) */
    LQF_TRAIN_EV_EPOCH,    /* an epoch ended (epoch_loss set) */
    LQF_TRAIN_EV_BADDATA,  /* a bad item was skipped (path = its message) */
    LQF_TRAIN_EV_RESUME,   /* resume = auto: where the run continues (path = the message: the
                              checkpoint, the ones skipped and why, or a start from scratch) */
} lqf_train_event;

typedef struct {
    lqf_train_event event;
    long step, total_steps;         /* steps done so far (after this one) */
    int epoch;                      /* 0-based epoch of the step */
    double loss, acc, lr;           /* this step's head loss/accuracy and learning rate */
    double img_per_s, eta_s;        /* since this run (or resume) started */
    double grad_norm;               /* backbone gradient norm before clipping */
    double val_acc, val_std, val_thr; /* EV_VAL: 10-fold accuracy, std, best threshold */
    int val_pairs;
    double epoch_loss, epoch_acc;   /* EV_EPOCH: mean over the epoch's steps */
    const char *path;               /* EV_CKPT: file; EV_BADDATA: message */
} lqf_train_progress;

/* Return nonzero to stop the run (a checkpoint is written as at the end). */
typedef int (*lqf_train_progress_fn)(void *user, const lqf_train_progress *p);

typedef struct {
    long steps;                     /* total steps done (including resumed ones) */
    long steps_this_run;
    int epochs_done;
    double first_epoch_loss, last_epoch_loss; /* means over complete epochs of this run */
    double last_loss, last_acc;
    double val_acc;                 /* last validation (NaN if none) */
    double seconds, img_per_s;
    char last_ckpt[LQF_TRAIN_PATH];
} lqf_train_result;

typedef struct lqf_train lqf_train;

/* Build (or import) the network and head, open the data (when c->data is set), create the
 * loader, optimisers and schedule, restore c->resume. */
lqf_status lqf_train_open(const lqf_train_config *c, lqf_train **out);
void lqf_train_free(lqf_train *t);
/* Train to the configured length. NaN/Inf loss: LQF_ERR_NUMERIC "NaN loss at step N" and
 * the last checkpoint is left as it was. */
lqf_status lqf_train_loop(lqf_train *t, lqf_train_progress_fn fn, void *user, lqf_train_result *r);
/* open + loop + free. */
lqf_status lqf_train_run(const lqf_train_config *c, lqf_train_progress_fn fn, void *user,
                         lqf_train_result *r);

/* One training step on a caller's batch: x (n, S, S, 3) normalised NHWC, labels (n), n equal
 * to the configured batch. res (may be NULL) receives the head's loss and accuracy. */
lqf_status lqf_train_step(lqf_train *t, const float *x, const int *labels, int n, lqf_head_result *res);
/* The same with the second (HQ) view of every sample, x_hq (n, S, S, 3), as QGFace needs
 * (qgface = 1): the network runs on [x_hq; x] (2n images), res->loss is L_cla + w*L_con and
 * res->ce the classifier's cross-entropy. x_hq = NULL: lqf_train_step. */
lqf_status lqf_train_step_views(lqf_train *t, const float *x, const float *x_hq, const int *labels, int n,
                                lqf_head_result *res);
/* dL/dx of the training loss at normalised NHWC images x (n = batch, S, S, 3) with labels (n):
 * training-mode forward (BatchNorm batch statistics; running statistics updated, as the
 * reference ARoFace search does), head forward_backward (head state updated), backward; no
 * parameter changes and the parameter gradients are left zero. ARoFace's inner loop calls
 * this for every ascent step. loss (may be NULL) receives the head's loss. */
lqf_status lqf_train_input_grad(lqf_train *t, const float *x, const int *labels, int n, float *dx, double *loss);
/* Save a checkpoint of the current state to path. */
lqf_status lqf_train_save(lqf_train *t, const char *path);
/* Embeddings (n x emb, raw, eval mode) of normalised NHWC images x (n, S, S, 3). */
lqf_status lqf_train_embed(lqf_train *t, const float *x, int n, float *emb);
/* Verification accuracy of the current network on c->val_pairs (eval mode, flip fusion). */
lqf_status lqf_train_validate(lqf_train *t, double *acc, double *std, double *thr, int *n_pairs);

lqf_graph *lqf_train_graph(lqf_train *t);
float *lqf_train_head_kernel(lqf_train *t); /* (emb, classes) */
lqf_head *lqf_train_head(lqf_train *t);
int lqf_train_classes(const lqf_train *t);
long lqf_train_steps_done(const lqf_train *t);

#endif
