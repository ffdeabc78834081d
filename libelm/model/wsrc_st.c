/* Weight sources: the safetensors side, and the shared reference counting. */
#include "model/wsrc.h"
#include "model/wsrc_impl.h"

#include "core/error.h"
#include "io/safetensors.h"
#include "io/st_tensor.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The shim dtype of a floating-point weight, else -1: integer and F8
 * tensors go to elm_wsrc_to_f32, which refuses them by name. */
static int st_et_dtype(elm_st_dtype d)
{
    et_dtype e;
    if (!elm_st_dtype_to_et(d, &e) || (e != ET_F32 && e != ET_F16 && e != ET_BF16 && e != ET_F64))
        return -1;
    return (int)e;
}

static void st_fill(const elm_st_tensor *t, elm_wtensor *out)
{
    memset(out, 0, sizeof *out);
    out->name = t->name;
    out->ndim = t->ndim;
    for (int i = 0; i < t->ndim && i < 8; i++)
        out->shape[i] = t->shape[i];
    out->dtype = elm_st_dtype_name(t->dtype);
    out->et_dt = st_et_dtype(t->dtype);
    out->data = t->data;
    out->nbytes = t->nbytes;
}

elm_status elm_wsrc_open_safetensors(const char *path, elm_wsrc **out)
{
    *out = NULL;
    elm_wsrc *w = calloc(1, sizeof *w);
    if (!w)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    atomic_init(&w->refs, 1);
    w->path = strdup(path);
    elm_status st = elm_st_set_open(path, &w->st);
    if (st != ELM_OK) {
        free(w->path);
        free(w);
        return st;
    }
    *out = w;
    return ELM_OK;
}

void elm_wsrc_ref(elm_wsrc *w)
{
    if (w)
        atomic_fetch_add(&w->refs, 1);
}

void elm_wsrc_unref(elm_wsrc *w)
{
    if (!w || atomic_fetch_sub(&w->refs, 1) != 1)
        return;
    if (w->st)
        elm_st_set_close(w->st);
    elm_wsrc_gguf_close(w);
    free(w->path);
    free(w);
}

const char *elm_wsrc_path(const elm_wsrc *w) { return w->path; }
int elm_wsrc_is_gguf(const elm_wsrc *w) { return w->st == NULL; }

size_t elm_wsrc_count(const elm_wsrc *w)
{
    return w->st ? elm_st_set_count(w->st) : elm_wsrc_gguf_count(w);
}

int elm_wsrc_at(const elm_wsrc *w, size_t i, elm_wtensor *out)
{
    if (!w->st)
        return elm_wsrc_gguf_at(w, i, out);
    const elm_st_tensor *t = elm_st_set_at(w->st, i);
    if (!t)
        return 0;
    st_fill(t, out);
    return 1;
}

int elm_wsrc_find(const elm_wsrc *w, const char *name, elm_wtensor *out)
{
    if (!w->st)
        return elm_wsrc_gguf_find(w, name, out);
    const elm_st_tensor *t = elm_st_set_find(w->st, name);
    if (!t)
        return 0;
    st_fill(t, out);
    return 1;
}

void elm_wsrc_drop_pages(const elm_wsrc *w, const elm_wtensor *t)
{
    (void)w;
    long pg = sysconf(_SC_PAGESIZE);
    if (!t->data || pg <= 0)
        return;
    uintptr_t a = (uintptr_t)t->data, b = a + t->nbytes, p = (uintptr_t)pg;
    a = (a + p - 1) / p * p;
    b = b / p * p;
    if (b > a)
        (void)madvise((void *)a, b - a, MADV_DONTNEED);
}

static float bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal */
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) {
                man <<= 1;
                exp--;
            }
            man &= 0x3ff;
            u = sign | (exp << 23) | (man << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

elm_status elm_wsrc_to_f32(const elm_wsrc *w, const elm_wtensor *t, float *dst)
{
    if (!w->st)
        return elm_wsrc_gguf_to_f32(w, t, dst);
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= (size_t)t->shape[i];
    const unsigned char *p = t->data;
    switch (t->et_dt) {
    case ET_F32: memcpy(dst, p, n * 4); return ELM_OK;
    case ET_BF16:
    case ET_F16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = t->et_dt == ET_BF16 ? bf16_to_f32(h) : f16_to_f32(h);
        }
        return ELM_OK;
    case ET_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            dst[i] = (float)d;
        }
        return ELM_OK;
    default:
        return elm_err(ELM_E_UNSUPPORTED, "%s: tensor '%s' has dtype %s; weights must be F32, F16, BF16 or F64",
                       w->path, t->name, t->dtype);
    }
}
