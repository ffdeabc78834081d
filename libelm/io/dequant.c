#include "io/dequant.h"

#include <math.h>
#include <string.h>

#include "core/error.h"

typedef struct type_traits {
    const char *name;
    uint32_t block;  /* elements per block; 0: not a type */
    uint32_t bytes;  /* bytes per block */
} type_traits;

/* Sizes from ggml-common.h's block structs. */
static const type_traits traits[ELM_GGML_TYPE_COUNT] = {
    [ELM_GGML_F32] = {"F32", 1, 4},
    [ELM_GGML_F16] = {"F16", 1, 2},
    [ELM_GGML_Q4_0] = {"Q4_0", 32, 2 + 16},
    [ELM_GGML_Q4_1] = {"Q4_1", 32, 2 + 2 + 16},
    [ELM_GGML_Q5_0] = {"Q5_0", 32, 2 + 4 + 16},
    [ELM_GGML_Q5_1] = {"Q5_1", 32, 2 + 2 + 4 + 16},
    [ELM_GGML_Q8_0] = {"Q8_0", 32, 2 + 32},
    [ELM_GGML_Q8_1] = {"Q8_1", 32, 2 + 2 + 32},
    [ELM_GGML_Q2_K] = {"Q2_K", 256, 16 + 64 + 2 + 2},
    [ELM_GGML_Q3_K] = {"Q3_K", 256, 32 + 64 + 12 + 2},
    [ELM_GGML_Q4_K] = {"Q4_K", 256, 2 + 2 + 12 + 128},
    [ELM_GGML_Q5_K] = {"Q5_K", 256, 2 + 2 + 12 + 32 + 128},
    [ELM_GGML_Q6_K] = {"Q6_K", 256, 128 + 64 + 16 + 2},
    [ELM_GGML_Q8_K] = {"Q8_K", 256, 4 + 256 + 32},
    [ELM_GGML_IQ2_XXS] = {"IQ2_XXS", 256, 2 + 64},
    [ELM_GGML_IQ2_XS] = {"IQ2_XS", 256, 2 + 64 + 8},
    [ELM_GGML_IQ3_XXS] = {"IQ3_XXS", 256, 2 + 96},
    [ELM_GGML_IQ1_S] = {"IQ1_S", 256, 2 + 32 + 16},
    [ELM_GGML_IQ4_NL] = {"IQ4_NL", 32, 2 + 16},
    [ELM_GGML_IQ3_S] = {"IQ3_S", 256, 2 + 64 + 8 + 32 + 4},
    [ELM_GGML_IQ2_S] = {"IQ2_S", 256, 2 + 64 + 8 + 8},
    [ELM_GGML_IQ4_XS] = {"IQ4_XS", 256, 2 + 2 + 4 + 128},
    [ELM_GGML_I8] = {"I8", 1, 1},
    [ELM_GGML_I16] = {"I16", 1, 2},
    [ELM_GGML_I32] = {"I32", 1, 4},
    [ELM_GGML_I64] = {"I64", 1, 8},
    [ELM_GGML_F64] = {"F64", 1, 8},
    [ELM_GGML_IQ1_M] = {"IQ1_M", 256, 32 + 16 + 8},
    [ELM_GGML_BF16] = {"BF16", 1, 2},
    [ELM_GGML_TQ1_0] = {"TQ1_0", 256, 48 + 4 + 2},
    [ELM_GGML_TQ2_0] = {"TQ2_0", 256, 64 + 2},
    [ELM_GGML_MXFP4] = {"MXFP4", 32, 1 + 16},
};

int elm_ggml_type_known(uint32_t t)
{
    return t < ELM_GGML_TYPE_COUNT && traits[t].block != 0;
}

const char *elm_ggml_type_name(uint32_t t)
{
    return elm_ggml_type_known(t) ? traits[t].name : "?";
}

uint32_t elm_ggml_block_size(uint32_t t)
{
    return elm_ggml_type_known(t) ? traits[t].block : 0;
}

int elm_ggml_can_dequant(uint32_t t)
{
    switch (t) {
    case ELM_GGML_F32: case ELM_GGML_F16: case ELM_GGML_BF16:
    case ELM_GGML_Q8_0: case ELM_GGML_Q4_0: case ELM_GGML_Q4_1:
    case ELM_GGML_Q5_0: case ELM_GGML_Q5_1:
    case ELM_GGML_Q4_K: case ELM_GGML_Q5_K: case ELM_GGML_Q6_K:
        return 1;
    default:
        return 0;
    }
}

elm_status elm_ggml_type_size(uint32_t t, uint64_t n, uint64_t *bytes)
{
    if (!elm_ggml_type_known(t))
        return elm_err(ELM_E_UNSUPPORTED, "unknown ggml type %u", t);
    const type_traits *tr = &traits[t];
    if (n % tr->block)
        return elm_err(ELM_E_FORMAT, "%llu elements of type %s: not a multiple of the block size %u",
                       (unsigned long long)n, tr->name, tr->block);
    uint64_t blocks = n / tr->block;
    if (blocks > UINT64_MAX / tr->bytes)
        return elm_err(ELM_E_FORMAT, "%llu elements of type %s: byte size overflows",
                       (unsigned long long)n, tr->name);
    *bytes = blocks * tr->bytes;
    return ELM_OK;
}

/* ---- scalar conversions ---------------------------------------------------- */

static float bits_to_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float elm_fp16_to_fp32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    if (exp == 0x1f) /* inf / nan */
        return bits_to_f32(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        /* zero or subnormal: man × 2^-24 exactly */
        float v = ldexpf((float)man, -24);
        return sign ? -v : v;
    }
    return bits_to_f32(sign | ((exp + 112) << 23) | (man << 13));
}

float elm_bf16_to_fp32(uint16_t h)
{
    return bits_to_f32((uint32_t)h << 16);
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static float rdh(const uint8_t *p)
{
    return elm_fp16_to_fp32(rd16(p));
}

/* ---- block decoders (one block each; y receives block-size floats) -------- */

/* Q4_0: d (f16), qs[16]; element j<16 is the low nibble of qs[j], element
 * j+16 the high nibble; value (q - 8) × d. */
static void dq_q4_0(const uint8_t *b, float *y)
{
    float d = rdh(b);
    const uint8_t *qs = b + 2;
    for (int j = 0; j < 16; j++) {
        y[j] = (float)((qs[j] & 0x0f) - 8) * d;
        y[j + 16] = (float)((qs[j] >> 4) - 8) * d;
    }
}

/* Q4_1: d, m (f16), qs[16]; value q × d + m. */
static void dq_q4_1(const uint8_t *b, float *y)
{
    float d = rdh(b), m = rdh(b + 2);
    const uint8_t *qs = b + 4;
    for (int j = 0; j < 16; j++) {
        y[j] = (float)(qs[j] & 0x0f) * d + m;
        y[j + 16] = (float)(qs[j] >> 4) * d + m;
    }
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Q5_0: d, qh (u32: bit j is the 5th bit of element j), qs[16];
 * value (q - 16) × d. */
static void dq_q5_0(const uint8_t *b, float *y)
{
    float d = rdh(b);
    uint32_t qh = rd32(b + 2);
    const uint8_t *qs = b + 6;
    for (int j = 0; j < 16; j++) {
        int lo = (qs[j] & 0x0f) | (int)(((qh >> j) & 1) << 4);
        int hi = (qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
        y[j] = (float)(lo - 16) * d;
        y[j + 16] = (float)(hi - 16) * d;
    }
}

/* Q5_1: d, m, qh, qs[16]; value q × d + m. */
static void dq_q5_1(const uint8_t *b, float *y)
{
    float d = rdh(b), m = rdh(b + 2);
    uint32_t qh = rd32(b + 4);
    const uint8_t *qs = b + 8;
    for (int j = 0; j < 16; j++) {
        int lo = (qs[j] & 0x0f) | (int)(((qh >> j) & 1) << 4);
        int hi = (qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
        y[j] = (float)lo * d + m;
        y[j + 16] = (float)hi * d + m;
    }
}

/* Q8_0: d, qs[32] (int8); value q × d. */
static void dq_q8_0(const uint8_t *b, float *y)
{
    float d = rdh(b);
    for (int j = 0; j < 32; j++)
        y[j] = (float)(int8_t)b[2 + j] * d;
}

/* The 12-byte K-quant scale array packs eight 6-bit scales and eight 6-bit
 * mins: entries 0-3 in the low 6 bits of bytes 0-3 (scales) and 4-7 (mins);
 * entries 4-7 take their low 4 bits from bytes 8-11 (scale: low nibble, min:
 * high nibble) and their top 2 bits from the top bits of bytes 0-3 / 4-7. */
static void scale_min_k4(int j, const uint8_t *q, int *sc, int *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* Q4_K: d, dmin (f16), scales[12], qs[128]. Eight sub-blocks of 32; pairs
 * of sub-blocks share 32 bytes of qs (low nibbles first, then high);
 * value d × sc × q − dmin × m. */
static void dq_q4_k(const uint8_t *b, float *y)
{
    float d = rdh(b), dmin = rdh(b + 2);
    const uint8_t *scales = b + 4, *q = b + 16;
    for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
        int sc, m;
        scale_min_k4(is, scales, &sc, &m);
        float d1 = d * (float)sc, m1 = dmin * (float)m;
        scale_min_k4(is + 1, scales, &sc, &m);
        float d2 = d * (float)sc, m2 = dmin * (float)m;
        for (int l = 0; l < 32; l++)
            y[j + l] = d1 * (float)(q[l] & 0x0f) - m1;
        for (int l = 0; l < 32; l++)
            y[j + 32 + l] = d2 * (float)(q[l] >> 4) - m2;
    }
}

/* Q5_K: d, dmin, scales[12], qh[32], qs[128]; as Q4_K plus a 5th bit: for
 * sub-block pair p, bit 2p of qh[l] extends the low nibble, bit 2p+1 the
 * high nibble. */
static void dq_q5_k(const uint8_t *b, float *y)
{
    float d = rdh(b), dmin = rdh(b + 2);
    const uint8_t *scales = b + 4, *qh = b + 16, *q = b + 48;
    int bit = 0;
    for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32, bit += 2) {
        int sc, m;
        scale_min_k4(is, scales, &sc, &m);
        float d1 = d * (float)sc, m1 = dmin * (float)m;
        scale_min_k4(is + 1, scales, &sc, &m);
        float d2 = d * (float)sc, m2 = dmin * (float)m;
        for (int l = 0; l < 32; l++)
            y[j + l] = d1 * (float)((q[l] & 0x0f) + (((qh[l] >> bit) & 1) << 4)) - m1;
        for (int l = 0; l < 32; l++)
            y[j + 32 + l] = d2 * (float)((q[l] >> 4) + (((qh[l] >> (bit + 1)) & 1) << 4)) - m2;
    }
}

/* Q6_K: ql[128], qh[64], scales[16] (int8), d (f16). Two halves of 128
 * elements, each using 64 bytes of ql and 32 of qh. In a half, element
 * l + 32k (l < 32, k = 0..3) takes its low 4 bits from ql[l] (k = 0: low
 * nibble, k = 2: high nibble) or ql[l + 32] (k = 1: low, k = 3: high), and
 * its top 2 bits from bits 2k..2k+1 of qh[l]; its scale is scales[l/16 + 2k]
 * of the half; value d × scale × (q − 32). */
static void dq_q6_k(const uint8_t *b, float *y)
{
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    float d = rdh(b + 208);
    for (int n = 0; n < 256; n += 128, ql += 64, qh += 32, sc += 8) {
        for (int l = 0; l < 32; l++) {
            int is = l / 16;
            int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
            int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
            int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[n + l] = d * (float)sc[is] * (float)q1;
            y[n + l + 32] = d * (float)sc[is + 2] * (float)q2;
            y[n + l + 64] = d * (float)sc[is + 4] * (float)q3;
            y[n + l + 96] = d * (float)sc[is + 6] * (float)q4;
        }
    }
}

elm_status elm_dequant(uint32_t t, const void *src, size_t n, float *dst)
{
    if (!elm_ggml_can_dequant(t))
        return elm_err(ELM_E_UNSUPPORTED, "dequantisation of ggml type %s (%u) is not supported",
                       elm_ggml_type_name(t), t);
    uint64_t bytes;
    ELM_TRY(elm_ggml_type_size(t, n, &bytes));
    if (n && (!src || !dst))
        return elm_err(ELM_E_INVALID, "elm_dequant: invalid argument");
    const uint8_t *s = src;
    switch (t) {
    case ELM_GGML_F32:
        memcpy(dst, s, n * 4);
        return ELM_OK;
    case ELM_GGML_F16:
        for (size_t i = 0; i < n; i++)
            dst[i] = rdh(s + 2 * i);
        return ELM_OK;
    case ELM_GGML_BF16:
        for (size_t i = 0; i < n; i++)
            dst[i] = elm_bf16_to_fp32(rd16(s + 2 * i));
        return ELM_OK;
    default:
        break;
    }
    void (*fn)(const uint8_t *, float *) = NULL;
    switch (t) {
    case ELM_GGML_Q4_0: fn = dq_q4_0; break;
    case ELM_GGML_Q4_1: fn = dq_q4_1; break;
    case ELM_GGML_Q5_0: fn = dq_q5_0; break;
    case ELM_GGML_Q5_1: fn = dq_q5_1; break;
    case ELM_GGML_Q8_0: fn = dq_q8_0; break;
    case ELM_GGML_Q4_K: fn = dq_q4_k; break;
    case ELM_GGML_Q5_K: fn = dq_q5_k; break;
    case ELM_GGML_Q6_K: fn = dq_q6_k; break;
    default: return elm_err(ELM_E_INTERNAL, "elm_dequant: no decoder for type %u", t);
    }
    uint32_t bs = traits[t].block, bb = traits[t].bytes;
    for (size_t i = 0; i < n / bs; i++)
        fn(s + i * bb, dst + i * bs);
    return ELM_OK;
}
