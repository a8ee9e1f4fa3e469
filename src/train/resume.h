/*
 * resume.h — finding where a training run continues from its checkpoint directory (resume =
 * auto: the run's ckpt_dir; resume = a directory). The numbered checkpoints
 * ckpt_stepNNNNNNNN.safetensors are tried newest first, each read in full (its checksum
 * checked): one that does not load — torn by a crash, truncated, corrupt — is renamed to
 * <name>.corrupt, reported, and the previous one is tried. Temporaries (<name>.tmp) that a
 * killed write left are removed. A directory without a checkpoint means a start from scratch
 * (reported); one whose checkpoints all fail to load is an error.
 */
#ifndef LQF_TRAIN_RESUME_H
#define LQF_TRAIN_RESUME_H

#include "train/checkpoint.h"

typedef struct {
    lqf_ckpt *ck;     /* the checkpoint to continue from; NULL: start from scratch */
    char *path;       /* its file */
    char **kept;      /* the numbered checkpoints up to it, oldest first (keep_last goes on) */
    int n_kept;
    char note[2048];  /* what happened, for the run's report: "resumed from ...; skipped ..." */
} lqf_resume;

/* Scan dir and load the newest checkpoint that loads. LQF_ERR_IO when dir cannot be read,
 * LQF_ERR_FORMAT (naming every file and its problem) when none of its checkpoints loads. */
lqf_status lqf_resume_find(const char *dir, lqf_resume *r);
void lqf_resume_free(lqf_resume *r);

#endif
