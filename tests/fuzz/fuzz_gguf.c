/* Fuzz the GGUF reader (io/gguf.h) and dequantisation (io/dequant.h): open
 * the input as a .gguf file, read every key through every typed getter,
 * every array element through every accessor, every tensor's bytes, and
 * dequantise the tensors libelm can dequantise. */
#include "fuzz_common.h"
#include "io/gguf.h"

#define MAX_ARRAY_WALK 4096
#define MAX_DEQUANT (1u << 20)

static void walk_array(const elm_gguf_arr *a)
{
    uint64_t n = a->count < MAX_ARRAY_WALK ? a->count : MAX_ARRAY_WALK;
    for (uint64_t i = 0; i <= n; i++) { /* i == n: one past the end when count is small */
        int64_t iv;
        double dv;
        const char *s;
        size_t len;
        fz_check_error(elm_gguf_arr_i64(a, i, &iv));
        fz_check_error(elm_gguf_arr_f64(a, i, &dv));
        if (elm_gguf_arr_str(a, i, &s, &len) == ELM_OK)
            fz_touch(s, len);
    }
    (void)elm_gguf_arr_i64(a, UINT64_MAX, &(int64_t){0});
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write(0, "m.gguf", data, size);
    elm_gguf *g = NULL;
    elm_status rc = elm_gguf_open(path, &g);
    fz_check_error(rc);
    if (rc != ELM_OK) {
        FZ_ASSERT(g == NULL);
        return 0;
    }
    (void)elm_gguf_version(g);
    FZ_ASSERT(elm_gguf_alignment(g) > 0);
    for (size_t i = 0; i < elm_gguf_kv_count(g); i++) {
        const char *k = elm_gguf_kv_key(g, i);
        FZ_ASSERT(k);
        fz_touch(k, strlen(k));
        FZ_ASSERT(elm_gguf_find_key(g, k) == (long)i);
        (void)elm_gguf_vtype_name(elm_gguf_kv_type(g, i));
        uint32_t u32;
        int64_t i64;
        uint64_t u64;
        float f32;
        double f64;
        int b;
        const char *s;
        elm_gguf_arr a;
        fz_check_error(elm_gguf_get_u32(g, k, &u32));
        fz_check_error(elm_gguf_get_i64(g, k, &i64));
        fz_check_error(elm_gguf_get_u64(g, k, &u64));
        fz_check_error(elm_gguf_get_f32(g, k, &f32));
        fz_check_error(elm_gguf_get_f64(g, k, &f64));
        fz_check_error(elm_gguf_get_bool(g, k, &b));
        if (elm_gguf_get_str(g, k, &s) == ELM_OK)
            fz_touch(s, strlen(s));
        if (elm_gguf_get_arr(g, k, &a) == ELM_OK)
            walk_array(&a);
    }
    (void)elm_gguf_kv_key(g, elm_gguf_kv_count(g));
    fz_check_error(elm_gguf_get_u32(g, "no.such.key", &(uint32_t){0}));

    for (size_t i = 0; i < elm_gguf_tensor_count(g); i++) {
        const elm_gguf_tensor *t = elm_gguf_tensor_at(g, i);
        FZ_ASSERT(t && t->name);
        fz_touch(t->name, strlen(t->name));
        FZ_ASSERT(t->n_dims >= 0 && t->n_dims <= ELM_GGUF_MAX_DIMS);
        FZ_ASSERT(t->nbytes <= size);
        if (t->nbytes)
            fz_touch(t->data, t->nbytes);
        FZ_ASSERT(elm_gguf_find_tensor(g, t->name) == t);
        uint64_t bytes = 0;
        if (elm_ggml_type_size(t->type, t->numel, &bytes) == ELM_OK)
            FZ_ASSERT(bytes == t->nbytes);
        if (elm_ggml_can_dequant(t->type) && t->numel <= MAX_DEQUANT) {
            float *out = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *out);
            FZ_ASSERT(out);
            fz_check_error(elm_dequant(t->type, t->data, (size_t)t->numel, out));
            free(out);
        }
    }
    FZ_ASSERT(elm_gguf_tensor_at(g, elm_gguf_tensor_count(g)) == NULL);
    elm_gguf_close(g);
    return 0;
}
