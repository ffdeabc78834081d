/* The content fingerprint of a loaded model (model/fingerprint.h). */
#include "model/fingerprint.h"

#include "core/error.h"
#include "core/hash.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Weights are copied to the host at most this many bytes at a time. */
#define FP_CHUNK_BYTES ((size_t)32 << 20)

typedef struct fp_buf {
    unsigned char *p;
    size_t cap;
} fp_buf;

/* A tensor's presence, dtype, shape, then its bytes (little-endian hosts
 * only write the native bytes; see the size check in hash_tensor). Copied
 * to the host FP_CHUNK_BYTES at a time along dim 0. */
static elm_status hash_tensor(elm_hasher *h, const char *what, const et_tensor *t, fp_buf *buf)
{
    if (!t) {
        elm_hasher_i64(h, -1);
        return ELM_OK;
    }
    et_dtype dt = et_get_dtype(t);
    int nd = et_ndim(t);
    elm_hasher_i64(h, (int64_t)dt);
    elm_hasher_i64(h, nd);
    for (int d = 0; d < nd; d++)
        elm_hasher_i64(h, et_size(t, d));
    int64_t numel = et_numel(t);
    size_t es = et_dtype_size(dt);
    if (numel <= 0 || es == 0)
        return ELM_OK;
    int64_t rows = nd > 0 ? et_size(t, 0) : 1;
    int64_t per_row = rows > 0 ? numel / rows : 0;
    size_t row_bytes = (size_t)per_row * es;
    int64_t chunk = row_bytes ? (int64_t)(FP_CHUNK_BYTES / row_bytes) : rows;
    if (chunk < 1)
        chunk = 1;
    if (chunk > rows)
        chunk = rows;
    size_t need = (size_t)chunk * row_bytes;
    if (need > buf->cap) {
        unsigned char *np = realloc(buf->p, need);
        if (!np)
            return elm_err(ELM_E_NOMEM, "model fingerprint: out of memory hashing %s (%zu bytes)", what, need);
        buf->p = np;
        buf->cap = need;
    }
    if (nd == 0 || chunk == rows) {
        elm_status st = et_to_host(t, buf->p, dt, (size_t)numel * es);
        if (st != ELM_OK)
            return elm_err_context(st, "model fingerprint: %s", what);
        elm_hasher_update(h, buf->p, (size_t)numel * es);
        return ELM_OK;
    }
    for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
        int64_t len = rows - r0 < chunk ? rows - r0 : chunk;
        et_scope *s = et_scope_new();
        if (!s)
            return elm_err(ELM_E_NOMEM, "model fingerprint: out of memory hashing %s", what);
        et_tensor *part = et_narrow(s, t, 0, r0, len);
        elm_status st = part ? et_to_host(part, buf->p, dt, (size_t)len * row_bytes) : et_scope_check(s);
        et_scope_free(s);
        if (st != ELM_OK)
            return elm_err_context(st, "model fingerprint: %s rows %" PRId64 "..%" PRId64, what, r0,
                                   r0 + len);
        elm_hasher_update(h, buf->p, (size_t)len * row_bytes);
    }
    return ELM_OK;
}

elm_status elm_model_fingerprint(const elm_model *m, uint64_t seed, const char *tag, uint64_t *out)
{
    elm_hasher h;
    elm_hasher_init(&h, seed);
    const elm_llama_config *c = &m->cfg;
    char arch[sizeof c->architecture + 1];
    memcpy(arch, c->architecture, sizeof c->architecture);
    arch[sizeof c->architecture] = 0;
    elm_hasher_str(&h, tag);
    elm_hasher_str(&h, arch);
    const int ints[] = {c->n_layers,  c->n_embd,          c->n_heads,        c->n_kv_heads,
                        c->head_dim,  c->n_ff,            c->n_vocab,        c->n_ctx,
                        (int)c->rope_type, c->rope_original_max_pos, c->tied_embeddings,
                        c->qkv_bias,  c->sliding_window,  c->bos_id,         c->eos_id,
                        c->pad_id};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        elm_hasher_i64(&h, ints[i]);
    const double dbl[] = {c->rms_eps, c->rope_theta, c->rope_factor, c->rope_low_freq_factor,
                          c->rope_high_freq_factor};
    for (size_t i = 0; i < sizeof dbl / sizeof dbl[0]; i++)
        elm_hasher_f64(&h, dbl[i]);
    elm_hasher_i64(&h, (int64_t)m->dtype);

    fp_buf buf = {0};
    elm_status st = hash_tensor(&h, "tok_embd", m->tok_embd, &buf);
    if (st == ELM_OK)
        st = hash_tensor(&h, "norm", m->norm, &buf);
    /* A tied lm_head is the same tensor as tok_embd: hash it once. */
    if (st == ELM_OK)
        st = hash_tensor(&h, "lm_head", m->lm_head == m->tok_embd ? NULL : m->lm_head, &buf);
    for (int l = 0; st == ELM_OK && l < c->n_layers; l++) {
        const elm_layer_weights *w = &m->layers[l];
        char what[64];
        elm_hasher_i64(&h, l);
        snprintf(what, sizeof what, "layer %d attn_norm", l);
        st = hash_tensor(&h, what, w->attn_norm, &buf);
        if (st == ELM_OK) {
            snprintf(what, sizeof what, "layer %d ffn_norm", l);
            st = hash_tensor(&h, what, w->ffn_norm, &buf);
        }
        for (int mod = 0; st == ELM_OK && mod < ELM_MOD_COUNT; mod++) {
            snprintf(what, sizeof what, "layer %d %s", l, elm_module_hf_name((elm_module)mod));
            st = hash_tensor(&h, what, w->w[mod], &buf);
        }
        for (int b = 0; st == ELM_OK && b < 3; b++) {
            snprintf(what, sizeof what, "layer %d bias %d", l, b);
            st = hash_tensor(&h, what, w->bias[b], &buf);
        }
    }
    free(buf.p);
    if (st == ELM_OK)
        *out = elm_hasher_final(&h);
    return st;
}
