/* Weight sources: the GGUF side — tensors (dims reversed to torch order,
 * dequantized through io/dequant.h) and the model configuration from
 * llama.cpp's metadata keys. */
#include "model/wsrc_impl.h"

#include "core/error.h"
#include "io/gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define G(w) ((elm_gguf *)(w)->gguf)

elm_status elm_wsrc_open_gguf(const char *path, elm_wsrc **out)
{
    *out = NULL;
    elm_wsrc *w = calloc(1, sizeof *w);
    if (!w)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    atomic_init(&w->refs, 1);
    w->path = strdup(path);
    elm_gguf *g = NULL;
    elm_status st = elm_gguf_open(path, &g);
    if (st != ELM_OK) {
        free(w->path);
        free(w);
        return st;
    }
    w->gguf = g;
    *out = w;
    return ELM_OK;
}

void elm_wsrc_gguf_close(elm_wsrc *w)
{
    if (w->gguf)
        elm_gguf_close(G(w));
    w->gguf = NULL;
}

size_t elm_wsrc_gguf_count(const elm_wsrc *w) { return elm_gguf_tensor_count(G(w)); }

static int plain_et(uint32_t t)
{
    switch (t) {
    case ELM_GGML_F32: return ET_F32;
    case ELM_GGML_F16: return ET_F16;
    case ELM_GGML_BF16: return ET_BF16;
    default: return -1;
    }
}

static void fill(const elm_gguf_tensor *t, elm_wtensor *out)
{
    memset(out, 0, sizeof *out);
    out->name = t->name;
    out->ndim = t->n_dims;
    for (int i = 0; i < t->n_dims; i++)
        out->shape[i] = t->ne[t->n_dims - 1 - i];
    out->dtype = elm_ggml_type_name(t->type);
    out->et_dt = plain_et(t->type);
    out->data = t->data;
    out->nbytes = t->nbytes;
}

int elm_wsrc_gguf_at(const elm_wsrc *w, size_t i, elm_wtensor *out)
{
    const elm_gguf_tensor *t = elm_gguf_tensor_at(G(w), i);
    if (!t)
        return 0;
    fill(t, out);
    return 1;
}

int elm_wsrc_gguf_find(const elm_wsrc *w, const char *name, elm_wtensor *out)
{
    const elm_gguf_tensor *t = elm_gguf_find_tensor(G(w), name);
    if (!t)
        return 0;
    fill(t, out);
    return 1;
}

elm_status elm_wsrc_gguf_to_f32(const elm_wsrc *w, const elm_wtensor *t, float *dst)
{
    const elm_gguf_tensor *g = elm_gguf_find_tensor(G(w), t->name);
    if (!g)
        return elm_err(ELM_E_FORMAT, "%s: no tensor '%s'", w->path, t->name);
    if (!elm_ggml_can_dequant(g->type))
        return elm_err(ELM_E_UNSUPPORTED, "%s: tensor '%s' has type %s, which libelm cannot dequantize",
                       w->path, t->name, elm_ggml_type_name(g->type));
    elm_status st = elm_dequant(g->type, g->data, (size_t)g->numel, dst);
    if (st != ELM_OK)
        return elm_err_context(st, "%s: tensor '%s'", w->path, t->name);
    return ELM_OK;
}

/* ---- configuration from metadata ---- */

static elm_status key_int(const elm_gguf *g, const char *arch, const char *suffix, int required,
                          int def, int *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    if (!elm_gguf_has(g, key)) {
        if (required)
            return elm_err(ELM_E_FORMAT, "%s: metadata key '%s' is missing", elm_gguf_path(g), key);
        *out = def;
        return ELM_OK;
    }
    int64_t v = 0;
    ELM_TRY(elm_gguf_get_i64(g, key, &v));
    if (v <= 0 || v > 0x7fffffff)
        return elm_err(ELM_E_FORMAT, "%s: metadata key '%s' must be a positive integer, got %lld",
                       elm_gguf_path(g), key, (long long)v);
    *out = (int)v;
    return ELM_OK;
}

static elm_status key_f64(const elm_gguf *g, const char *arch, const char *suffix, int required,
                          double def, double *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    if (!elm_gguf_has(g, key)) {
        if (required)
            return elm_err(ELM_E_FORMAT, "%s: metadata key '%s' is missing", elm_gguf_path(g), key);
        *out = def;
        return ELM_OK;
    }
    return elm_gguf_get_f64(g, key, out);
}

static int token_id(const elm_gguf *g, const char *key)
{
    int64_t v = -1;
    if (!elm_gguf_has(g, key) || elm_gguf_get_i64(g, key, &v) != ELM_OK)
        return -1;
    return (int)v;
}

elm_status elm_wsrc_gguf_config(const elm_wsrc *w, elm_llama_config *c)
{
    const elm_gguf *g = G(w);
    const char *src = w->path;
    memset(c, 0, sizeof *c);
    const char *arch = NULL;
    if (!elm_gguf_has(g, "general.architecture"))
        return elm_err(ELM_E_FORMAT, "%s: metadata key 'general.architecture' is missing", src);
    ELM_TRY(elm_gguf_get_str(g, "general.architecture", &arch));
    if (strcmp(arch, "llama") == 0)
        snprintf(c->architecture, sizeof c->architecture, "LlamaForCausalLM");
    else if (strcmp(arch, "qwen2") == 0)
        snprintf(c->architecture, sizeof c->architecture, "Qwen2ForCausalLM");
    else
        return elm_err(ELM_E_UNSUPPORTED,
                       "%s: general.architecture '%s' is not supported (supported: llama, qwen2)", src, arch);
    c->qkv_bias = strcmp(arch, "qwen2") == 0;
    ELM_TRY(key_int(g, arch, "block_count", 1, 0, &c->n_layers));
    ELM_TRY(key_int(g, arch, "embedding_length", 1, 0, &c->n_embd));
    ELM_TRY(key_int(g, arch, "attention.head_count", 1, 0, &c->n_heads));
    ELM_TRY(key_int(g, arch, "attention.head_count_kv", 0, c->n_heads, &c->n_kv_heads));
    ELM_TRY(key_int(g, arch, "feed_forward_length", 1, 0, &c->n_ff));
    ELM_TRY(key_int(g, arch, "context_length", 0, 2048, &c->n_ctx));
    ELM_TRY(key_f64(g, arch, "attention.layer_norm_rms_epsilon", 1, 0, &c->rms_eps));
    ELM_TRY(key_f64(g, arch, "rope.freq_base", 0, 10000.0, &c->rope_theta));
    if (c->n_embd % c->n_heads != 0)
        return elm_err(ELM_E_FORMAT,
                       "%s: metadata '%s.embedding_length' (%d) is not divisible by '%s.attention.head_count' (%d)",
                       src, arch, c->n_embd, arch, c->n_heads);
    ELM_TRY(key_int(g, arch, "attention.key_length", 0, c->n_embd / c->n_heads, &c->head_dim));
    int rope_dim = 0;
    ELM_TRY(key_int(g, arch, "rope.dimension_count", 0, c->head_dim, &rope_dim));
    if (rope_dim != c->head_dim)
        return elm_err(ELM_E_UNSUPPORTED,
                       "%s: metadata '%s.rope.dimension_count' is %d but the head size is %d (partial rotary)",
                       src, arch, rope_dim, c->head_dim);
    c->rope_type = ELM_ROPE_DEFAULT;
    c->rope_factor = 1.0;
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    if (elm_gguf_has(g, key)) {
        const char *t = NULL;
        ELM_TRY(elm_gguf_get_str(g, key, &t));
        if (strcmp(t, "linear") == 0) {
            c->rope_type = ELM_ROPE_LINEAR;
            ELM_TRY(key_f64(g, arch, "rope.scaling.factor", 1, 0, &c->rope_factor));
            if (!(c->rope_factor >= 1))
                return elm_err(ELM_E_FORMAT, "%s: metadata '%s.rope.scaling.factor' must be >= 1", src, arch);
        } else if (strcmp(t, "none") != 0) {
            return elm_err(ELM_E_UNSUPPORTED, "%s: metadata '%s' is '%s'; supported: none, linear", src, key, t);
        }
    }
    /* vocabulary: the token list, else the embedding's rows */
    elm_gguf_arr arr;
    if (elm_gguf_has(g, "tokenizer.ggml.tokens") &&
        elm_gguf_get_arr(g, "tokenizer.ggml.tokens", &arr) == ELM_OK && arr.count > 0) {
        c->n_vocab = (int)arr.count;
    } else {
        const elm_gguf_tensor *t = elm_gguf_find_tensor(g, "token_embd.weight");
        if (!t)
            return elm_err(ELM_E_FORMAT, "%s: tensor 'token_embd.weight' is missing", src);
        c->n_vocab = (int)t->ne[t->n_dims - 1];
    }
    /* llama.cpp's writer may store a larger token list than the embedding
     * (or the reverse); the embedding decides. */
    const elm_gguf_tensor *emb = elm_gguf_find_tensor(g, "token_embd.weight");
    if (emb && emb->n_dims == 2 && emb->ne[1] != c->n_vocab)
        c->n_vocab = (int)emb->ne[1];
    c->tied_embeddings = elm_gguf_find_tensor(g, "output.weight") == NULL;
    c->sliding_window = 0;
    c->bos_id = token_id(g, "tokenizer.ggml.bos_token_id");
    c->eos_id = token_id(g, "tokenizer.ggml.eos_token_id");
    c->pad_id = token_id(g, "tokenizer.ggml.padding_token_id");
    return elm_llama_config_check(c, src);
}

elm_status elm_wsrc_gguf_rope_factors(const elm_wsrc *w, const elm_llama_config *c, float *inv_freq)
{
    const elm_gguf_tensor *t = elm_gguf_find_tensor(G(w), "rope_freqs.weight");
    if (!t)
        return ELM_OK;
    int half = c->head_dim / 2;
    if (t->numel != (uint64_t)half)
        return elm_err(ELM_E_FORMAT, "%s: tensor 'rope_freqs.weight' has %llu elements, expected %d", w->path,
                       (unsigned long long)t->numel, half);
    float *f = malloc((size_t)half * sizeof(float));
    if (!f)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", w->path);
    elm_wtensor wt;
    fill(t, &wt);
    elm_status st = elm_wsrc_gguf_to_f32(w, &wt, f);
    for (int i = 0; st == ELM_OK && i < half; i++) {
        if (!(f[i] > 0)) {
            st = elm_err(ELM_E_FORMAT, "%s: tensor 'rope_freqs.weight' has a non-positive factor", w->path);
            break;
        }
        inv_freq[i] = inv_freq[i] / f[i];
    }
    free(f);
    return st;
}
