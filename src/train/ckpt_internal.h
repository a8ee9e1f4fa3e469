/*
 * ckpt_internal.h — what the checkpoint writer (checkpoint.c) and reader (ckpt_read.c) share:
 * the lqf_ckpt object, the growable string buffer of the JSON header, adding a tensor entry,
 * and the place of the file checksum. Not for other subsystems (they use checkpoint.h).
 */
#ifndef LQF_CKPT_INTERNAL_H
#define LQF_CKPT_INTERNAL_H

#include "train/checkpoint.h"

/* The checksum lqface writes: the first metadata entry, so it sits at a fixed byte offset,
 * "lqface_crc32": 8 hex digits of the CRC-32 (zlib) of the whole file with those 8 digits
 * read as '0'. */
#define LQF_CKPT_CRC_PREFIX "{\"__metadata__\":{\"" LQF_CKPT_CRC_KEY "\":\""
#define LQF_CKPT_CRC_AT (8 + sizeof LQF_CKPT_CRC_PREFIX - 1) /* file offset of the digits */

typedef struct {
    char *key, *value;
} lqf_ckpt_meta_kv;

struct lqf_ckpt {
    lqf_ckpt_tensor *t;
    int n, cap;
    lqf_ckpt_meta_kv *m;
    int nm, capm;
};

/* A growable NUL-terminated string; oom is set (and further puts ignored) when it cannot grow. */
typedef struct {
    char *s;
    size_t n, cap;
    int oom;
} lqf_ckpt_sbuf;
void lqf_ckpt_sb_put(lqf_ckpt_sbuf *b, const char *s, size_t n);

/* Append a tensor entry without data (name checked; duplicates too when check_dup: a parsed
 * header checks its names once for all instead). Errors are LQF_ERR_ARG naming `where`. */
lqf_status lqf_ckpt_push_tensor(lqf_ckpt *c, const char *name, int ndim, const int64_t *dims, const char *where,
                                int check_dup);
/* "[d0, d1, ...]" into buf. */
void lqf_ckpt_shape_str(int ndim, const int64_t *dims, char *buf, size_t cap);
/* qsort comparison of two const lqf_ckpt_tensor * by name. */
int lqf_ckpt_cmp_name(const void *a, const void *b);

#endif
