/*
 * sweep.c — a sweep's lists to conditions in report order (sweep.h), the grid of FAE levels
 * crossed with resolutions included.
 */
#include "eval/sweep.h"

#include <string.h>

void lqf_condition_set_fae(lqf_condition *c, double level) {
    c->fae_rot_deg = LQF_FAE_ROT_PER_LEVEL * level;
    c->fae_scale = LQF_FAE_SCALE_PER_LEVEL * level;
    c->fae_shift_px = LQF_FAE_SHIFT_PER_LEVEL * level;
    c->fae_level = level;
}

/* Whether c[0..n) holds the plain (two-sided, FAE-free) condition at resolution res. */
static int has_resolution(const lqf_condition *c, int n, int res) {
    for (int q = 0; q < n; q++)
        if (c[q].resolution == res && !c[q].one_side && !c[q].fae_level) return 1;
    return 0;
}

int lqf_sweep_conditions(const lqf_sweep *s, lqf_condition *c, int max) {
    int n = 0;
    memset(c, 0, sizeof(lqf_condition) * (size_t)max);
    if (max < 1) return 0;
    snprintf(c[n++].label, 64, "clean");
    for (int i = 0; i < s->resolution.n && n < max; i++)
        if (s->resolution.v[i] < 112) {
            c[n].resolution = (int)s->resolution.v[i];
            snprintf(c[n++].label, 64, "%d px", (int)s->resolution.v[i]);
        }
    for (int i = 0; i < s->cross.n && n < max; i++) {
        c[n].resolution = (int)s->cross.v[i];
        c[n].one_side = 1;
        snprintf(c[n++].label, 64, "cross %d px", (int)s->cross.v[i]);
    }
    for (int i = 0; i < s->blur.n && n < max; i++) {
        c[n].blur_sigma = s->blur.v[i];
        snprintf(c[n++].label, 64, "blur %g", s->blur.v[i]);
    }
    for (int i = 0; i < s->noise.n && n < max; i++) {
        c[n].noise_sigma = s->noise.v[i];
        snprintf(c[n++].label, 64, "noise %g", s->noise.v[i]);
    }
    for (int i = 0; i < s->jpeg.n && n < max; i++) {
        c[n].jpeg_quality = (int)s->jpeg.v[i];
        snprintf(c[n++].label, 64, "jpeg q%d", (int)s->jpeg.v[i]);
    }
    int nr = s->fae_resolution.n ? s->fae_resolution.n : 1;
    for (int j = 0; j < nr; j++)
        for (int i = 0; i < s->fae.n && n < max; i++) {
            double r = s->fae_resolution.n ? s->fae_resolution.v[j] : 112;
            int res = r < 112 ? (int)r : 0;
            if (res && i == 0 && !has_resolution(c, n, res) && n < max) { /* the grid's zero-FAE point */
                c[n].resolution = res;
                snprintf(c[n++].label, 64, "%d px", res);
                if (n == max) break;
            }
            c[n].resolution = res;
            lqf_condition_set_fae(&c[n], s->fae.v[i]);
            snprintf(c[n++].label, 64, "%d px FAE %g", res ? res : 112, s->fae.v[i]);
        }
    return n;
}
