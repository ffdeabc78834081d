/* safetensors reader (mmap, fully validated), sharded checkpoints and an
 * atomic writer.
 *
 * Format: u64 little-endian header length N, N bytes of JSON header
 * {"__metadata__": {str: str}?, name: {"dtype", "shape", "data_offsets"}},
 * then the data section; offsets are relative to the start of the data.
 *
 * Every violation is ELM_E_FORMAT with a message naming the file and, where
 * one is at fault, the tensor. Tensor data pointers point into the mapping
 * and are only as aligned as the file makes them (memcpy, don't cast). */
#ifndef ELM_IO_SAFETENSORS_H
#define ELM_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "elm.h"

#define ELM_ST_MAX_DIMS 8
#define ELM_ST_MAX_HEADER (100u * 1000u * 1000u) /* 100 MB, as the Python library */

typedef enum elm_st_dtype {
    ELM_ST_F64 = 0,
    ELM_ST_F32,
    ELM_ST_F16,
    ELM_ST_BF16,
    ELM_ST_I64,
    ELM_ST_I32,
    ELM_ST_I16,
    ELM_ST_I8,
    ELM_ST_U8,
    ELM_ST_BOOL,
    ELM_ST_F8_E4M3,
    ELM_ST_F8_E5M2,
    ELM_ST_DTYPE_COUNT
} elm_st_dtype;

/* "F32", ... Never NULL ("?" when out of range). */
const char *elm_st_dtype_name(elm_st_dtype t);
/* Bytes per element (0 when out of range). */
size_t elm_st_dtype_size(elm_st_dtype t);
/* Name → enum; ELM_E_FORMAT listing the known names otherwise. */
elm_status elm_st_dtype_parse(const char *name, elm_st_dtype *out);

typedef struct elm_st_tensor {
    const char *name;
    elm_st_dtype dtype;
    int ndim;
    int64_t shape[ELM_ST_MAX_DIMS];
    uint64_t numel;
    const void *data; /* into the mapping */
    size_t nbytes;
} elm_st_tensor;

typedef struct elm_safetensors elm_safetensors;

/* Map and validate path. Ownership: close with elm_st_close. */
elm_status elm_st_open(const char *path, elm_safetensors **out);
void elm_st_close(elm_safetensors *st);
const char *elm_st_path(const elm_safetensors *st);
size_t elm_st_count(const elm_safetensors *st);
/* i-th tensor in name order (NULL when out of range). Borrowed. */
const elm_st_tensor *elm_st_at(const elm_safetensors *st, size_t i);
/* By name; NULL when absent. */
const elm_st_tensor *elm_st_find(const elm_safetensors *st, const char *name);
/* By name; ELM_E_FORMAT "path: no tensor 'name'" when absent. */
elm_status elm_st_get(const elm_safetensors *st, const char *name, const elm_st_tensor **out);
/* __metadata__ entries (NULL when absent). Borrowed. */
const char *elm_st_metadata(const elm_safetensors *st, const char *key);
size_t elm_st_metadata_count(const elm_safetensors *st);
/* i-th metadata entry in key order. */
elm_status elm_st_metadata_at(const elm_safetensors *st, size_t i, const char **key, const char **value);

/* ---- checkpoints: a single file or shards behind an index ----------------
 * path may be
 *   - a .safetensors file,
 *   - an index JSON ("model.safetensors.index.json": {"weight_map": {name: shard}}),
 *   - a directory holding model.safetensors.index.json or model.safetensors.
 * With an index, every listed shard is opened (once) and every mapped name
 * must be in its shard; a missing shard file is ELM_E_IO naming index and
 * shard. The set exposes exactly the index's tensors, in name order. */
typedef struct elm_st_set elm_st_set;

elm_status elm_st_set_open(const char *path, elm_st_set **out);
void elm_st_set_close(elm_st_set *s);
size_t elm_st_set_count(const elm_st_set *s);
size_t elm_st_set_shard_count(const elm_st_set *s);
const elm_st_tensor *elm_st_set_at(const elm_st_set *s, size_t i);
const elm_st_tensor *elm_st_set_find(const elm_st_set *s, const char *name);
elm_status elm_st_set_get(const elm_st_set *s, const char *name, const elm_st_tensor **out);
/* Metadata of the first shard (or the single file). */
const char *elm_st_set_metadata(const elm_st_set *s, const char *key);

/* ---- writer -------------------------------------------------------------- */
typedef struct elm_st_write_tensor {
    const char *name;
    elm_st_dtype dtype;
    int ndim;
    const int64_t *shape;
    const void *data; /* numel × dtype size bytes */
} elm_st_write_tensor;

/* Write path atomically. Tensors are laid out in name order (header keys in
 * the same order, "__metadata__" first); the header is padded with spaces to
 * a multiple of 8 bytes. metadata: NULL or a NULL-terminated list of
 * key, value, key, value, ... strings. Duplicate names → ELM_E_INVALID. */
elm_status elm_st_write(const char *path, const elm_st_write_tensor *tensors, size_t n,
                        const char *const *metadata);

#endif
