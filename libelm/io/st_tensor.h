/* safetensors <-> shim tensors: the one mapping between the file's dtypes
 * (elm_st_dtype) and the shim's (et_dtype), for every layer that reads
 * tensors from or writes them to a safetensors file. */
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

#endif
