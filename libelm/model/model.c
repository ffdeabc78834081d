/* Opening a model: find its files, read the configuration, load and check
 * every weight, set up rotary frequencies; reference counting. */
#include "model/model.h"
#include "model/describe.h"
#include "model/wsrc.h"

#include "core/cpuload.h"
#include "core/error.h"
#include "core/log.h"
#include "core/str.h"
#include "io/gguf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- module names ---- */

static const char *const hf_names[ELM_MOD_COUNT] = {"q_proj", "k_proj", "v_proj", "o_proj",
                                                    "gate_proj", "up_proj", "down_proj"};
static const char *const short_names[ELM_MOD_COUNT] = {"q", "k", "v", "o", "gate", "up", "down"};

const char *elm_module_hf_name(elm_module m) { return (unsigned)m < ELM_MOD_COUNT ? hf_names[m] : "?"; }
const char *elm_module_short(elm_module m) { return (unsigned)m < ELM_MOD_COUNT ? short_names[m] : "?"; }
const char *elm_module_parent(elm_module m) { return m <= ELM_MOD_O ? "self_attn" : "mlp"; }

int elm_module_from_name(const char *name)
{
    for (int i = 0; i < ELM_MOD_COUNT; i++)
        if (strcmp(name, hf_names[i]) == 0 || strcmp(name, short_names[i]) == 0)
            return i;
    return -1;
}

void elm_model_module_shape(const elm_model *m, elm_module mod, int64_t *out_features, int64_t *in_features)
{
    elm_module_shape(&m->cfg, mod, out_features, in_features);
}

/* ---- loading one tensor ---- */

typedef struct loader {
    elm_model *m;
    elm_wsrc *w;
    et_scope *tmp;
    char dtypes[64]; /* distinct source dtypes seen, "+"-joined */
    int n_zero_copy, n_loaded;
} loader;

static void release_free(void *p) { free(p); }
static void release_wsrc(void *p) { elm_wsrc_unref(p); }

/* Undo llama.cpp's q/k row permutation: rows were viewed as
 * [heads, 2, head_dim/2] and the last two axes swapped. */
static et_tensor *unpermute_rows(et_scope *s, const et_tensor *t, int64_t heads)
{
    int64_t rows = et_size(t, 0), cols = et_ndim(t) > 1 ? et_size(t, 1) : 1;
    int64_t v[4] = {heads, rows / heads / 2, 2, cols};
    int64_t back[2] = {rows, cols};
    et_tensor *r = et_reshape(s, t, 4, v);
    r = et_contiguous(s, et_transpose(s, r, 1, 2));
    return et_reshape(s, r, et_ndim(t), et_ndim(t) > 1 ? back : back);
}

static elm_status load_tensor(loader *L, const char *name, int ndim, const int64_t *shape,
                              int64_t unpermute_heads, et_tensor **out)
{
    elm_model *m = L->m;
    const char *src = elm_wsrc_path(L->w);
    elm_wtensor t;
    *out = NULL;
    ELM_TRY(elm_wsrc_expect(L->w, name, ndim, shape, &t));
    elm_name_list_add(L->dtypes, sizeof L->dtypes, t.dtype);
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];

    et_tensor *x = NULL;
    int zero_copy = 0;
    if (t.et_dt >= 0 && t.nbytes == n * et_dtype_size((et_dtype)t.et_dt)) {
        size_t esz = et_dtype_size((et_dtype)t.et_dt);
        int aligned = ((uintptr_t)t.data % esz) == 0;
        if (aligned && t.et_dt == (int)m->dtype && m->device.kind == 0 && !unpermute_heads) {
            elm_wsrc_ref(L->w);
            x = et_from_blob(L->tmp, (void *)t.data, (et_dtype)t.et_dt, ndim, shape, release_wsrc, L->w);
            if (!x)
                elm_wsrc_unref(L->w); /* et_from_blob failed before taking ownership */
            zero_copy = x != NULL;
        } else if (aligned) {
            x = et_from_blob(L->tmp, (void *)t.data, (et_dtype)t.et_dt, ndim, shape, NULL, NULL);
        } else {
            x = et_from_data(L->tmp, t.data, (et_dtype)t.et_dt, ndim, shape);
        }
    } else {
        float *buf = malloc((n ? n : 1) * sizeof(float));
        if (!buf)
            return elm_err(ELM_E_NOMEM, "%s: out of memory for tensor '%s'", src, name);
        elm_status st = elm_wsrc_to_f32(L->w, &t, buf);
        if (st != ELM_OK) {
            free(buf);
            return st;
        }
        x = et_from_blob(L->tmp, buf, ET_F32, ndim, shape, release_free, buf);
        if (!x)
            free(buf);
    }
    if (x && unpermute_heads)
        x = unpermute_rows(L->tmp, et_to(L->tmp, x, ET_F32), unpermute_heads);
    if (x && et_get_dtype(x) != m->dtype)
        x = et_to(L->tmp, x, m->dtype);
    if (x && m->device.kind != 0)
        x = et_to_device(L->tmp, x, m->device);
    else if (x && !zero_copy && t.et_dt >= 0 && et_get_dtype(x) == (et_dtype)t.et_dt && !unpermute_heads)
        x = et_clone(L->tmp, x); /* a blob without release must not outlive the loader */
    x = x ? et_share(m->weights, x) : NULL;
    elm_status st = et_scope_check(L->tmp);
    if (st == ELM_OK && !x)
        st = et_scope_check(m->weights);
    if (st != ELM_OK)
        return elm_err_context(st, "%s: tensor '%s'", src, name);
    /* temporaries of this tensor can go now (the result is shared into weights) */
    et_scope_free(L->tmp);
    if (!zero_copy)
        elm_wsrc_drop_pages(L->w, &t); /* nothing refers to the file's bytes any more */
    L->tmp = et_scope_new();
    if (!L->tmp)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", src);
    L->n_zero_copy += zero_copy;
    L->n_loaded++;
    m->n_params += (int64_t)n;
    *out = x;
    return ELM_OK;
}

/* ---- the whole model ---- */

/* Where each tensor of the walk (describe.h) goes. */
static elm_status load_one(void *ctx, const elm_wspec *w)
{
    loader *L = ctx;
    elm_model *m = L->m;
    et_tensor **dst = NULL;
    switch (w->role) {
    case ELM_W_TOK_EMBD: dst = &m->tok_embd; break;
    case ELM_W_ATTN_NORM: dst = &m->layers[w->layer].attn_norm; break;
    case ELM_W_FFN_NORM: dst = &m->layers[w->layer].ffn_norm; break;
    case ELM_W_PROJ: dst = &m->layers[w->layer].w[w->mod]; break;
    case ELM_W_BIAS: dst = &m->layers[w->layer].bias[w->mod]; break;
    case ELM_W_NORM: dst = &m->norm; break;
    case ELM_W_LM_HEAD: dst = &m->lm_head; break;
    }
    return load_tensor(L, w->name, w->ndim, w->shape, w->unpermute_heads, dst);
}

static elm_status load_weights(loader *L)
{
    elm_model *m = L->m;
    m->layers = calloc((size_t)m->cfg.n_layers, sizeof *m->layers);
    if (!m->layers)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", m->path);
    ELM_TRY(elm_model_each_weight(&m->cfg, m->from_gguf, load_one, L));
    if (m->cfg.tied_embeddings)
        m->lm_head = m->tok_embd;
    return ELM_OK;
}


static void model_destroy(elm_model *m)
{
    if (!m)
        return;
    m->magic = 0;
    if (m->adapter)
        elm_lora_free(m->adapter);
    et_scope_free(m->weights);
    free(m->layers);
    free(m->path);
    free(m->inv_freq_host);
    free(m->tok_error);
    elm_model_release_tokenizer(m);
    free(m);
}

/* The thread count and the CPU cache budget belong to the process, not to a
 * model: a load changes them only when cfg sets runtime.threads /
 * runtime.cpu_cache_mb explicitly, so that elm_set_num_threads (or an earlier
 * load that set them) is not undone by a later elm_model_load(path, NULL).
 * While nothing in the process has set one yet, the load applies the schema
 * default as before: threads 0 (every CPU this process may use: libtorch
 * itself may start at one thread) and the default cache budget. */
static elm_status apply_process_settings(const elm_model_opts *o)
{
    if (o->threads_set || !et_num_threads_configured()) {
        int n = (int)o->threads;
        if (n <= 0) {
            /* 0: the CPUs this process may use that other work does not
             * keep busy now (core/cpuload.h) */
            int busy = 0;
            n = elm_cpu_auto_threads(&busy);
            elm_log(ELM_LOG_INFO, "runtime.threads 0: %d thread%s (%d CPU%s, %d busy with other work)", n,
                    n == 1 ? "" : "s", elm_cpu_affinity_count(), elm_cpu_affinity_count() == 1 ? "" : "s", busy);
        }
        ELM_TRY(et_set_num_threads(n));
    }
    if (o->cpu_cache_set || !et_cpu_cache_configured())
        ELM_TRY(et_set_cpu_cache((size_t)o->cpu_cache_mb << 20));
    return ELM_OK;
}

elm_status elm_model_open(const char *path, const elm_config *cfg, elm_model **out)
{
    elm_model_opts o;
    if (out)
        *out = NULL;
    ELM_TRY(elm_model_opts_from_config(cfg, &o));
    return elm_model_open_opts(path, &o, out);
}

elm_status elm_model_open_opts(const char *path, const elm_model_opts *o, elm_model **out)
{
    if (!out)
        return elm_err(ELM_E_INVALID, "elm_model_open: out is NULL");
    *out = NULL;
    if (!path || !*path)
        return elm_err(ELM_E_INVALID, "elm_model_open: path is empty");
    struct stat sb;
    if (stat(path, &sb) != 0)
        return elm_err(ELM_E_IO, "%s: %s", path, errno == ENOENT ? "no such file or directory" : strerror(errno));
    int is_dir = S_ISDIR(sb.st_mode);
    if (!is_dir && elm_is_pickle_name(path) && !elm_gguf_file_has_magic(path))
        return elm_pickle_error(path);

    et_device dev = o->device;
    et_dtype dt = elm_model_opts_dtype(o, dev);
    ELM_TRY(apply_process_settings(o));

    elm_model *m = calloc(1, sizeof *m);
    if (!m)
        return elm_err(ELM_E_NOMEM, "elm_model_open: out of memory");
    m->magic = ELM_MODEL_MAGIC;
    atomic_init(&m->refs, 1);
    m->device = dev;
    m->dtype = dt;
    et_device_name(dev, m->device_name, sizeof m->device_name);
    m->path = strdup(path);
    m->weights = et_scope_new();
    if (!m->path || !m->weights) {
        model_destroy(m);
        return elm_err(ELM_E_NOMEM, "elm_model_open: out of memory");
    }

    elm_status st = ELM_OK;
    elm_wsrc *w = NULL;
    elm_gen_defaults_hf(&m->gen_defaults);
    if (!is_dir && (elm_gguf_file_has_magic(path) || elm_str_has_suffix_nocase(path, ".gguf"))) {
        m->from_gguf = 1;
        st = elm_wsrc_open_gguf(path, &w);
        if (st == ELM_OK)
            st = elm_wsrc_gguf_config(w, &m->cfg);
    } else {
        char dir[4096], ckpt[8192], cfgpath[8192];
        st = elm_model_resolve_hf(path, is_dir, dir, sizeof dir, ckpt, sizeof ckpt);
        if (st == ELM_OK) {
            snprintf(cfgpath, sizeof cfgpath, "%s/config.json", dir);
            st = elm_llama_config_from_json(cfgpath, &m->cfg);
        }
        if (st == ELM_OK)
            st = elm_gen_defaults_load(dir, &m->gen_defaults);
        if (st == ELM_OK)
            st = elm_wsrc_open_safetensors(ckpt, &w);
    }
    if (st == ELM_OK) {
        m->inv_freq_host = malloc((size_t)(m->cfg.head_dim / 2) * sizeof(float));
        if (!m->inv_freq_host)
            st = elm_err(ELM_E_NOMEM, "elm_model_open: out of memory");
        else
            elm_llama_inv_freq(&m->cfg, m->inv_freq_host);
    }
    if (st == ELM_OK && m->from_gguf)
        st = elm_wsrc_gguf_rope_factors(w, &m->cfg, m->inv_freq_host);
    if (st == ELM_OK) {
        loader L = {.m = m, .w = w, .tmp = et_scope_new()};
        if (!L.tmp)
            st = elm_err(ELM_E_NOMEM, "elm_model_open: out of memory");
        else
            st = load_weights(&L);
        et_scope_free(L.tmp);
        snprintf(m->src_dtype, sizeof m->src_dtype, "%s", L.dtypes);
        m->zero_copy = L.n_zero_copy > 0 && L.n_zero_copy == L.n_loaded;
    }
    if (st == ELM_OK) {
        int64_t shape[1] = {m->cfg.head_dim / 2};
        et_tensor *f = et_from_data(m->weights, m->inv_freq_host, ET_F32, 1, shape);
        if (f && dev.kind != 0)
            f = et_to_device(m->weights, f, dev);
        m->inv_freq = f;
        st = et_scope_check(m->weights);
    }
    elm_wsrc_unref(w); /* zero-copy tensors hold their own references */
    if (st != ELM_OK) {
        model_destroy(m);
        return st;
    }
    elm_model_load_tokenizer(m);
    elm_log(ELM_LOG_INFO, "%s: %s, %d layers, %lld parameters, %s on %s%s", path, m->cfg.architecture,
            m->cfg.n_layers, (long long)m->n_params, et_dtype_name(m->dtype), m->device_name,
            m->zero_copy ? " (zero-copy)" : "");
    *out = m;
    return ELM_OK;
}

void elm_model_ref(elm_model *m)
{
    if (m)
        atomic_fetch_add(&m->refs, 1);
}

void elm_model_unref(elm_model *m)
{
    if (m && atomic_fetch_sub(&m->refs, 1) == 1)
        model_destroy(m);
}

elm_status elm_model_check(const elm_model *m, const char *fn)
{
    if (!m)
        return elm_err(ELM_E_INVALID, "%s: model is NULL", fn);
    if (m->magic != ELM_MODEL_MAGIC)
        return elm_err(ELM_E_INVALID, "%s: not a model handle (freed or corrupted?)", fn);
    return ELM_OK;
}
