/*
 * sweep.h — the conditions of an evaluation sweep (src/eval/sweep.c): lists of resolutions,
 * cross-resolutions, blur, noise, JPEG qualities and face-alignment-error levels (alone or
 * crossed with resolutions) become lqf_conditions in report order, and an FAE level becomes
 * its rotation, scale and shift bounds.
 */
#ifndef LQF_SWEEP_H
#define LQF_SWEEP_H

#include "core/core.h"

/* FAE level L: rotation +-3L degrees, scale 1 +- 0.03L, shift +-1.5L px (112 frame).
 * Level 2 is about ARoFace's effective k=1 perturbation (+-5.7 deg, +-5.6 px, +-0.1). */
#define LQF_FAE_ROT_PER_LEVEL 3.0
#define LQF_FAE_SCALE_PER_LEVEL 0.03
#define LQF_FAE_SHIFT_PER_LEVEL 1.5

#define LQF_SWEEP_MAX_VALUES 32       /* values per list */
#define LQF_SWEEP_MAX_CONDITIONS 128

typedef struct {
    int n;
    double v[LQF_SWEEP_MAX_VALUES];
} lqf_sweep_list;

typedef struct {
    lqf_sweep_list resolution;      /* r x r and back, for r < 112 (112 and above: clean) */
    lqf_sweep_list cross;           /* cross-resolution: the second photo of a pair only */
    lqf_sweep_list blur, noise, jpeg;
    lqf_sweep_list fae;             /* FAE levels */
    lqf_sweep_list fae_resolution;  /* resolutions the FAE levels are crossed with (none: 112) */
} lqf_sweep;

/* The conditions in report order: clean; each resolution below 112; each cross-resolution;
 * blur; noise; JPEG; then for each FAE resolution each FAE level, preceded (below 112 px) by
 * that resolution's zero-FAE point when the sweep lacks it. Labels as "28 px", "cross 16 px",
 * "blur 2", "noise 5", "jpeg q30", "28 px FAE 2". Returns the count (at most max). */
int lqf_sweep_conditions(const lqf_sweep *s, lqf_condition *c, int max);

/* FAE of level L on c: the bounds above, fae_level = L. */
void lqf_condition_set_fae(lqf_condition *c, double level);

#endif
