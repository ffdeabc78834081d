/* The 64-bit hash of core/hash.h.
 * Four independent lanes over 32-byte blocks, each step a xor of the next
 * little-endian word, a multiply by an odd constant and a xor-shift (each a
 * bijection of the lane, so no two words collide within a step); the lanes
 * are folded and finished with a 64-bit avalanche. Not cryptographic: it
 * names cache files and detects changed weights, and every hit is confirmed
 * by comparing the full key. */

#include "core/hash.h"

#include <string.h>

#define K1 0x9fb21c651e98df25ull
#define K2 0xc2b2ae3d27d4eb4full
#define K3 0x165667b19e3779f9ull
#define K4 0xd6e8feb86659fd93ull

static inline uint64_t load64(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static inline uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t lane_step(uint64_t v, uint64_t w)
{
    v = (v ^ w) * K1;
    return v ^ (v >> 31);
}

static inline uint64_t avalanche(uint64_t h)
{
    h ^= h >> 33;
    h *= K4;
    h ^= h >> 29;
    h *= K2;
    h ^= h >> 32;
    return h;
}

void elm_hasher_init(elm_hasher *h, uint64_t seed)
{
    h->v[0] = seed ^ K1;
    h->v[1] = seed + K2;
    h->v[2] = rotl64(seed, 17) ^ K3;
    h->v[3] = ~seed + K4;
    h->nbuf = 0;
    h->total = 0;
}

static inline void hasher_block(uint64_t *v, const unsigned char *p)
{
    v[0] = lane_step(v[0], load64(p));
    v[1] = lane_step(v[1], load64(p + 8));
    v[2] = lane_step(v[2], load64(p + 16));
    v[3] = lane_step(v[3], load64(p + 24));
}

void elm_hasher_update(elm_hasher *h, const void *data, size_t n)
{
    if (n == 0)
        return; /* data may be NULL (an empty tensor) */
    const unsigned char *p = data;
    h->total += n;
    if (h->nbuf) {
        size_t take = 32 - h->nbuf < n ? 32 - h->nbuf : n;
        memcpy(h->buf + h->nbuf, p, take);
        h->nbuf += take;
        p += take;
        n -= take;
        if (h->nbuf < 32)
            return;
        hasher_block(h->v, h->buf);
        h->nbuf = 0;
    }
    uint64_t v[4] = {h->v[0], h->v[1], h->v[2], h->v[3]};
    for (; n >= 32; p += 32, n -= 32)
        hasher_block(v, p);
    memcpy(h->v, v, sizeof v);
    if (n) {
        memcpy(h->buf, p, n);
        h->nbuf = n;
    }
}

uint64_t elm_hasher_final(const elm_hasher *h)
{
    uint64_t r = rotl64(h->v[0], 1) + rotl64(h->v[1], 7) + rotl64(h->v[2], 12) + rotl64(h->v[3], 18);
    for (int i = 0; i < 4; i++)
        r = (r ^ avalanche(h->v[i])) * K1 + K3;
    unsigned char tail[32] = {0};
    memcpy(tail, h->buf, h->nbuf);
    for (size_t i = 0; i < (h->nbuf + 7) / 8; i++)
        r = rotl64(r ^ avalanche(load64(tail + 8 * i) * K2), 27) * K1 + K4;
    r ^= h->total * K3;
    return avalanche(r);
}

uint64_t elm_hash64(const void *p, size_t n, uint64_t seed)
{
    elm_hasher h;
    elm_hasher_init(&h, seed);
    elm_hasher_update(&h, p, n);
    return elm_hasher_final(&h);
}

void elm_hasher_u64(elm_hasher *h, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    elm_hasher_update(h, b, 8);
}

void elm_hasher_i64(elm_hasher *h, int64_t v)
{
    elm_hasher_u64(h, (uint64_t)v);
}

void elm_hasher_f64(elm_hasher *h, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    elm_hasher_u64(h, u);
}

void elm_hasher_str(elm_hasher *h, const char *s)
{
    size_t n = strlen(s);
    elm_hasher_u64(h, n);
    elm_hasher_update(h, s, n);
}
