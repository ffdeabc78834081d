/* ggml tensor types: sizes of every type GGUF files may hold, and
 * dequantisation to float32 of the ones Llama-family checkpoints use
 * (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K).
 * Block layouts follow ggml's ggml-common.h; all multi-byte fields are
 * little-endian and read byte by byte (source pointers need no alignment). */
#ifndef ELM_IO_DEQUANT_H
#define ELM_IO_DEQUANT_H

#include <stddef.h>
#include <stdint.h>

#include "elm.h"

/* ggml's type numbers, as stored in GGUF tensor infos. */
typedef enum elm_ggml_type {
    ELM_GGML_F32 = 0,
    ELM_GGML_F16 = 1,
    ELM_GGML_Q4_0 = 2,
    ELM_GGML_Q4_1 = 3,
    /* 4, 5: removed Q4_2, Q4_3 */
    ELM_GGML_Q5_0 = 6,
    ELM_GGML_Q5_1 = 7,
    ELM_GGML_Q8_0 = 8,
    ELM_GGML_Q8_1 = 9,
    ELM_GGML_Q2_K = 10,
    ELM_GGML_Q3_K = 11,
    ELM_GGML_Q4_K = 12,
    ELM_GGML_Q5_K = 13,
    ELM_GGML_Q6_K = 14,
    ELM_GGML_Q8_K = 15,
    ELM_GGML_IQ2_XXS = 16,
    ELM_GGML_IQ2_XS = 17,
    ELM_GGML_IQ3_XXS = 18,
    ELM_GGML_IQ1_S = 19,
    ELM_GGML_IQ4_NL = 20,
    ELM_GGML_IQ3_S = 21,
    ELM_GGML_IQ2_S = 22,
    ELM_GGML_IQ4_XS = 23,
    ELM_GGML_I8 = 24,
    ELM_GGML_I16 = 25,
    ELM_GGML_I32 = 26,
    ELM_GGML_I64 = 27,
    ELM_GGML_F64 = 28,
    ELM_GGML_IQ1_M = 29,
    ELM_GGML_BF16 = 30,
    /* 31-33: removed Q4_0_4_4, Q4_0_4_8, Q4_0_8_8 */
    ELM_GGML_TQ1_0 = 34,
    ELM_GGML_TQ2_0 = 35,
    /* 36-38: removed IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8 */
    ELM_GGML_MXFP4 = 39,
    ELM_GGML_TYPE_COUNT = 40
} elm_ggml_type;

/* 1 if t is a type number ggml defines (sizes known). */
int elm_ggml_type_known(uint32_t t);
/* "Q4_K", ...; "?" for unknown numbers. */
const char *elm_ggml_type_name(uint32_t t);
/* Elements per block (1 for plain types); 0 for unknown types. */
uint32_t elm_ggml_block_size(uint32_t t);
/* 1 if elm_dequant handles t. */
int elm_ggml_can_dequant(uint32_t t);

/* Bytes taken by n elements of type t. ELM_E_FORMAT if n is not a multiple
 * of the block size or the size overflows; ELM_E_UNSUPPORTED for unknown t. */
elm_status elm_ggml_type_size(uint32_t t, uint64_t n, uint64_t *bytes);

/* Dequantise n elements from src (elm_ggml_type_size(t, n) bytes) into dst.
 * ELM_E_UNSUPPORTED for types not listed above, ELM_E_FORMAT for a bad n. */
elm_status elm_dequant(uint32_t t, const void *src, size_t n, float *dst);

/* IEEE half and bfloat16 bit patterns to float. */
float elm_fp16_to_fp32(uint16_t h);
float elm_bf16_to_fp32(uint16_t h);

#endif
