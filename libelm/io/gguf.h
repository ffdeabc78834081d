/* GGUF reader (versions 2 and 3) over a read-only mapping.
 *
 * Every count and length is checked against the bytes left in the file
 * before anything proportional to it is allocated, so a hostile header
 * cannot make the reader allocate or read beyond the file. Violations are
 * ELM_E_FORMAT naming the file and the byte offset / key / tensor at fault;
 * version 1 files are ELM_E_UNSUPPORTED. */
#ifndef ELM_IO_GGUF_H
#define ELM_IO_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "elm.h"
#include "io/dequant.h"

#define ELM_GGUF_MAX_DIMS 4
#define ELM_GGUF_DEFAULT_ALIGNMENT 32

typedef enum elm_gguf_vtype {
    ELM_GGUF_U8 = 0,
    ELM_GGUF_I8 = 1,
    ELM_GGUF_U16 = 2,
    ELM_GGUF_I16 = 3,
    ELM_GGUF_U32 = 4,
    ELM_GGUF_I32 = 5,
    ELM_GGUF_F32 = 6,
    ELM_GGUF_BOOL = 7,
    ELM_GGUF_STRING = 8,
    ELM_GGUF_ARRAY = 9,
    ELM_GGUF_U64 = 10,
    ELM_GGUF_I64 = 11,
    ELM_GGUF_F64 = 12,
    ELM_GGUF_VTYPE_COUNT
} elm_gguf_vtype;

const char *elm_gguf_vtype_name(elm_gguf_vtype t);

typedef struct elm_gguf_tensor {
    const char *name;
    uint32_t type; /* elm_ggml_type */
    int n_dims;
    int64_t ne[ELM_GGUF_MAX_DIMS]; /* ne[0] is the contiguous dimension; unused = 1 */
    uint64_t numel;
    uint64_t offset;  /* relative to the data section */
    const void *data; /* into the mapping, aligned to the file's alignment */
    size_t nbytes;
} elm_gguf_tensor;

/* An array value. Elements of numeric types lie at data (little-endian,
 * possibly unaligned: use the accessors). Strings and nested arrays are
 * reached through the accessors only. */
typedef struct elm_gguf_arr {
    elm_gguf_vtype type; /* element type */
    uint64_t count;
    const void *data;
    const struct elm_gguf *owner;
    const uint64_t *str_off; /* internal: offsets of string elements */
    const char *key;
} elm_gguf_arr;

typedef struct elm_gguf elm_gguf;

/* The first four bytes of every GGUF file. */
#define ELM_GGUF_MAGIC "GGUF"

/* 1 when the file at path can be read and starts with ELM_GGUF_MAGIC, else
 * 0 (a missing, unreadable or shorter file too). Reads 4 bytes; never sets
 * the error message: a sniff for choosing a reader, elm_gguf_open checks. */
int elm_gguf_file_has_magic(const char *path);

/* Ownership: close with elm_gguf_close. */
elm_status elm_gguf_open(const char *path, elm_gguf **out);
void elm_gguf_close(elm_gguf *g);
const char *elm_gguf_path(const elm_gguf *g);
uint32_t elm_gguf_version(const elm_gguf *g);
uint32_t elm_gguf_alignment(const elm_gguf *g);

/* Metadata. */
size_t elm_gguf_kv_count(const elm_gguf *g);
const char *elm_gguf_kv_key(const elm_gguf *g, size_t i);
elm_gguf_vtype elm_gguf_kv_type(const elm_gguf *g, size_t i);
/* Index of key, or -1. */
long elm_gguf_find_key(const elm_gguf *g, const char *key);
int elm_gguf_has(const elm_gguf *g, const char *key);

/* Typed getters. A missing key is ELM_E_FORMAT "path: key 'k': missing";
 * a type mismatch or out-of-range value is ELM_E_FORMAT naming both types.
 * get_u32/get_i64/get_u64 accept any integer type whose value fits;
 * get_f32/get_f64 accept F32 and F64; get_str returns a NUL-terminated
 * string borrowed from g. */
elm_status elm_gguf_get_u32(const elm_gguf *g, const char *key, uint32_t *out);
elm_status elm_gguf_get_i64(const elm_gguf *g, const char *key, int64_t *out);
elm_status elm_gguf_get_u64(const elm_gguf *g, const char *key, uint64_t *out);
elm_status elm_gguf_get_f32(const elm_gguf *g, const char *key, float *out);
elm_status elm_gguf_get_f64(const elm_gguf *g, const char *key, double *out);
elm_status elm_gguf_get_bool(const elm_gguf *g, const char *key, int *out);
elm_status elm_gguf_get_str(const elm_gguf *g, const char *key, const char **out);
elm_status elm_gguf_get_arr(const elm_gguf *g, const char *key, elm_gguf_arr *out);

/* Array element access (index checked). Integers of any type through
 * arr_i64 (u64 above INT64_MAX is an error); F32/F64 through arr_f64;
 * strings as (pointer, length), not NUL-terminated, borrowed. */
elm_status elm_gguf_arr_i64(const elm_gguf_arr *a, uint64_t i, int64_t *out);
elm_status elm_gguf_arr_f64(const elm_gguf_arr *a, uint64_t i, double *out);
elm_status elm_gguf_arr_str(const elm_gguf_arr *a, uint64_t i, const char **s, size_t *len);

/* Tensors, in file order. */
size_t elm_gguf_tensor_count(const elm_gguf *g);
const elm_gguf_tensor *elm_gguf_tensor_at(const elm_gguf *g, size_t i);
const elm_gguf_tensor *elm_gguf_find_tensor(const elm_gguf *g, const char *name);
/* ELM_E_FORMAT "path: no tensor 'name'" when absent. */
elm_status elm_gguf_get_tensor(const elm_gguf *g, const char *name, const elm_gguf_tensor **out);

#endif
