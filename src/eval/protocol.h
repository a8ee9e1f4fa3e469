/*
 * protocol.h — evaluation protocols as the runners take them (src/eval/protocol.c):
 * verification pair lists and .bin packs turned into photos + pair indices, labelled photo
 * lists (`path label`) and the LFW identification protocol for identification. The file
 * readers themselves are pairs.c and binpack.c (lqface.h).
 */
#ifndef LQF_PROTOCOL_H
#define LQF_PROTOCOL_H

#include "core/core.h"

/* The distinct photos of a pair list, sorted (byte order): *photos is a malloc'd array of
 * pointers into pl's strings (free the array only), and out holds each pair as two indices
 * into it, with pl's labels and folds (free with lqf_verify_pairs_free). */
lqf_status lqf_pairs_intern(const lqf_pair_list *pl, char ***photos, int *n_photos, lqf_verify_pairs *out);

/* A .bin pack as a face set of its images, decoded once as size x size aligned faces (an
 * image that does not decode is recorded with its message "<name>[image K]: ...", the others
 * go on), and its pairs (image 2k with image 2k+1, 10 folds). */
lqf_status lqf_bin_face_set(const lqf_bin_pack *bp, const char *name, int size, lqf_face_set **fs,
                            lqf_verify_pairs *out);

/* Photos with integer labels (identification roles: gallery, probes, distractors). */
typedef struct {
    int n, cap;
    char **path;    /* n paths (owned) */
    int *label;     /* n labels */
} lqf_labelled;
/* Label strings interned to the integers 0, 1, ... (shared by the lists of one protocol). */
typedef struct {
    int n, cap;
    char **name;
} lqf_label_names;
void lqf_labelled_free(lqf_labelled *l);
void lqf_label_names_free(lqf_label_names *t);

/* Append the `path label` lines of file to out (blank lines and '#' comments skipped, more
 * fields ignored; relative paths joined to root, which may be NULL), labels interned in
 * names. LQF_ERR_FORMAT "file:LINE: expected 'path label'", or "file: empty list" when it
 * holds no photo. */
lqf_status lqf_labelled_read(const char *file, const char *root, lqf_label_names *names, lqf_labelled *out);

/* The LFW identification protocol over root/identity/photo (identities and photos sorted):
 * an identity with >= 2 photos gives its first photo to the gallery and the others to the
 * probes, labelled by identity; one-photo identities are distractors (labels that match
 * nothing). */
lqf_status lqf_lfw_ident(const char *root, lqf_labelled *gallery, lqf_labelled *probes, lqf_labelled *distractors);

#endif
