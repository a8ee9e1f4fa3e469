/*
 * loader.h — the multi-threaded training data pipeline: over an lqf_dataset (folder, list
 * or RecordIO, see data/data.h) it shuffles each epoch with a seeded permutation, cuts it into
 * batches of B (optionally dropping the last short one), and lets worker threads decode,
 * augment (augment/augment.h) and normalise samples into a ring of prefetched batches while
 * the trainer consumes the previous ones.
 *
 * A batch is float NHWC (B, H, W, 3) in the model's channel order (explicit: RGB or BGR)
 * with value = (pixel - mean[c]) / std[c] per output channel (AdaFace/insightface: mean
 * 127.5, std 127.5, i.e. (x/255 - 0.5)/0.5), plus int labels and the dataset indices.
 * Images of another size than width x height are resized bilinearly first (aligned faces
 * are expected; ORL's 92x112 become 112x112).
 *
 * Determinism: the permutation depends on (seed, epoch) and sample k's augmentation on a
 * generator seeded with lqf_augment_seed(seed, epoch, dataset index), and every sample has a
 * fixed slot, so the batches are the same whatever the number of threads or their timing.
 *
 * Two views (QGFace): with two_views set, every sample is decoded once and augmented twice,
 * into x with `augment` (the low-quality view, e.g. lqf_augment_preset_qgface_lq) and into
 * x_hq with `augment_hq` (default: flip only, QGFace's HQ view). x uses the same generator
 * as a one-view loader; x_hq one seeded with lqf_augment_seed(~seed, epoch, index), so both
 * are deterministic.
 *
 * Bad data: an item that cannot be read or decoded is recorded in the batch (dataset index
 * and message) and either skipped (the batch is shorter; the order of the others is kept) or
 * replaced by the next readable item of the epoch's permutation (deterministic). It never
 * stops the epoch; only when every item of a batch fails does lqf_loader_next report an error.
 */
#ifndef LQF_LOADER_H
#define LQF_LOADER_H

#include "augment/augment.h"
#include "data/data.h"

typedef enum { LQF_BAD_SKIP = 0, LQF_BAD_REPLACE = 1 } lqf_bad_policy;

typedef struct {
    int batch_size;            /* B (default 64) */
    int drop_last;             /* 1: drop the last batch when it is shorter than B */
    int shuffle;               /* 1 (default): seeded permutation per epoch; 0: dataset order */
    uint64_t seed;
    int n_threads;             /* worker threads (default 2; at least 1) */
    int prefetch;              /* batches in the ring (default 4; at least 1) */
    int width, height;         /* output size (default 112 x 112) */
    lqf_channel_order order;   /* channel order of the output (default RGB) */
    float mean[3], std[3];     /* per output channel (default 127.5 / 127.5) */
    lqf_augment_config augment;/* default: lqf_augment_preset_none */
    int two_views;             /* 1: also make x_hq with augment_hq (default 0) */
    lqf_augment_config augment_hq; /* default: none but a flip with p 0.5 */
    lqf_bad_policy bad;        /* default LQF_BAD_SKIP */
} lqf_loader_options;

void lqf_loader_options_default(lqf_loader_options *o);

#define LQF_LOADER_MAX_REPORTS 16

typedef struct {
    int n;                     /* samples in the batch (< batch_size at the end or after skips) */
    int index;                 /* batch number within the epoch */
    int epoch;
    float *x;                  /* (n, height, width, 3) normalised */
    float *x_hq;               /* two_views: (n, height, width, 3) the second view; else NULL */
    int *labels;               /* n */
    size_t *items;             /* n dataset indices */
    int n_failed;              /* items of this batch that could not be read or decoded */
    size_t failed_item[LQF_LOADER_MAX_REPORTS];   /* their dataset indices (first ones) */
    char failed_msg[LQF_LOADER_MAX_REPORTS][256]; /* and messages, naming the file or record */
} lqf_batch;

typedef struct lqf_loader lqf_loader;

/* d must outlive the loader. Starts the worker threads (idle until an epoch starts). */
lqf_status lqf_loader_create(const lqf_dataset *d, const lqf_loader_options *o, lqf_loader **out);
/* Stop the workers and free everything. */
void lqf_loader_free(lqf_loader *l);
/* Begin epoch e (abandoning what is left of the current one). */
lqf_status lqf_loader_start_epoch(lqf_loader *l, int epoch);
/* Begin epoch e at batch `batch` (0 <= batch <= batches per epoch): the batches are exactly
 * those a full epoch gives from that one on, and the skipped ones are not decoded (resuming
 * a run mid-epoch from a checkpoint). */
lqf_status lqf_loader_start_epoch_at(lqf_loader *l, int epoch, int batch);
/* Next batch of the epoch: *b points into the loader and stays valid until the next call;
 * *b = NULL (and LQF_OK) at the end of the epoch. */
lqf_status lqf_loader_next(lqf_loader *l, const lqf_batch **b);
int lqf_loader_num_batches(const lqf_loader *l);  /* per epoch */
size_t lqf_loader_num_failed(const lqf_loader *l); /* bad items met so far, all epochs */

#endif
