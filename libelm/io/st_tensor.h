/* safetensors <-> shim tensors: the one mapping between the file's dtypes
 * (elm_st_dtype) and the shim's (et_dtype), and the one writer of shim
 * tensors to a safetensors file, for every layer above io that saves or
 * reads tensors (adapters, checkpoints, the frozen cache, model weights). */
#ifndef ELM_IO_ST_TENSOR_H
#define ELM_IO_ST_TENSOR_H

#include "io/safetensors.h"
#include "tensor/shim.h"

/* File dtype -> shim dtype: 1 and *out, or 0 (*out untouched) where the shim
 * has none (I16, I8, F8_E4M3, F8_E5M2, a value out of range). */
int elm_st_dtype_to_et(elm_st_dtype s, et_dtype *out);
/* Shim dtype -> file dtype: 1 and *out, or 0 (*out untouched) for a value
 * that is no et_dtype. Every et_dtype has one. */
int elm_st_dtype_from_et(et_dtype e, elm_st_dtype *out);

/* ---- writing shim tensors -------------------------------------------------
 * Host copies of tensors, gathered for one elm_st_write. A zeroed
 * elm_st_host is an empty set; each entry owns its name, shape and bytes,
 * so the tensors (and their scopes) may go as soon as they are added.
 *
 *   elm_st_host h = {0};
 *   st = elm_st_host_add(&h, "model.norm.weight", t);      ... more adds
 *   if (st == ELM_OK) st = elm_st_host_write(&h, path, meta);
 *   elm_st_host_free(&h);
 */
typedef struct elm_st_host_entry {
    char *name;
    elm_st_dtype dtype;
    int ndim;
    int64_t shape[ELM_ST_MAX_DIMS];
    void *data; /* nbytes bytes, as stored in the file */
    size_t nbytes;
} elm_st_host_entry;

typedef struct elm_st_host {
    elm_st_host_entry *e; /* n entries, in the order added (read them, e.g. to hash) */
    size_t n, cap;
} elm_st_host;

/* Append a host copy of t, in t's own dtype (elm_st_host_add) or converted
 * to as (elm_st_host_add_as). Errors name the entry: ELM_E_INVALID for a
 * NULL tensor, ELM_E_UNSUPPORTED for more than ELM_ST_MAX_DIMS dimensions,
 * ELM_E_NOMEM, or et_to_host's status and message. */
elm_status elm_st_host_add(elm_st_host *h, const char *name, const et_tensor *t);
elm_status elm_st_host_add_as(elm_st_host *h, const char *name, const et_tensor *t, et_dtype as);
/* Append a copy of nbytes host bytes at data (NULL when nbytes is 0) as a
 * tensor of dtype dt and the given shape. */
elm_status elm_st_host_add_bytes(elm_st_host *h, const char *name, elm_st_dtype dt, int ndim,
                                 const int64_t *shape, const void *data, size_t nbytes);
/* elm_st_write of the entries (atomic; laid out in name order). */
elm_status elm_st_host_write(const elm_st_host *h, const char *path, const char *const *metadata);
/* Frees the entries and leaves h an empty set. */
void elm_st_host_free(elm_st_host *h);

#endif
