/*
 * embed.h — internal side of the embedding subsystem (src/embed/; the public embedder and
 * one-photo pipeline are in lqface.h): the last step of every embedding — flip fusion, L2
 * normalisation and the feature norm — for any producer of raw network outputs (the
 * embedder here, training validation), and the detect-pick-align step on a photo that is
 * already decoded (the face set keeps part of the photo for FAE re-alignment).
 */
#ifndef LQF_EMBED_H
#define LQF_EMBED_H

#include "core/core.h"

/* Raw network outputs -> embeddings. raw, flipped: n x dim outputs of the faces and of
 * their horizontal mirrors (flipped NULL: no flip fusion). emb[i] = v / |v| with v = raw[i]
 * + flipped[i] (summed in float), the norm taken in double; a zero v stays zero. norms (may
 * be NULL): |raw[i]|, the norm of the un-flipped view (AdaFace's quality value).
 * LQF_ERR_NUMERIC "embed: face K gave a non-finite embedding" (K = first + i) when v is
 * not finite. emb may alias raw. */
lqf_status lqf_embed_fuse(const float *raw, const float *flipped, int n, int dim, int first, float *emb,
                          float *norms);

/* lqf_load_aligned_face on a decoded photo: detect, pick a face, align it to size x size.
 * name: the photo, for messages. */
lqf_status lqf_detect_align(lqf_detector *det, const lqf_image *img, const char *name, lqf_face_pick pick,
                            int size, lqf_image **crop, lqf_face *face);

#endif
