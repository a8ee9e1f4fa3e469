/*
 * checkpoint.h — lqface checkpoints as safetensors files: a set of named float tensors
 * (name, logical shape, data) plus a string-to-string metadata map, so the training engine
 * can save graph parameters under their insightface-style names ("conv1.weight",
 * "layer1.0.bn1.running_mean", "fc.weight", head and optimiser state) and any safetensors
 * reader (Python's safetensors, torch via torch.frombuffer) can open them.
 *
 * File layout (huggingface safetensors): u64 little-endian N, then N bytes of JSON
 *   {"__metadata__": {"k": "v", ...}, "name": {"dtype": "F32", "shape": [..],
 *    "data_offsets": [begin, end]}, ...}
 * padded with spaces to a multiple of 8, then the raw little-endian tensor bytes; offsets are
 * relative to the start of that byte buffer, and the tensors tile it exactly in offset order.
 * lqface writes F32 (tensors in name order) and reads F32, F16, BF16 and F64 (converted to
 * float). Saving writes <path>.tmp, fsyncs it and renames it over <path>, so an interrupted
 * run leaves the previous checkpoint intact; a checksum (LQF_CKPT_CRC_KEY) catches the rest.
 *
 * Metadata keys lqface writes (all values are strings; lqf_ckpt_info maps them):
 *   format "lqface-checkpoint", format_version "1", arch ("iresnet50", "mobilefacenet", ...),
 *   shortcut ("insightface" conv1x1+BN or "adaface" maxpool), channel_order ("RGB"/"BGR"),
 *   input_mean / input_std ("127.5,127.5,127.5"), input_size ("112x112"), embedding_size,
 *   head ("arcface", "adaface", ...), step, epoch. Head state (e.g. AdaFace's EMA "head.
 *   batch_mean", "head.batch_std") and optimiser state ("optim.<param>.momentum") are tensors.
 */
#ifndef LQF_CHECKPOINT_H
#define LQF_CHECKPOINT_H

#include "core/core.h"

#define LQF_CKPT_MAX_DIMS 8
#define LQF_CKPT_FORMAT "lqface-checkpoint"
#define LQF_CKPT_VERSION 1
/* Metadata key of the file checksum lqface writes first in every checkpoint: 8 hex digits of
 * the CRC-32 of the whole file with those digits counted as '0'. Reading a file that has it
 * verifies it (a corrupt or torn file is LQF_ERR_FORMAT "checksum mismatch"); files without
 * it (other writers) are read unverified. */
#define LQF_CKPT_CRC_KEY "lqface_crc32"

typedef struct {
    char *name;
    int ndim;                        /* 0: a scalar */
    int64_t dims[LQF_CKPT_MAX_DIMS];
    int64_t numel;
    float *data;                     /* numel floats (owned, unless added with copy = 0) */
    int owned;
} lqf_ckpt_tensor;

typedef struct lqf_ckpt lqf_ckpt;

lqf_status lqf_ckpt_create(lqf_ckpt **out);
void lqf_ckpt_free(lqf_ckpt *c);
/* Add a tensor (names unique, not "__metadata__"). copy = 1 copies data; copy = 0 keeps the
 * pointer, which must stay valid until the checkpoint is saved and freed (saving a graph's
 * parameters without doubling memory). */
lqf_status lqf_ckpt_add(lqf_ckpt *c, const char *name, int ndim, const int64_t *dims, const float *data, int copy);
/* Set (or replace) a metadata entry. */
lqf_status lqf_ckpt_set_meta(lqf_ckpt *c, const char *key, const char *value);
const char *lqf_ckpt_get_meta(const lqf_ckpt *c, const char *key); /* NULL if absent */
int lqf_ckpt_num_meta(const lqf_ckpt *c);
void lqf_ckpt_meta_at(const lqf_ckpt *c, int i, const char **key, const char **value);

int lqf_ckpt_count(const lqf_ckpt *c);
const lqf_ckpt_tensor *lqf_ckpt_tensor_at(const lqf_ckpt *c, int i); /* in file (offset) order after load */
const lqf_ckpt_tensor *lqf_ckpt_find(const lqf_ckpt *c, const char *name); /* NULL if absent */
/* The tensor by name with its shape checked: LQF_ERR_FORMAT naming it when missing,
 * LQF_ERR_SHAPE when its shape differs (the message shows both). */
lqf_status lqf_ckpt_get(const lqf_ckpt *c, const char *name, int ndim, const int64_t *dims,
                        const lqf_ckpt_tensor **t);

/* Write as safetensors through <path>.tmp + fsync + rename. */
lqf_status lqf_ckpt_save(const lqf_ckpt *c, const char *path);
/* Read and validate a safetensors file: errors name the file and say what is wrong (not a
 * safetensors file, truncated, header not JSON, tensor out of bounds / overlapping / not
 * tiling the data, unknown dtype, shape and size disagree). */
lqf_status lqf_ckpt_load(const char *path, lqf_ckpt **out);
/* The same from bytes in memory; name is used in messages. */
lqf_status lqf_ckpt_parse(const uint8_t *buf, size_t len, const char *name, lqf_ckpt **out);
/* The metadata and the tensor list alone (every tensor's data NULL), reading only the
 * file's header: what a caller that wants the self-description needs (the input contract,
 * lqf_ckpt_get_info) without the cost of the tensors. The header is checked as
 * lqf_ckpt_load checks it. */
lqf_status lqf_ckpt_load_header(const char *path, lqf_ckpt **out);

/* ---- the self-describing part, through the metadata map ---- */
typedef struct {
    int format_version;              /* LQF_CKPT_VERSION when written by lqface; 0 unknown */
    char arch[64];                   /* "iresnet50", "mobilefacenet", ... */
    char shortcut[32];               /* "insightface" | "adaface" | "" */
    lqf_channel_order order;
    float mean[3], std[3];           /* input normalisation per channel, pixel units */
    int input_w, input_h;
    int embedding_size;
    char head[32];                   /* "arcface", "adaface", ... */
    int64_t step;                    /* optimiser steps done (resume) */
    int epoch;                       /* epochs done (resume) */
} lqf_ckpt_info;

void lqf_ckpt_info_default(lqf_ckpt_info *i); /* version 1, RGB, 127.5/127.5, 112x112, 512 */
lqf_status lqf_ckpt_set_info(lqf_ckpt *c, const lqf_ckpt_info *i);
/* Fills i from the metadata; LQF_ERR_FORMAT when the file is not an lqface checkpoint or its
 * version is newer than this build reads (the message says which). */
lqf_status lqf_ckpt_get_info(const lqf_ckpt *c, lqf_ckpt_info *i);

#endif
