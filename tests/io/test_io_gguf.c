#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/dequant.h"
#include "io/gguf.h"
#include "testutil.h"

START_TEST(test_valid_file)
{
    elm_gguf *g;
    ck_assert_elm_ok(elm_gguf_open(tu_src("tests/fixtures/io/malformed/gg_valid.gguf"), &g));
    ck_assert_uint_eq(elm_gguf_version(g), 3);
    ck_assert_uint_eq(elm_gguf_alignment(g), 32);
    ck_assert_uint_eq(elm_gguf_kv_count(g), 5);
    const char *s;
    ck_assert_elm_ok(elm_gguf_get_str(g, "general.architecture", &s));
    ck_assert_str_eq(s, "llama");
    uint32_t u;
    int64_t i;
    ck_assert_elm_ok(elm_gguf_get_u32(g, "llama.block_count", &u));
    ck_assert_uint_eq(u, 2);
    ck_assert_elm_ok(elm_gguf_get_i64(g, "llama.block_count", &i));
    ck_assert_int_eq(i, 2);
    float f;
    ck_assert_elm_ok(elm_gguf_get_f32(g, "f", &f));
    ck_assert_float_eq(f, 0.5f);
    ck_assert_elm_status(elm_gguf_get_f32(g, "llama.block_count", &f), ELM_E_FORMAT);
    ck_assert_elm_status(elm_gguf_get_u32(g, "general.architecture", &u), ELM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "key 'general.architecture'"));
    ck_assert_elm_status(elm_gguf_get_u32(g, "absent", &u), ELM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "key 'absent': missing"));

    elm_gguf_arr a;
    ck_assert_elm_ok(elm_gguf_get_arr(g, "tokenizer.ggml.tokens", &a));
    ck_assert_int_eq(a.type, ELM_GGUF_STRING);
    ck_assert_uint_eq(a.count, 3);
    size_t len;
    ck_assert_elm_ok(elm_gguf_arr_str(&a, 1, &s, &len));
    ck_assert_uint_eq(len, 2);
    ck_assert_int_eq(memcmp(s, "bc", 2), 0);
    ck_assert_elm_ok(elm_gguf_arr_str(&a, 2, &s, &len));
    ck_assert_uint_eq(len, 0);
    ck_assert_elm_status(elm_gguf_arr_str(&a, 3, &s, &len), ELM_E_INVALID);
    ck_assert_elm_status(elm_gguf_arr_i64(&a, 0, &i), ELM_E_FORMAT);
    ck_assert_elm_ok(elm_gguf_get_arr(g, "nested", &a));
    ck_assert_int_eq(a.type, ELM_GGUF_ARRAY);
    ck_assert_uint_eq(a.count, 2);

    ck_assert_uint_eq(elm_gguf_tensor_count(g), 2);
    const elm_gguf_tensor *t;
    ck_assert_elm_ok(elm_gguf_get_tensor(g, "w", &t));
    ck_assert_uint_eq(t->type, ELM_GGML_F32);
    ck_assert_int_eq(t->n_dims, 2);
    ck_assert_int_eq(t->ne[0], 2);
    ck_assert_int_eq(t->ne[1], 3);
    ck_assert_int_eq(t->ne[2], 1);
    ck_assert_uint_eq(t->nbytes, 24);
    float w[6];
    ck_assert_elm_ok(elm_dequant(t->type, t->data, 6, w));
    for (int k = 0; k < 6; k++)
        ck_assert_float_eq(w[k], (float)(k + 1));
    ck_assert_elm_ok(elm_gguf_get_tensor(g, "q", &t));
    ck_assert_uint_eq(t->type, ELM_GGML_Q8_0);
    ck_assert_uint_eq(t->nbytes, 34);
    ck_assert_uint_eq(((uintptr_t)t->data) % 32, 0);
    float q[32];
    ck_assert_elm_ok(elm_dequant(t->type, t->data, 32, q));
    for (int k = 0; k < 32; k++)
        ck_assert_float_eq(q[k], 0.5f * (float)k);
    ck_assert_elm_status(elm_gguf_get_tensor(g, "nope", &t), ELM_E_FORMAT);
    elm_gguf_close(g);
}
END_TEST

START_TEST(test_type_sizes)
{
    uint64_t b;
    ck_assert_elm_ok(elm_ggml_type_size(ELM_GGML_Q4_K, 512, &b));
    ck_assert_uint_eq(b, 288);
    ck_assert_elm_ok(elm_ggml_type_size(ELM_GGML_Q6_K, 256, &b));
    ck_assert_uint_eq(b, 210);
    ck_assert_elm_ok(elm_ggml_type_size(ELM_GGML_Q5_K, 256, &b));
    ck_assert_uint_eq(b, 176);
    ck_assert_elm_ok(elm_ggml_type_size(ELM_GGML_Q8_0, 64, &b));
    ck_assert_uint_eq(b, 68);
    ck_assert_elm_ok(elm_ggml_type_size(ELM_GGML_BF16, 3, &b));
    ck_assert_uint_eq(b, 6);
    ck_assert_elm_status(elm_ggml_type_size(ELM_GGML_Q4_0, 33, &b), ELM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "block size 32"));
    ck_assert_elm_status(elm_ggml_type_size(4, 32, &b), ELM_E_UNSUPPORTED);
    float out[256];
    unsigned char blk[256] = {0};
    ck_assert_elm_status(elm_dequant(ELM_GGML_Q2_K, blk, 256, out), ELM_E_UNSUPPORTED);
    ck_assert_float_eq(elm_fp16_to_fp32(0x3c00), 1.0f);
    ck_assert_float_eq(elm_fp16_to_fp32(0xc000), -2.0f);
    ck_assert_float_eq(elm_fp16_to_fp32(0x0001), ldexpf(1.0f, -24)); /* smallest subnormal */
    ck_assert(isinf(elm_fp16_to_fp32(0x7c00)));
    ck_assert(isnan(elm_fp16_to_fp32(0x7e00)));
    ck_assert_float_eq(elm_bf16_to_fp32(0x3fc0), 1.5f);
}
END_TEST

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)(v >> 8);
}

/* Hand-built blocks; expected values from the format description, element
 * by element (not by the decoder's loop structure). All scales are exact in
 * half precision and all products exact in float, so equality is exact. */
START_TEST(test_small_blocks)
{
    unsigned char b[34];
    float y[32];
    /* Q8_0: d = 0.5, q = j - 16 */
    put16(b, 0x3800);
    for (int j = 0; j < 32; j++)
        b[2 + j] = (unsigned char)(int8_t)(j - 16);
    ck_assert_elm_ok(elm_dequant(ELM_GGML_Q8_0, b, 32, y));
    for (int j = 0; j < 32; j++)
        ck_assert_float_eq(y[j], 0.5f * (float)(j - 16));
    /* Q4_0: d = 2, element e < 16 low nibble of qs[e], else high nibble of qs[e-16] */
    put16(b, 0x4000);
    for (int j = 0; j < 16; j++)
        b[2 + j] = (unsigned char)(j | ((15 - j) << 4));
    ck_assert_elm_ok(elm_dequant(ELM_GGML_Q4_0, b, 32, y));
    for (int e = 0; e < 32; e++) {
        int q = e < 16 ? e : 15 - (e - 16);
        ck_assert_float_eq(y[e], 2.0f * (float)(q - 8));
    }
    /* Q4_1: d = 0.5, m = -1 */
    put16(b, 0x3800);
    put16(b + 2, 0xbc00);
    for (int j = 0; j < 16; j++)
        b[4 + j] = (unsigned char)(j | ((15 - j) << 4));
    ck_assert_elm_ok(elm_dequant(ELM_GGML_Q4_1, b, 32, y));
    for (int e = 0; e < 32; e++) {
        int q = e < 16 ? e : 15 - (e - 16);
        ck_assert_float_eq(y[e], 0.5f * (float)q - 1.0f);
    }
    /* Q5_0 / Q5_1: bit e of the u32 qh is element e's fifth bit */
    uint32_t qh = 0xA5C3F00Fu;
    put16(b, 0x3c00);
    for (int k = 0; k < 4; k++)
        b[2 + k] = (unsigned char)(qh >> (8 * k));
    for (int j = 0; j < 16; j++)
        b[6 + j] = (unsigned char)(((j * 3) & 15) | ((j * 5 & 15) << 4));
    ck_assert_elm_ok(elm_dequant(ELM_GGML_Q5_0, b, 32, y));
    for (int e = 0; e < 32; e++) {
        int lo = e < 16 ? (e * 3) & 15 : ((e - 16) * 5) & 15;
        int q = lo + 16 * (int)((qh >> e) & 1);
        ck_assert_float_eq(y[e], (float)(q - 16));
    }
    put16(b, 0x3400);     /* 0.25 */
    put16(b + 2, 0x4200); /* 3.0 */
    for (int k = 0; k < 4; k++)
        b[4 + k] = (unsigned char)(qh >> (8 * k));
    for (int j = 0; j < 16; j++)
        b[8 + j] = (unsigned char)(((j * 3) & 15) | ((j * 5 & 15) << 4));
    ck_assert_elm_ok(elm_dequant(ELM_GGML_Q5_1, b, 32, y));
    for (int e = 0; e < 32; e++) {
        int lo = e < 16 ? (e * 3) & 15 : ((e - 16) * 5) & 15;
        int q = lo + 16 * (int)((qh >> e) & 1);
        ck_assert_float_eq(y[e], 0.25f * (float)q + 3.0f);
    }
}
END_TEST

/* Pack eight 6-bit scales and mins into the 12-byte K-quant form. */
static void pack_k4(const int *sc, const int *m, unsigned char *out)
{
    memset(out, 0, 12);
    for (int j = 0; j < 4; j++) {
        out[j] = (unsigned char)(sc[j] & 63);
        out[j + 4] = (unsigned char)(m[j] & 63);
    }
    for (int j = 4; j < 8; j++) {
        out[j + 4] = (unsigned char)((sc[j] & 15) | ((m[j] & 15) << 4));
        out[j - 4] |= (unsigned char)((sc[j] >> 4) << 6);
        out[j] |= (unsigned char)((m[j] >> 4) << 6);
    }
}

static const int SC[8] = {1, 5, 17, 33, 40, 50, 63, 20};
static const int MN[8] = {0, 7, 19, 35, 45, 52, 61, 3};

START_TEST(test_k_blocks)
{
    unsigned char b[210];
    float y[256];
    /* Q4_K: d = 1, dmin = 0.5; element e in sub-block s = e/32 reads the low
     * (s even) or high (s odd) nibble of qs[(s/2)*32 + e%32]. */
    put16(b, 0x3c00);
    put16(b + 2, 0x3800);
    pack_k4(SC, MN, b + 4);
    for (int i = 0; i < 128; i++)
        b[16 + i] = (unsigned char)((i * 7) & 255);
    ck_assert_elm_ok(elm_dequant(ELM_GGML_Q4_K, b, 256, y));
    for (int e = 0; e < 256; e++) {
        int s = e / 32, byte = b[16 + (s / 2) * 32 + e % 32];
        int q = s % 2 ? byte >> 4 : byte & 15;
        ck_assert_msg(y[e] == (float)(SC[s] * q) - 0.5f * (float)MN[s], "Q4_K e=%d: %g", e, y[e]);
    }
    /* Q5_K: fifth bit of element e is bit s of qh[e%32]. */
    unsigned char c[176];
    put16(c, 0x3800);     /* 0.5 */
    put16(c + 2, 0x3400); /* 0.25 */
    pack_k4(SC, MN, c + 4);
    for (int i = 0; i < 32; i++)
        c[16 + i] = (unsigned char)((i * 37 + 11) & 255);
    for (int i = 0; i < 128; i++)
        c[48 + i] = (unsigned char)((i * 13 + 5) & 255);
    ck_assert_elm_ok(elm_dequant(ELM_GGML_Q5_K, c, 256, y));
    for (int e = 0; e < 256; e++) {
        int s = e / 32, l = e % 32, byte = c[48 + (s / 2) * 32 + l];
        int q = (s % 2 ? byte >> 4 : byte & 15) + 16 * ((c[16 + l] >> s) & 1);
        ck_assert_msg(y[e] == 0.5f * (float)(SC[s] * q) - 0.25f * (float)MN[s], "Q5_K e=%d: %g", e,
                      y[e]);
    }
    /* Q6_K: d = 0.25; scales -8..7. */
    for (int i = 0; i < 128; i++)
        b[i] = (unsigned char)((i * 29 + 3) & 255);
    for (int i = 0; i < 64; i++)
        b[128 + i] = (unsigned char)((i * 53 + 17) & 255);
    for (int i = 0; i < 16; i++)
        b[192 + i] = (unsigned char)(int8_t)(i - 8);
    put16(b + 208, 0x3400);
    ck_assert_elm_ok(elm_dequant(ELM_GGML_Q6_K, b, 256, y));
    for (int e = 0; e < 256; e++) {
        int h = e / 128, r = e % 128, k = r / 32, l = r % 32;
        int qlb = b[h * 64 + l + (k % 2) * 32];
        int lo = k < 2 ? qlb & 15 : qlb >> 4;
        int hi = (b[128 + h * 32 + l] >> (2 * k)) & 3;
        int scale = (int8_t)b[192 + h * 8 + l / 16 + 2 * k];
        ck_assert_msg(y[e] == 0.25f * (float)scale * (float)((lo | (hi << 4)) - 32), "Q6_K e=%d: %g",
                      e, y[e]);
    }
}
END_TEST

/* Cross-check against gguf-py's dequantize (tools/reference/
 * gguf_dequant_golden.py). Tolerance: numpy may order float32 products
 * differently (d × sc × q vs d × (sc × q)), so allow 2 ulp-ish relative
 * error against the block's largest magnitude. */
START_TEST(test_golden)
{
    static const struct {
        const char *name;
        uint32_t type;
    } types[] = {{"F16", ELM_GGML_F16},   {"BF16", ELM_GGML_BF16}, {"Q4_0", ELM_GGML_Q4_0},
                 {"Q4_1", ELM_GGML_Q4_1}, {"Q5_0", ELM_GGML_Q5_0}, {"Q5_1", ELM_GGML_Q5_1},
                 {"Q8_0", ELM_GGML_Q8_0}, {"Q4_K", ELM_GGML_Q4_K}, {"Q5_K", ELM_GGML_Q5_K},
                 {"Q6_K", ELM_GGML_Q6_K}};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        char rel[256];
        size_t nb, nf;
        snprintf(rel, sizeof rel, "tests/fixtures/io/dequant/%s.blocks", types[k].name);
        char *blocks = tu_read_file(tu_src(rel), &nb);
        snprintf(rel, sizeof rel, "tests/fixtures/io/dequant/%s.f32", types[k].name);
        char *want = tu_read_file(tu_src(rel), &nf);
        size_t n = nf / 4;
        uint64_t bytes;
        ck_assert_elm_ok(elm_ggml_type_size(types[k].type, n, &bytes));
        ck_assert_uint_eq(bytes, nb);
        float *got = malloc(n * sizeof *got), *exp = malloc(n * sizeof *exp);
        memcpy(exp, want, n * 4);
        ck_assert_elm_ok(elm_dequant(types[k].type, blocks, n, got));
        float maxabs = 0;
        for (size_t i = 0; i < n; i++)
            maxabs = fmaxf(maxabs, fabsf(exp[i]));
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(fabsf(got[i] - exp[i]) <= 2.5e-7f * maxabs, "%s[%zu]: got %.9g want %.9g",
                          types[k].name, i, got[i], exp[i]);
        free(got);
        free(exp);
        free(blocks);
        free(want);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("io_gguf");
    TCase *tc = tcase_create("gguf");
    tcase_add_test(tc, test_valid_file);
    tcase_add_test(tc, test_type_sizes);
    tcase_add_test(tc, test_small_blocks);
    tcase_add_test(tc, test_k_blocks);
    tcase_add_test(tc, test_golden);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
