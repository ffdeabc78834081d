/* A fast 64-bit hash of byte strings (not cryptographic), incremental or in
 * one call: it names erase.frozen_cache files, checks their contents and
 * fingerprints models (model/fingerprint.h). The value depends only on the
 * bytes and the seed, not on how they were split into updates, nor on the
 * host (words are read little-endian). */
#ifndef ELM_CORE_HASH_H
#define ELM_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct elm_hasher {
    uint64_t v[4];
    unsigned char buf[32];
    size_t nbuf;
    uint64_t total;
} elm_hasher;

void elm_hasher_init(elm_hasher *h, uint64_t seed);
/* Append n bytes (data may be NULL when n is 0). */
void elm_hasher_update(elm_hasher *h, const void *data, size_t n);
/* The hash of the bytes so far (h is unchanged: more may follow). */
uint64_t elm_hasher_final(const elm_hasher *h);
/* Append a value as 8 bytes, little-endian (f64: its bit pattern, so -0.0
 * and 0.0 differ). */
void elm_hasher_u64(elm_hasher *h, uint64_t v);
void elm_hasher_i64(elm_hasher *h, int64_t v);
void elm_hasher_f64(elm_hasher *h, double d);
/* Append strlen(s) (as elm_hasher_u64) then the bytes of s. */
void elm_hasher_str(elm_hasher *h, const char *s);
/* The hash of p[0..n) with seed, in one call. */
uint64_t elm_hash64(const void *p, size_t n, uint64_t seed);

#endif
