/*
 * runner.h — the evaluation runners behind lqf_eval_verify / lqf_eval_ident (lqface.h),
 * filling report rows (eval/report.h) with everything a report shows: per condition the
 * metrics, the scored pairs' distances and labels, the ROC, the time.
 *
 * Entry point for other embedders (training validation): wrap the network in an
 * lqf_embed_fn that embeds n aligned size x size faces into L2-normalised rows (e.g. run
 * the plain and the mirrored faces and finish with lqf_embed_fuse, embed/embed.h), build a
 * face set of the validation faces (lqf_face_set_open, or lqf_face_set_from_images for
 * faces in memory), the pairs (lqf_pairs_intern, eval/protocol.h), and call
 * lqf_run_verify with one clean condition; rep.rows[0].v is the result.
 */
#ifndef LQF_RUNNER_H
#define LQF_RUNNER_H

#include "eval/report.h"

/* Called after each condition with the report holding its row (the last one). */
typedef void (*lqf_row_fn)(void *user, const lqf_report *rep);

/* Verification of the pairs under each condition: rep->rows (allocated here; rep must have
 * none yet) gets one row per condition, in order. on_row may be NULL. */
lqf_status lqf_run_verify(lqf_face_set *fs, const lqf_verify_pairs *pairs, const lqf_condition *c, int n_conditions,
                          const lqf_eval_options *o, lqf_row_fn on_row, void *row_user, lqf_report *rep);

/* Identification (lqf_eval_ident) under each condition: rep->ident gets one row per
 * condition (max_rank LQF_EVAL_CMC_RANKS). Probe x gallery similarities are scored block
 * by block (match.h), so memory stays bounded whatever the sizes. */
lqf_status lqf_run_ident(lqf_face_set *fs, const lqf_ident_sets *sets, const lqf_condition *c, int n_conditions,
                         const lqf_eval_options *o, lqf_row_fn on_row, void *row_user, lqf_report *rep);

#endif
