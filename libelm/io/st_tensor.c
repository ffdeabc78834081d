#include "io/st_tensor.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* The pairs: both directions read this one table. */
static const struct {
    elm_st_dtype st;
    et_dtype et;
} pairs[] = {
    {ELM_ST_F64, ET_F64}, {ELM_ST_F32, ET_F32}, {ELM_ST_F16, ET_F16}, {ELM_ST_BF16, ET_BF16},
    {ELM_ST_I64, ET_I64}, {ELM_ST_I32, ET_I32}, {ELM_ST_U8, ET_U8},   {ELM_ST_BOOL, ET_BOOL},
};

int elm_st_dtype_to_et(elm_st_dtype s, et_dtype *out)
{
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (pairs[i].st == s) {
            *out = pairs[i].et;
            return 1;
        }
    return 0;
}

int elm_st_dtype_from_et(et_dtype e, elm_st_dtype *out)
{
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (pairs[i].et == e) {
            *out = pairs[i].st;
            return 1;
        }
    return 0;
}

/* ---- writing shim tensors ---- */

static elm_status push(elm_st_host *h, const char *name, elm_st_host_entry **out)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 16;
        elm_st_host_entry *e = realloc(h->e, cap * sizeof *e);
        if (!e)
            return elm_err(ELM_E_NOMEM, "%s: out of memory", name);
        h->e = e;
        h->cap = cap;
    }
    elm_st_host_entry *e = &h->e[h->n];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    if (!e->name)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", name);
    h->n++;
    *out = e;
    return ELM_OK;
}

static elm_status add(elm_st_host *h, const char *name, const et_tensor *t, int convert, et_dtype as)
{
    if (!t)
        return elm_err(ELM_E_INVALID, "%s: no tensor (NULL)", name);
    int nd = et_ndim(t);
    if (nd < 0 || nd > ELM_ST_MAX_DIMS)
        return elm_err(ELM_E_UNSUPPORTED, "%s: %d dimensions; a safetensors file takes at most %d", name, nd,
                       ELM_ST_MAX_DIMS);
    et_dtype dt = convert ? as : et_get_dtype(t);
    elm_st_dtype sdt;
    if (!elm_st_dtype_from_et(dt, &sdt))
        return elm_err(ELM_E_UNSUPPORTED, "%s: dtype %s, which safetensors cannot name", name, et_dtype_name(dt));
    size_t nbytes = (size_t)et_numel(t) * et_dtype_size(dt);
    elm_st_host_entry *e;
    ELM_TRY(push(h, name, &e));
    e->dtype = sdt;
    e->ndim = nd;
    for (int d = 0; d < nd; d++)
        e->shape[d] = et_size(t, d);
    e->data = malloc(nbytes ? nbytes : 1);
    if (!e->data)
        return elm_err(ELM_E_NOMEM, "%s: out of memory (%zu bytes)", name, nbytes);
    e->nbytes = nbytes;
    return et_to_host(t, e->data, dt, nbytes);
}

elm_status elm_st_host_add(elm_st_host *h, const char *name, const et_tensor *t)
{
    return add(h, name, t, 0, ET_F32);
}

elm_status elm_st_host_add_as(elm_st_host *h, const char *name, const et_tensor *t, et_dtype as)
{
    return add(h, name, t, 1, as);
}

elm_status elm_st_host_add_bytes(elm_st_host *h, const char *name, elm_st_dtype dt, int ndim,
                                 const int64_t *shape, const void *data, size_t nbytes)
{
    if (ndim < 0 || ndim > ELM_ST_MAX_DIMS)
        return elm_err(ELM_E_UNSUPPORTED, "%s: %d dimensions; a safetensors file takes at most %d", name, ndim,
                       ELM_ST_MAX_DIMS);
    elm_st_host_entry *e;
    ELM_TRY(push(h, name, &e));
    e->dtype = dt;
    e->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        e->shape[d] = shape[d];
    e->data = malloc(nbytes ? nbytes : 1);
    if (!e->data)
        return elm_err(ELM_E_NOMEM, "%s: out of memory (%zu bytes)", name, nbytes);
    if (nbytes)
        memcpy(e->data, data, nbytes);
    e->nbytes = nbytes;
    return ELM_OK;
}

elm_status elm_st_host_write(const elm_st_host *h, const char *path, const char *const *metadata)
{
    elm_st_write_tensor *w = calloc(h->n ? h->n : 1, sizeof *w);
    if (!w)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < h->n; i++)
        w[i] = (elm_st_write_tensor){h->e[i].name, h->e[i].dtype, h->e[i].ndim, h->e[i].shape, h->e[i].data};
    elm_status st = elm_st_write(path, w, h->n, metadata);
    free(w);
    return st;
}

void elm_st_host_free(elm_st_host *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->e[i].name);
        free(h->e[i].data);
    }
    free(h->e);
    memset(h, 0, sizeof *h);
}
