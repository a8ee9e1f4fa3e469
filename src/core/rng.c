/*
 * rng.c — lqf_rng (core/rng.h): xoshiro256** seeded by splitmix64, 53-bit uniforms and
 * Box-Muller normals. The degradations, augmentations and training draw from it, so a seed
 * gives the same numbers on every machine and thread count.
 */
#include "core/rng.h"

#include <math.h>

void lqf_rng_seed(lqf_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = lqf_splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t lqf_rng_u64(lqf_rng *r) {
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

double lqf_rng_uniform(lqf_rng *r) { return (double)(lqf_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0); }

double lqf_rng_normal(lqf_rng *r) {
    double u = lqf_rng_uniform(r), v = lqf_rng_uniform(r);
    return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}
