/*
 * faceset.h — internal side of prepared face sets (src/faceset/; the public lqf_face_set
 * API is in lqface.h): embedding through any lqf_embed_fn (an lqf_embedder, or a trainer
 * during validation), raising the kept FAE bounds to cover a sweep's conditions, and what a
 * set keeps of its source photos.
 */
#ifndef LQF_FACESET_H
#define LQF_FACESET_H

#include "core/core.h"

/* lqf_face_set_embed with the faces embedded by fn(user, ...) into dim-wide rows (fn must
 * return L2-normalised rows). Clean embeddings are cached per (fn, user, dim). */
lqf_status lqf_face_set_embed_with(lqf_face_set *s, lqf_embed_fn fn, void *user, int dim, const lqf_condition *c,
                                   uint64_t seed, float *emb, float *norms, lqf_progress_fn progress,
                                   void *progress_user);

/* 1 when c (NULL allowed) degrades nothing: the clean condition. */
int lqf_condition_is_clean(const lqf_condition *c);

/* Raise o's FAE bounds to the largest of the n conditions, so a set opened with o keeps what
 * those conditions' re-alignments read. */
void lqf_face_set_options_cover(lqf_face_set_options *o, const lqf_condition *c, int n);

/* Photos whose part for FAE re-alignment is kept in memory, and the bytes it takes. */
int lqf_face_set_kept(const lqf_face_set *s, size_t *bytes);

#endif
