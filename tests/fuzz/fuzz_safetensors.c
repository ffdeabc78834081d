/* Fuzz the safetensors reader (io/safetensors.h): the input is a
 * .safetensors file; every tensor's bytes and every metadata string are read
 * back so an out-of-range offset faults. Inputs that start with '{' are also
 * tried as a shard index (model.safetensors.index.json) whose shards are the
 * input itself ("a.safetensors") and a missing file. */
#include "fuzz_common.h"
#include "io/safetensors.h"

static void walk_tensor(const elm_st_tensor *t, size_t file_size)
{
    FZ_ASSERT(t && t->name);
    fz_touch(t->name, strlen(t->name));
    FZ_ASSERT(t->ndim >= 0 && t->ndim <= ELM_ST_MAX_DIMS);
    FZ_ASSERT((int)t->dtype >= 0 && t->dtype < ELM_ST_DTYPE_COUNT);
    uint64_t numel = 1;
    for (int d = 0; d < t->ndim; d++) {
        FZ_ASSERT(t->shape[d] >= 0);
        numel *= (uint64_t)t->shape[d];
    }
    FZ_ASSERT(numel == t->numel);
    FZ_ASSERT(t->nbytes == t->numel * elm_st_dtype_size(t->dtype));
    FZ_ASSERT(t->nbytes <= file_size);
    if (t->nbytes)
        fz_touch(t->data, t->nbytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write(0, "a.safetensors", data, size);
    elm_safetensors *st = NULL;
    elm_status rc = elm_st_open(path, &st);
    fz_check_error(rc);
    if (rc == ELM_OK) {
        size_t n = elm_st_count(st);
        for (size_t i = 0; i < n; i++) {
            const elm_st_tensor *t = elm_st_at(st, i);
            walk_tensor(t, size);
            FZ_ASSERT(elm_st_find(st, t->name) == t);
        }
        FZ_ASSERT(elm_st_at(st, n) == NULL);
        for (size_t i = 0; i < elm_st_metadata_count(st); i++) {
            const char *k = NULL, *v = NULL;
            if (elm_st_metadata_at(st, i, &k, &v) == ELM_OK) {
                FZ_ASSERT(k && v);
                fz_touch(k, strlen(k));
                fz_touch(v, strlen(v));
                FZ_ASSERT(elm_st_metadata(st, k) != NULL);
            }
        }
        elm_st_close(st);
    } else {
        FZ_ASSERT(st == NULL);
    }

    if (size > 0 && data[0] == '{') {
        /* the same bytes as an index next to shard a.safetensors */
        const char *idx = fz_write(1, "model.safetensors.index.json", data, size);
        elm_st_set *set = NULL;
        rc = elm_st_set_open(idx, &set);
        fz_check_error(rc);
        if (rc == ELM_OK) {
            for (size_t i = 0; i < elm_st_set_count(set); i++) {
                const elm_st_tensor *t = elm_st_set_at(set, i);
                walk_tensor(t, (size_t)1 << 40);
                FZ_ASSERT(elm_st_set_find(set, t->name) == t);
            }
            (void)elm_st_set_metadata(set, "format");
            elm_st_set_close(set);
        }
        fz_remove("model.safetensors.index.json");
    }
    return 0;
}
