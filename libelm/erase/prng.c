#include "erase/prng.h"

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void elm_prng_seed(elm_prng *p, uint64_t seed)
{
    uint64_t st = seed;
    for (int i = 0; i < 4; i++)
        p->s[i] = splitmix64(&st);
}

uint64_t elm_prng_next(elm_prng *p)
{
    uint64_t *s = p->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t elm_prng_below(elm_prng *p, uint32_t n)
{
    return (uint32_t)(((elm_prng_next(p) >> 32) * (uint64_t)n) >> 32);
}
