/* What a checkpoint must hold, for the loader and for elm_inspect. */
#include "model/describe.h"

#include "core/error.h"
#include "core/str.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const gguf_names[ELM_MOD_COUNT] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                                      "ffn_gate", "ffn_up", "ffn_down"};

void elm_module_shape(const elm_llama_config *c, elm_module mod, int64_t *out, int64_t *in)
{
    int64_t qd = (int64_t)c->n_heads * c->head_dim, kvd = (int64_t)c->n_kv_heads * c->head_dim;
    switch (mod) {
    case ELM_MOD_Q: *out = qd; *in = c->n_embd; break;
    case ELM_MOD_K:
    case ELM_MOD_V: *out = kvd; *in = c->n_embd; break;
    case ELM_MOD_O: *out = c->n_embd; *in = qd; break;
    case ELM_MOD_GATE:
    case ELM_MOD_UP: *out = c->n_ff; *in = c->n_embd; break;
    default: *out = c->n_embd; *in = c->n_ff; break;
    }
}

/* llama.cpp stores q and k rows permuted (not for Qwen2); the loader undoes it. */
static int64_t unpermute_heads(const elm_llama_config *c, int gguf, elm_module mod)
{
    if (!gguf || strcmp(c->architecture, "Qwen2ForCausalLM") == 0)
        return 0;
    return mod == ELM_MOD_Q ? c->n_heads : mod == ELM_MOD_K ? c->n_kv_heads : 0;
}

elm_status elm_model_each_weight(const elm_llama_config *c, int g, elm_wspec_fn fn, void *ctx)
{
    char name[160];
    elm_wspec w = {.name = name, .layer = -1, .mod = ELM_MOD_Q};
#define EMIT(role_, ndim_, s0, s1)                                                                      \
    do {                                                                                                \
        w.role = (role_);                                                                               \
        w.ndim = (ndim_);                                                                               \
        w.shape[0] = (s0);                                                                              \
        w.shape[1] = (s1);                                                                              \
        ELM_TRY(fn(ctx, &w));                                                                           \
    } while (0)

    snprintf(name, sizeof name, "%s", g ? "token_embd.weight" : "model.embed_tokens.weight");
    EMIT(ELM_W_TOK_EMBD, 2, c->n_vocab, c->n_embd);
    for (int l = 0; l < c->n_layers; l++) {
        w.layer = l;
        w.mod = ELM_MOD_Q;
        w.unpermute_heads = 0;
        snprintf(name, sizeof name, g ? "blk.%d.attn_norm.weight" : "model.layers.%d.input_layernorm.weight", l);
        EMIT(ELM_W_ATTN_NORM, 1, c->n_embd, 0);
        snprintf(name, sizeof name, g ? "blk.%d.ffn_norm.weight" : "model.layers.%d.post_attention_layernorm.weight", l);
        EMIT(ELM_W_FFN_NORM, 1, c->n_embd, 0);
        for (int mod = 0; mod < ELM_MOD_COUNT; mod++) {
            int64_t o, i;
            elm_module_shape(c, (elm_module)mod, &o, &i);
            if (g)
                snprintf(name, sizeof name, "blk.%d.%s.weight", l, gguf_names[mod]);
            else
                snprintf(name, sizeof name, "model.layers.%d.%s.%s.weight", l, elm_module_parent((elm_module)mod),
                         elm_module_hf_name((elm_module)mod));
            w.mod = (elm_module)mod;
            w.unpermute_heads = unpermute_heads(c, g, (elm_module)mod);
            EMIT(ELM_W_PROJ, 2, o, i);
        }
        for (int mod = 0; c->qkv_bias && mod < 3; mod++) {
            int64_t o, i;
            elm_module_shape(c, (elm_module)mod, &o, &i);
            if (g)
                snprintf(name, sizeof name, "blk.%d.%s.bias", l, gguf_names[mod]);
            else
                snprintf(name, sizeof name, "model.layers.%d.self_attn.%s.bias", l, elm_module_hf_name((elm_module)mod));
            w.mod = (elm_module)mod;
            w.unpermute_heads = unpermute_heads(c, g, (elm_module)mod);
            EMIT(ELM_W_BIAS, 1, o, 0);
        }
    }
    w.layer = -1;
    w.mod = ELM_MOD_Q;
    w.unpermute_heads = 0;
    snprintf(name, sizeof name, "%s", g ? "output_norm.weight" : "model.norm.weight");
    EMIT(ELM_W_NORM, 1, c->n_embd, 0);
    if (!c->tied_embeddings) {
        snprintf(name, sizeof name, "%s", g ? "output.weight" : "lm_head.weight");
        EMIT(ELM_W_LM_HEAD, 2, c->n_vocab, c->n_embd);
    }
#undef EMIT
    return ELM_OK;
}

void elm_shape_text(int ndim, const int64_t *shape, char *buf, size_t cap)
{
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < cap)
        snprintf(buf + k, cap - k, "]");
}

elm_status elm_wsrc_expect(const elm_wsrc *w, const char *name, int ndim, const int64_t *shape, elm_wtensor *t)
{
    const char *src = elm_wsrc_path(w);
    if (!elm_wsrc_find(w, name, t))
        return elm_err(ELM_E_FORMAT, "%s: tensor '%s' is missing", src, name);
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        char want[96], got[96];
        elm_shape_text(ndim, shape, want, sizeof want);
        elm_shape_text(t->ndim, t->shape, got, sizeof got);
        return elm_err(ELM_E_FORMAT, "%s: tensor '%s' has shape %s, expected %s", src, name, got, want);
    }
    return ELM_OK;
}

void elm_name_list_add(char *list, size_t cap, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        if (strncmp(p, name, n) == 0 && (p[n] == '+' || p[n] == '\0'))
            return;
        p = strchr(p, '+');
        if (!p)
            break;
        p++;
    }
    size_t len = strlen(list);
    snprintf(list + len, cap - len, "%s%s", len ? "+" : "", name);
}

int elm_is_pickle_name(const char *p)
{
    return elm_str_has_suffix_nocase(p, ".bin") || elm_str_has_suffix_nocase(p, ".pt") ||
           elm_str_has_suffix_nocase(p, ".pth") || elm_str_has_suffix_nocase(p, ".ckpt");
}

elm_status elm_pickle_error(const char *what)
{
    return elm_err(ELM_E_UNSUPPORTED,
                   "%s is a pickle checkpoint; libelm never unpickles: convert it to safetensors "
                   "(e.g. with transformers save_pretrained(safe_serialization=True))",
                   what);
}

static int exists(const char *dir, const char *name)
{
    char p[8192];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static const char *const pickle_names[] = {"pytorch_model.bin", "pytorch_model.bin.index.json",
                                           "model.pt", "model.pth", "model.ckpt", "consolidated.00.pth"};

elm_status elm_model_resolve_hf(const char *path, int is_dir, char *dir, size_t dcap, char *ckpt, size_t ccap)
{
    if (is_dir) {
        snprintf(dir, dcap, "%s", path);
        if (exists(dir, "model.safetensors.index.json"))
            snprintf(ckpt, ccap, "%s/model.safetensors.index.json", dir);
        else if (exists(dir, "model.safetensors"))
            snprintf(ckpt, ccap, "%s/model.safetensors", dir);
        else {
            for (size_t i = 0; i < sizeof pickle_names / sizeof pickle_names[0]; i++)
                if (exists(dir, pickle_names[i])) {
                    char p[8192];
                    snprintf(p, sizeof p, "%s/%s", dir, pickle_names[i]);
                    return elm_pickle_error(p);
                }
            return elm_err(ELM_E_IO, "%s: no model.safetensors or model.safetensors.index.json in the directory",
                           dir);
        }
    } else {
        const char *slash = strrchr(path, '/');
        if (slash)
            snprintf(dir, dcap, "%.*s", (int)(slash - path), path);
        else
            snprintf(dir, dcap, ".");
        snprintf(ckpt, ccap, "%s", path);
    }
    char cfg[8192];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    if (access(cfg, F_OK) != 0)
        return elm_err(ELM_E_IO, "%s: no config.json next to the weights (looked at %s)", path, cfg);
    return ELM_OK;
}
