/*
 * testutil.h — tiny test harness shared by the C tests: checks that count failures,
 * comparison of float arrays against reference dumps, and paths to shared data.
 * A test program returns 0 when every check passed; CTest reports the totals.
 */
#ifndef LQF_TESTUTIL_H
#define LQF_TESTUTIL_H
#include <stddef.h>
#include <stdint.h>

#include "train/run.h"

extern int tu_failures, tu_checks;

#define CHECK(c) tu_check((c), #c, __FILE__, __LINE__)
int tu_check(int ok, const char *what, const char *file, int line);
/* max |a-b| <= atol + rtol*|b| elementwise; prints the worst element on failure. */
int tu_close(const char *what, const float *a, const float *b, size_t n, double atol, double rtol);
double tu_cosine(const float *a, const float *b, size_t n);
double tu_max_abs(const float *a, size_t n);
/* max|a-b| / max|b| (INFINITY when a difference is NaN): error relative to the largest value. */
double tu_norm_err(const float *a, const float *b, size_t n);
/* lqf_train_config_set that fails the test (printing the library's message) when refused. */
void tu_train_set(lqf_train_config *c, const char *key, const char *value);
/* $LQFACE_SHARED/rel (default ../shared) and $LQFACE_TESTDATA/rel. Static buffers (rotating). */
const char *tu_shared(const char *rel);
const char *tu_testdata(const char *rel);
/* Load a raw little-endian float32 file; returns count or -1. Caller frees *out. */
long tu_load_f32(const char *path, float **out);
/* A stand-in lqf_embed_fn for tests of face sets and runners that need an embedding but no
 * network: 4x4 block means of the three channels (TU_BLOCK_DIM values), L2-normalised, the
 * norm as quality; user (may be NULL) is an int that counts the faces embedded. */
#define TU_BLOCK_DIM 48
lqf_status tu_block_embed(void *user, const lqf_image *const *faces, int n, float *emb, float *norms);
int tu_finish(const char *name); /* prints "name: N checks, M failed"; returns exit code */
#endif
