/* frozen_cache.h — results of the frozen (base model) passes stored on disk
 * (erase.frozen_cache = <directory>), so that repeated epochs and repeated
 * runs do only the trained passes.
 *
 * An entry is one file "<16 hex digits>.safetensors" in the directory: the
 * digits are a 64-bit hash of the entry's key bytes; the file holds the key
 * itself (U8 tensor "key", compared byte for byte on load, so a hash
 * collision is a miss, never a wrong answer), the tensors "t0", "t1", ...
 * and, in the metadata, "format" = "libelm-fcache-1" and "content" = a hash
 * of the tensors' dtypes, shapes and bytes (checked on load: a changed byte
 * is a damaged entry, not a wrong answer). Data are little-endian, as in
 * every safetensors file; the entry is read on a little-endian host.
 * Files are written with elm_st_write (temporary name + rename), so a reader
 * never sees a partial entry and concurrent writers of one key are fine.
 *
 * A key starts with a format tag, the kind ("erase", "retain"), a content
 * fingerprint of the model (model/fingerprint.h: its configuration, compute
 * dtype and every weight tensor's bytes, hashed once at the first key_begin), the compute dtype, the
 * device kind and the libtorch version; the caller appends its settings and
 * token ids.
 *
 * Threads: a cache is used by one thread at a time (like the session that
 * owns it); separate caches (processes) may share one directory. */
#ifndef ELM_ERASE_FROZEN_CACHE_H
#define ELM_ERASE_FROZEN_CACHE_H

#include "elm.h"
#include "model/model.h"
#include "tensor/shim.h"

#include <stddef.h>
#include <stdint.h>

typedef struct elm_fcache elm_fcache;

/* Open (create if missing, one level: mkdir of dir itself, parent must exist)
 * the cache directory for model m (a reference is NOT taken; m outlives the
 * cache). Errors: ELM_E_IO naming dir and the errno text (not a directory,
 * not writable, parent missing). Removes the temporaries of our entries
 * that an interrupted write left (".<hex>.safetensors.tmp.*" older than an
 * hour). Ownership: free with elm_fcache_free. */
elm_status elm_fcache_open(const char *dir, const elm_model *m, elm_fcache **out);
void elm_fcache_free(elm_fcache *c); /* NULL ok */

/* A lookup key: a byte string. Kinds: "erase" and "retain".
 * Ownership: the bytes are freed with elm_fcache_key_free. */
typedef struct elm_fcache_key {
    unsigned char *b;
    size_t n, cap;
} elm_fcache_key;

/* Start k (any previous content is dropped; k may be zeroed or a key already
 * used) with the format tag "libelm-fcache-1", kind, the model fingerprint,
 * the model's compute dtype, device kind and et_backend_version(). The first
 * call on a cache computes the fingerprint (reads every weight). */
elm_status elm_fcache_key_begin(elm_fcache *c, const char *kind, elm_fcache_key *k);
/* Append raw bytes. */
elm_status elm_fcache_key_add(elm_fcache_key *k, const void *p, size_t n);
/* Append a length-prefixed string (so "ab"+"c" and "a"+"bc" differ). */
elm_status elm_fcache_key_add_str(elm_fcache_key *k, const char *s);
/* Append n (as 64 bits) then the values, little-endian. */
elm_status elm_fcache_key_add_i32s(elm_fcache_key *k, const int32_t *v, size_t n);
/* Append n (as 64 bits) then the values, little-endian. */
elm_status elm_fcache_key_add_i64s(elm_fcache_key *k, const int64_t *v, size_t n);
/* The value's bit pattern, little-endian (so -0.0 and 0.0 differ). */
elm_status elm_fcache_key_add_f64(elm_fcache_key *k, double v);
elm_status elm_fcache_key_add_i64(elm_fcache_key *k, int64_t v);
void elm_fcache_key_free(elm_fcache_key *k); /* NULL ok; k is left empty */

/* Look up: *hit = 1 and out[0..n) = CPU tensors in sc (the dtypes/shapes
 * stored) when an entry with exactly this key holds exactly n tensors;
 * *hit = 0 otherwise (out untouched). A damaged entry (bad file, wrong key,
 * wrong count, content hash mismatch) is a miss, logged with elm_log(ELM_LOG_WARN, ...) naming the
 * file and why, and counted in stats.damaged; the next put replaces it. Only
 * I/O errors other than "no such file" (and out of memory) are errors. */
elm_status elm_fcache_get(elm_fcache *c, const elm_fcache_key *k, et_scope *sc, et_tensor **out,
                          int n, int *hit);
/* Store tensors t[0..n) (any device; copied to the host; dtypes F64, F32,
 * BF16, F16, I64, I32, U8, BOOL; at most ELM_ST_MAX_DIMS dimensions) under
 * k, atomically. Replaces an existing entry of the same file name. */
elm_status elm_fcache_put(elm_fcache *c, const elm_fcache_key *k, et_tensor *const *t, int n);

typedef struct elm_fcache_stats {
    int64_t hits, misses, stores, damaged; /* damaged entries are counted in misses too */
    double fingerprint_s;                  /* wall time of the model fingerprint */
} elm_fcache_stats;
void elm_fcache_stats_get(const elm_fcache *c, elm_fcache_stats *s);

/* ---- for tests and tools ---- */
/* The model fingerprint (computed on first use, as key_begin does). */
elm_status elm_fcache_fingerprint(elm_fcache *c, uint64_t *out);
/* Path of the entry file of k (malloc'd; caller frees). NULL when out of memory. */
char *elm_fcache_entry_path(const elm_fcache *c, const elm_fcache_key *k);
/* (The 64-bit hash of fingerprints and file names is core/hash.h's.) */

#endif
