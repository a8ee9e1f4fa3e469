/*
 * rng.h — deterministic random numbers for every subsystem, never rand(): splitmix64 (the
 * stream form for seeding, and a stateless 64-bit mix for per-element or per-step hashes of
 * a seed) and lqf_rng, xoshiro256** seeded by splitmix64, with uniform and normal draws.
 */
#ifndef LQF_RNG_H
#define LQF_RNG_H

#include <stdint.h>

/* Next value of the splitmix64 stream whose state is *state (Steele, Lea, Flood 2014). */
static inline uint64_t lqf_splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* splitmix64 of one value: the first output of the stream seeded with z. */
static inline uint64_t lqf_mix64(uint64_t z) { return lqf_splitmix64(&z); }

/* xoshiro256** (Blackman, Vigna), seeded by four splitmix64 outputs of the seed. */
typedef struct { uint64_t s[4]; } lqf_rng;
void lqf_rng_seed(lqf_rng *r, uint64_t seed);
uint64_t lqf_rng_u64(lqf_rng *r);
double lqf_rng_uniform(lqf_rng *r);            /* [0,1) */
double lqf_rng_normal(lqf_rng *r);             /* N(0,1), Box-Muller */

#endif
