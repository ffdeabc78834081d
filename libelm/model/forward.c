/* The Llama-family forward pass as transformers 4.46 computes it (eager
 * attention, fp32 softmax inside et_attention, rotary cos/sin in fp32 cast
 * to the compute dtype), with PEFT-style LoRA on the projections and an
 * optional KV cache. */
#include "model/model.h"

#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Base projection plus LoRA in PEFT's order: x is cast to the adapter's
 * dtype, dropped out, through A then B, scaled, added to the base result in
 * fp32 and cast back to the compute dtype. */
static et_tensor *proj(et_scope *sc, const elm_model *m, const elm_lora *lora, int layer, int mod,
                       const et_tensor *x, const et_tensor *bias)
{
    et_tensor *y = et_linear(sc, x, m->layers[layer].w[mod], bias);
    if (!lora || layer >= lora->n_layers)
        return y;
    const et_tensor *A = ELM_LORA_A(lora, layer, mod), *B = ELM_LORA_B(lora, layer, mod);
    if (!A || !B)
        return y;
    et_dtype adt = et_get_dtype(A);
    if (lora->compute_model_dtype && adt != m->dtype) {
        /* Mixed precision: A and B cast to the compute dtype for the
         * matmuls (the casts are differentiable, so the fp32 leaves get
         * their gradients), the update added in that dtype. */
        const et_tensor *xd = x;
        if (lora->dropout > 0 && lora->training)
            xd = et_dropout(sc, xd, lora->dropout, 1);
        et_tensor *dd = et_linear(sc, et_linear(sc, xd, et_to(sc, A, m->dtype), NULL), et_to(sc, B, m->dtype), NULL);
        return et_add(sc, y, et_scale(sc, dd, lora->scale));
    }
    et_tensor *xa = et_to(sc, x, adt);
    if (lora->dropout > 0 && lora->training)
        xa = et_dropout(sc, xa, lora->dropout, 1);
    et_tensor *d = et_linear(sc, et_linear(sc, xa, A, NULL), B, NULL);
    d = et_scale(sc, d, lora->scale);
    et_tensor *sum = et_add(sc, et_to(sc, y, adt), d);
    return et_to(sc, sum, m->dtype);
}

typedef struct fwd_ctx {
    elm_model *m;
    const elm_lora *lora;
    int64_t B, T, off;
    const et_tensor *cos, *sin, *mask; /* mask NULL: plain causal (or none when T == 1) */
    int causal;
    et_tensor **new_k, **new_v;        /* per layer, cache contents after this call */
} fwd_ctx;

/* One decoder layer; every tensor it makes belongs to sc. */
static et_tensor *layer_forward(fwd_ctx *c, et_scope *sc, int l, const et_tensor *x,
                                const elm_kv_cache *cache)
{
    elm_model *m = c->m;
    const elm_llama_config *cf = &m->cfg;
    const elm_layer_weights *L = &m->layers[l];
    int64_t B = c->B, T = c->T, H = cf->n_heads, KV = cf->n_kv_heads, D = cf->head_dim;

    et_tensor *h = et_rms_norm(sc, x, L->attn_norm, cf->rms_eps);
    et_tensor *q = proj(sc, m, c->lora, l, ELM_MOD_Q, h, L->bias[0]);
    et_tensor *k = proj(sc, m, c->lora, l, ELM_MOD_K, h, L->bias[1]);
    et_tensor *v = proj(sc, m, c->lora, l, ELM_MOD_V, h, L->bias[2]);
    int64_t qs[4] = {B, T, H, D}, ks[4] = {B, T, KV, D};
    q = et_transpose(sc, et_reshape(sc, q, 4, qs), 1, 2);
    k = et_transpose(sc, et_reshape(sc, k, 4, ks), 1, 2);
    v = et_transpose(sc, et_reshape(sc, v, 4, ks), 1, 2);
    q = et_rope(sc, q, c->cos, c->sin);
    k = et_rope(sc, k, c->cos, c->sin);
    if (cache && cache->k && cache->k[l] && c->off > 0) {
        et_tensor *kk[2] = {cache->k[l], k}, *vv[2] = {cache->v[l], v};
        k = et_cat(sc, kk, 2, 2);
        v = et_cat(sc, vv, 2, 2);
    }
    if (c->new_k) {
        c->new_k[l] = k;
        c->new_v[l] = v;
    }
    if (H != KV) {
        k = et_repeat_interleave(sc, k, H / KV, 1);
        v = et_repeat_interleave(sc, v, H / KV, 1);
    }
    et_tensor *a = et_attention(sc, q, k, v, c->mask, c->causal, 0.0);
    int64_t as[3] = {B, T, H * D};
    a = et_reshape(sc, et_contiguous(sc, et_transpose(sc, a, 1, 2)), 3, as);
    et_tensor *o = proj(sc, m, c->lora, l, ELM_MOD_O, a, NULL);
    et_tensor *x1 = et_add(sc, x, o);

    h = et_rms_norm(sc, x1, L->ffn_norm, cf->rms_eps);
    et_tensor *g = proj(sc, m, c->lora, l, ELM_MOD_GATE, h, NULL);
    et_tensor *u = proj(sc, m, c->lora, l, ELM_MOD_UP, h, NULL);
    et_tensor *d = proj(sc, m, c->lora, l, ELM_MOD_DOWN, et_mul(sc, et_silu(sc, g), u), NULL);
    return et_add(sc, x1, d);
}

/* cos/sin [Bp,1,T,D] (Bp = 1 unless positions are given per row), computed
 * in fp32 on the host as transformers does, then cast to the compute dtype. */
static elm_status rotary_tables(elm_model *m, et_scope *s, const int64_t *pos, int64_t Bp, int64_t T,
                                et_tensor **cos_out, et_tensor **sin_out)
{
    int D = m->cfg.head_dim, half = D / 2;
    size_t n = (size_t)(Bp * T * D);
    float *cb = malloc(n * sizeof(float)), *sb = malloc(n * sizeof(float));
    if (!cb || !sb) {
        free(cb);
        free(sb);
        return elm_err(ELM_E_NOMEM, "elm_model_forward: out of memory for rotary tables");
    }
    for (int64_t r = 0; r < Bp * T; r++) {
        float p = (float)pos[r];
        for (int j = 0; j < half; j++) {
            float f = m->inv_freq_host[j] * p;
            float cv = cosf(f), sv = sinf(f);
            cb[r * D + j] = cb[r * D + j + half] = cv;
            sb[r * D + j] = sb[r * D + j + half] = sv;
        }
    }
    int64_t shape[4] = {Bp, 1, T, D};
    et_tensor *ct = et_from_data(s, cb, ET_F32, 4, shape);
    et_tensor *st = et_from_data(s, sb, ET_F32, 4, shape);
    free(cb);
    free(sb);
    if (m->device.kind != 0) {
        ct = et_to_device(s, ct, m->device);
        st = et_to_device(s, st, m->device);
    }
    *cos_out = et_to(s, ct, m->dtype);
    *sin_out = et_to(s, st, m->dtype);
    return ELM_OK;
}

static elm_status host_i64(const et_tensor *t, int64_t **out, const char *what)
{
    size_t n = (size_t)et_numel(t);
    *out = malloc((n ? n : 1) * sizeof(int64_t));
    if (!*out)
        return elm_err(ELM_E_NOMEM, "elm_model_forward: out of memory (%s)", what);
    elm_status st = et_to_host(t, *out, ET_I64, n * sizeof(int64_t));
    if (st != ELM_OK) {
        free(*out);
        *out = NULL;
    }
    return st;
}

et_tensor *elm_model_forward(elm_model *m, et_scope *s, const et_tensor *ids,
                             const elm_forward_opts *opts)
{
    static const elm_forward_opts none = {0};
    if (!opts)
        opts = &none;
    opts->hidden_out ? (void)(*opts->hidden_out = NULL) : (void)0;
    if (!m || !s || !ids)
        return NULL;
    if (et_ndim(ids) != 2 || et_size(ids, 1) < 1) {
        elm_err(ELM_E_INVALID, "elm_model_forward: ids must be [B, T] with T >= 1");
        return NULL;
    }
    const elm_llama_config *cf = &m->cfg;
    int64_t B = et_size(ids, 0), T = et_size(ids, 1);
    if (opts->hidden_in &&
        (opts->cache || opts->start_layer < 0 || opts->start_layer > cf->n_layers || et_ndim(opts->hidden_in) != 3 ||
         et_size(opts->hidden_in, 0) != B || et_size(opts->hidden_in, 1) != T ||
         et_size(opts->hidden_in, 2) != cf->n_embd)) {
        elm_err(ELM_E_INVALID, "elm_model_forward: hidden_in must be [B, T, %d] for ids [B, T], start_layer 0..%d, "
                "and no cache", cf->n_embd, cf->n_layers);
        return NULL;
    }
    const int first = opts->hidden_in ? opts->start_layer : 0;
    elm_kv_cache *cache = opts->cache;
    int64_t off = cache ? cache->len : 0, S = off + T;
    const elm_lora *lora = opts->lora ? opts->lora : (opts->use_attached ? m->adapter : NULL);

    fwd_ctx c = {.m = m, .lora = lora, .B = B, .T = T, .off = off};

    /* positions and key mask on the host */
    int64_t *pos = NULL, *am = NULL, *cm = NULL;
    int64_t Bp = 1;
    elm_status st = ELM_OK;
    if (opts->positions) {
        if (et_numel(opts->positions) != B * T)
            st = elm_err(ELM_E_INVALID, "elm_model_forward: positions must be [B, T]");
        else
            st = host_i64(opts->positions, &pos, "positions");
        Bp = B;
    } else {
        pos = malloc((size_t)(T ? T : 1) * sizeof(int64_t));
        if (!pos)
            st = elm_err(ELM_E_NOMEM, "elm_model_forward: out of memory");
        for (int64_t t = 0; pos && t < T; t++)
            pos[t] = off + t;
    }
    if (st == ELM_OK && opts->attn_mask) {
        if (et_numel(opts->attn_mask) != B * T)
            st = elm_err(ELM_E_INVALID, "elm_model_forward: attn_mask must be [B, T] like ids");
        else
            st = host_i64(opts->attn_mask, &am, "attn_mask");
    }
    if (st == ELM_OK && cache && off > 0 && cache->mask) {
        if (et_size(cache->mask, 0) != B)
            st = elm_err(ELM_E_INVALID, "elm_model_forward: KV cache holds %lld rows, ids has %lld",
                         (long long)et_size(cache->mask, 0), (long long)B);
        else
            st = host_i64(cache->mask, &cm, "cache mask");
    }
    unsigned char *kmask = NULL;
    int any_pad = 0;
    if (st == ELM_OK) {
        kmask = malloc((size_t)(B * S > 0 ? B * S : 1));
        if (!kmask)
            st = elm_err(ELM_E_NOMEM, "elm_model_forward: out of memory");
        for (int64_t b = 0; kmask && b < B; b++)
            for (int64_t j = 0; j < S; j++) {
                int real = j < off ? (cm ? cm[b * off + j] != 0 : 1) : (am ? am[b * T + j - off] != 0 : 1);
                kmask[b * S + j] = (unsigned char)real;
                any_pad |= !real;
            }
    }
    if (st == ELM_OK)
        st = rotary_tables(m, s, pos, Bp, T, (et_tensor **)&c.cos, (et_tensor **)&c.sin);
    int W = cf->sliding_window;
    if (st == ELM_OK) {
        int window_bites = W > 0 && S > W;
        if (!any_pad && !window_bites && off == 0) {
            c.mask = NULL;
            c.causal = T > 1;
        } else if (!any_pad && !window_bites && T == 1) {
            c.mask = NULL;
            c.causal = 0;
        } else {
            size_t n = (size_t)(B * T * S);
            unsigned char *mk = malloc(n ? n : 1);
            if (!mk) {
                st = elm_err(ELM_E_NOMEM, "elm_model_forward: out of memory for the attention mask");
            } else {
                for (int64_t b = 0; b < B; b++)
                    for (int64_t i = 0; i < T; i++) {
                        int64_t qi = off + i;
                        for (int64_t j = 0; j < S; j++) {
                            int ok = j <= qi && kmask[b * S + j];
                            if (W > 0 && j <= qi - W)
                                ok = 0;
                            mk[(b * T + i) * S + j] = (unsigned char)ok;
                        }
                    }
                int64_t shape[4] = {B, 1, T, S};
                et_tensor *mt = et_from_data(s, mk, ET_BOOL, 4, shape);
                free(mk);
                if (m->device.kind != 0)
                    mt = et_to_device(s, mt, m->device);
                c.mask = mt;
                c.causal = 0;
            }
        }
    }
    free(pos);
    free(am);
    free(cm);
    if (st != ELM_OK) {
        free(kmask);
        return NULL;
    }

    et_tensor **new_k = NULL, **new_v = NULL;
    if (cache) {
        new_k = calloc((size_t)cf->n_layers, sizeof *new_k);
        new_v = calloc((size_t)cf->n_layers, sizeof *new_v);
        if (!new_k || !new_v) {
            free(new_k);
            free(new_v);
            free(kmask);
            elm_err(ELM_E_NOMEM, "elm_model_forward: out of memory");
            return NULL;
        }
        c.new_k = new_k;
        c.new_v = new_v;
    }

    et_tensor *x = NULL;
    if (opts->hidden_in)
        x = (et_tensor *)opts->hidden_in;
    else {
        et_tensor *ids_d = m->device.kind != 0 ? et_to_device(s, ids, m->device) : (et_tensor *)ids;
        x = et_embedding(s, m->tok_embd, ids_d);
    }

    /* Every layer's temporaries go in a scope of their own, freed as soon as
     * the layer is done. With autograd the graph still holds what backward
     * needs (the saved tensors are reference counted); the scope would
     * otherwise keep every intermediate of every layer alive until the
     * caller frees s. A layer that fails in its own scope is run again in s
     * so that s records the error, as promised. */
    int per_layer = 1;
    et_scope *carry = NULL;
    et_scope *new_cache_scope = cache ? et_scope_new() : NULL;
    const int stop = opts->stop_at_hidden && opts->hidden_out && opts->hidden_layer >= first &&
                     opts->hidden_layer < cf->n_layers && !cache;
    const int last = stop ? opts->hidden_layer + 1 : cf->n_layers;
    for (int l = first; x && l < last; l++) {
        et_tensor *y = NULL;
        et_scope *ls = per_layer ? et_scope_new() : NULL;
        if (ls) {
            y = layer_forward(&c, ls, l, x, cache);
            if (y) {
                et_scope *nc = et_scope_new();
                et_tensor *ys = nc ? et_share(nc, y) : NULL;
                if (cache && ys) {
                    new_k[l] = et_share(new_cache_scope, new_k[l]);
                    new_v[l] = et_share(new_cache_scope, new_v[l]);
                }
                if (ys && (!cache || (new_k[l] && new_v[l]))) {
                    et_scope_free(ls);
                    et_scope_free(carry);
                    carry = nc;
                    y = ys;
                } else {
                    et_scope_free(nc);
                    y = NULL;
                }
            }
            if (!y)
                et_scope_free(ls);
        }
        if (!y) {
            y = layer_forward(&c, s, l, x, cache);
            if (y && cache) {
                new_k[l] = et_share(new_cache_scope, new_k[l]);
                new_v[l] = et_share(new_cache_scope, new_v[l]);
            }
        }
        x = y;
        if (x && opts->hidden_layer >= 0 && opts->hidden_layer == l && opts->hidden_out)
            *opts->hidden_out = et_share(s, x);
    }
    et_tensor *out = NULL;
    if (x && stop) {
        out = *opts->hidden_out;
    } else if (x) {
        et_tensor *xn = et_rms_norm(s, x, m->norm, cf->rms_eps);
        if (opts->last_only)
            xn = et_narrow(s, xn, 1, T - 1, 1);
        if (opts->no_logits)
            out = xn;
        else {
            /* the compute-dtype logits [B, T, V] are dead once converted (the
             * conversion's backward needs nothing): a scope of their own.
             * On failure run again in s, which then records the error. */
            et_scope *ts = et_scope_new();
            out = ts ? et_share(s, et_to(ts, et_linear(ts, xn, m->lm_head, NULL), ET_F32)) : NULL;
            et_scope_free(ts);
            if (!out)
                out = et_to(s, et_linear(s, xn, m->lm_head, NULL), ET_F32);
        }
    }
    et_scope_free(carry);

    if (cache) {
        int ok = out != NULL;
        for (int l = 0; ok && l < cf->n_layers; l++)
            ok = new_k[l] && new_v[l];
        et_tensor *mk = NULL;
        if (ok) {
            int64_t shape[2] = {B, S};
            int64_t *mm = malloc((size_t)(B * S > 0 ? B * S : 1) * sizeof(int64_t));
            for (int64_t i = 0; mm && i < B * S; i++)
                mm[i] = kmask[i];
            mk = mm ? et_from_data(new_cache_scope, mm, ET_I64, 2, shape) : NULL;
            free(mm);
            ok = mk != NULL;
        }
        if (ok) {
            et_scope_free(cache->scope);
            cache->scope = new_cache_scope;
            for (int l = 0; l < cf->n_layers; l++) {
                cache->k[l] = new_k[l];
                cache->v[l] = new_v[l];
            }
            cache->mask = mk;
            cache->len = S;
        } else {
            et_scope_free(new_cache_scope); /* the cache is left as it was */
        }
        free(new_k);
        free(new_v);
    }
    free(kmask);
    return out;
}

/* ---- KV cache ---- */

elm_status elm_kv_cache_new(const elm_model *m, elm_kv_cache **out)
{
    *out = NULL;
    elm_kv_cache *c = calloc(1, sizeof *c);
    if (!c)
        return elm_err(ELM_E_NOMEM, "elm_kv_cache_new: out of memory");
    c->n_layers = m->cfg.n_layers;
    c->k = calloc((size_t)c->n_layers, sizeof *c->k);
    c->v = calloc((size_t)c->n_layers, sizeof *c->v);
    c->scope = et_scope_new();
    if (!c->k || !c->v || !c->scope) {
        elm_kv_cache_free(c);
        return elm_err(ELM_E_NOMEM, "elm_kv_cache_new: out of memory");
    }
    *out = c;
    return ELM_OK;
}

void elm_kv_cache_free(elm_kv_cache *c)
{
    if (!c)
        return;
    et_scope_free(c->scope);
    free(c->k);
    free(c->v);
    free(c);
}

elm_status elm_kv_cache_select(elm_kv_cache *c, const int64_t *rows, int n)
{
    if (!c || (!rows && n > 0) || n < 0)
        return elm_err(ELM_E_INVALID, "elm_kv_cache_select: invalid argument");
    if (c->len == 0 || !c->mask)
        return ELM_OK;
    int64_t Bc = et_size(c->mask, 0);
    for (int i = 0; i < n; i++)
        if (rows[i] < 0 || rows[i] >= Bc)
            return elm_err(ELM_E_INVALID, "elm_kv_cache_select: row %lld out of range (cache has %lld)",
                           (long long)rows[i], (long long)Bc);
    et_scope *ns = et_scope_new();
    if (!ns)
        return elm_err(ELM_E_NOMEM, "elm_kv_cache_select: out of memory");
    int64_t shape[1] = {n};
    et_tensor *idx = et_from_data(ns, rows, ET_I64, 1, shape);
    et_tensor *idx_d = idx && c->k[0] ? et_to_device(ns, idx, et_get_device(c->k[0])) : idx;
    et_tensor **nk = calloc((size_t)c->n_layers, sizeof *nk), **nv = calloc((size_t)c->n_layers, sizeof *nv);
    if (!nk || !nv) {
        free(nk);
        free(nv);
        et_scope_free(ns);
        return elm_err(ELM_E_NOMEM, "elm_kv_cache_select: out of memory");
    }
    for (int l = 0; l < c->n_layers; l++) {
        nk[l] = et_index_select(ns, c->k[l], 0, idx_d);
        nv[l] = et_index_select(ns, c->v[l], 0, idx_d);
    }
    et_tensor *nm = et_index_select(ns, c->mask, 0, et_to_device(ns, idx, et_get_device(c->mask)));
    elm_status st = et_scope_check(ns);
    if (st != ELM_OK) {
        free(nk);
        free(nv);
        et_scope_free(ns);
        return st;
    }
    et_scope_free(c->scope);
    c->scope = ns;
    memcpy(c->k, nk, (size_t)c->n_layers * sizeof *nk);
    memcpy(c->v, nv, (size_t)c->n_layers * sizeof *nv);
    c->mask = nm;
    free(nk);
    free(nv);
    return ELM_OK;
}

elm_status elm_model_forward_ex(elm_model *m, et_scope *s, const et_tensor *ids,
                                const elm_forward_opts *opts, et_tensor **out)
{
    if (!out)
        return elm_err(ELM_E_INVALID, "elm_model_forward_ex: out is NULL");
    if (!m || !s || !ids)
        return elm_err(ELM_E_INVALID, "elm_model_forward_ex: model, scope and ids are required");
    elm_err_clear();
    *out = elm_model_forward(m, s, ids, opts);
    if (*out)
        return ELM_OK;
    elm_status st = et_scope_check(s);
    if (st != ELM_OK)
        return st;
    /* failed before any tensor op: the message is already set */
    return elm_last_error()[0] ? ELM_E_INVALID : elm_err(ELM_E_INTERNAL, "elm_model_forward: failed");
}
