/* The erase layer's own deterministic PRNG (template choice): xoshiro256**
 * seeded with four splitmix64 outputs of runtime.seed. Its four words are
 * part of a session's resume state. tools/reference/elm_templates.py has the
 * same generator. */
#ifndef ELM_ERASE_PRNG_H
#define ELM_ERASE_PRNG_H

#include <stdint.h>

typedef struct elm_prng {
    uint64_t s[4];
} elm_prng;

void elm_prng_seed(elm_prng *p, uint64_t seed);
uint64_t elm_prng_next(elm_prng *p);
/* Uniform in [0, n): ((next >> 32) * n) >> 32 (bias < n / 2^32). n >= 1. */
uint32_t elm_prng_below(elm_prng *p, uint32_t n);

#endif
