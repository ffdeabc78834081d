/* config.json → elm_llama_config for Llama, Mistral and Qwen2 checkpoints. */
#include "model/model.h"

#include "core/error.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const supported_archs[] = {"LlamaForCausalLM", "MistralForCausalLM",
                                               "Qwen2ForCausalLM"};

static json_object *field(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || v == NULL ||
        json_object_get_type(v) == json_type_null)
        return NULL;
    return v;
}

/* An integer field; `def` when absent and def_ok. */
static elm_status get_int(json_object *o, const char *key, int def_ok, int def, int *out,
                          const char *src)
{
    json_object *v = field(o, key);
    if (!v) {
        if (def_ok) {
            *out = def;
            return ELM_OK;
        }
        return elm_err(ELM_E_FORMAT, "%s: field '%s' is missing", src, key);
    }
    if (json_object_get_type(v) == json_type_double) {
        double d = json_object_get_double(v);
        if (d != floor(d) || fabs(d) > 2147483647.0)
            return elm_err(ELM_E_FORMAT, "%s: field '%s' must be an integer, got %g", src, key, d);
        *out = (int)d;
        return ELM_OK;
    }
    if (json_object_get_type(v) != json_type_int)
        return elm_err(ELM_E_FORMAT, "%s: field '%s' must be an integer, got %s", src, key,
                       json_object_to_json_string(v));
    int64_t x = json_object_get_int64(v);
    if (x > 2147483647LL || x < -2147483647LL)
        return elm_err(ELM_E_FORMAT, "%s: field '%s' is out of range (%lld)", src, key, (long long)x);
    *out = (int)x;
    return ELM_OK;
}

static elm_status get_double(json_object *o, const char *key, int def_ok, double def, double *out,
                             const char *src)
{
    json_object *v = field(o, key);
    if (!v) {
        if (def_ok) {
            *out = def;
            return ELM_OK;
        }
        return elm_err(ELM_E_FORMAT, "%s: field '%s' is missing", src, key);
    }
    json_type t = json_object_get_type(v);
    if (t != json_type_double && t != json_type_int)
        return elm_err(ELM_E_FORMAT, "%s: field '%s' must be a number, got %s", src, key,
                       json_object_to_json_string(v));
    *out = json_object_get_double(v);
    if (!isfinite(*out))
        return elm_err(ELM_E_FORMAT, "%s: field '%s' is not finite", src, key);
    return ELM_OK;
}

static elm_status get_bool(json_object *o, const char *key, int def, int *out, const char *src)
{
    json_object *v = field(o, key);
    if (!v) {
        *out = def;
        return ELM_OK;
    }
    if (json_object_get_type(v) != json_type_boolean)
        return elm_err(ELM_E_FORMAT, "%s: field '%s' must be true or false, got %s", src, key,
                       json_object_to_json_string(v));
    *out = json_object_get_boolean(v);
    return ELM_OK;
}

/* Token id: integer in 0..vocab-1, -1/null/absent (-1) or a list (first element). */
static elm_status get_token_id(json_object *o, const char *key, int vocab, int *out, const char *src)
{
    json_object *v = field(o, key);
    *out = -1;
    if (!v)
        return ELM_OK;
    if (json_object_get_type(v) == json_type_array) {
        if (json_object_array_length(v) == 0)
            return ELM_OK;
        v = json_object_array_get_idx(v, 0);
    }
    if (json_object_get_type(v) != json_type_int)
        return elm_err(ELM_E_FORMAT, "%s: field '%s' must be a token id, got %s", src, key,
                       json_object_to_json_string(v));
    /* json-c saturates out-of-range integers to INT64_MIN/MAX; compare as
     * int64 before narrowing (a plain (int) cast made 4294967297 id 1). */
    int64_t id = json_object_get_int64(v);
    if (id == -1)
        return ELM_OK;
    if (id < 0 || id > INT_MAX || (vocab > 0 && id >= vocab))
        return elm_err(ELM_E_FORMAT, "%s: field '%s' is %s; a token id must be in 0..%d (vocab_size %d) or -1/null",
                       src, key, json_object_to_json_string(v), vocab > 0 ? vocab - 1 : INT_MAX, vocab);
    *out = (int)id;
    return ELM_OK;
}

static elm_status parse_rope_scaling(json_object *root, elm_llama_config *c, const char *src)
{
    json_object *rs = field(root, "rope_scaling");
    c->rope_type = ELM_ROPE_DEFAULT;
    c->rope_factor = 1.0;
    c->rope_low_freq_factor = c->rope_high_freq_factor = 0;
    c->rope_original_max_pos = 0;
    if (!rs)
        return ELM_OK;
    if (json_object_get_type(rs) != json_type_object)
        return elm_err(ELM_E_FORMAT, "%s: field 'rope_scaling' must be an object or null", src);
    json_object *t = field(rs, "rope_type");
    if (!t)
        t = field(rs, "type");
    if (!t || json_object_get_type(t) != json_type_string)
        return elm_err(ELM_E_FORMAT, "%s: field 'rope_scaling.rope_type' is missing", src);
    const char *type = json_object_get_string(t);
    if (strcmp(type, "default") == 0)
        return ELM_OK;
    if (strcmp(type, "linear") == 0) {
        c->rope_type = ELM_ROPE_LINEAR;
        ELM_TRY(get_double(rs, "factor", 0, 0, &c->rope_factor, src));
        if (!(c->rope_factor >= 1.0))
            return elm_err(ELM_E_FORMAT, "%s: field 'rope_scaling.factor' must be >= 1, got %g",
                           src, c->rope_factor);
        return ELM_OK;
    }
    if (strcmp(type, "llama3") == 0) {
        c->rope_type = ELM_ROPE_LLAMA3;
        ELM_TRY(get_double(rs, "factor", 0, 0, &c->rope_factor, src));
        ELM_TRY(get_double(rs, "low_freq_factor", 0, 0, &c->rope_low_freq_factor, src));
        ELM_TRY(get_double(rs, "high_freq_factor", 0, 0, &c->rope_high_freq_factor, src));
        ELM_TRY(get_int(rs, "original_max_position_embeddings", 0, 0, &c->rope_original_max_pos, src));
        if (!(c->rope_factor > 0) || !(c->rope_low_freq_factor > 0) ||
            !(c->rope_high_freq_factor > c->rope_low_freq_factor) || c->rope_original_max_pos <= 0)
            return elm_err(ELM_E_FORMAT,
                           "%s: field 'rope_scaling' (llama3) needs factor > 0, 0 < low_freq_factor < "
                           "high_freq_factor and original_max_position_embeddings > 0",
                           src);
        return ELM_OK;
    }
    return elm_err(ELM_E_UNSUPPORTED,
                   "%s: field 'rope_scaling.rope_type' is '%s'; supported: default, linear, llama3",
                   src, type);
}

elm_status elm_llama_config_check(const elm_llama_config *c, const char *src)
{
    struct { const char *name; int v; } pos[] = {
        {"hidden_size", c->n_embd}, {"num_hidden_layers", c->n_layers},
        {"num_attention_heads", c->n_heads}, {"num_key_value_heads", c->n_kv_heads},
        {"head_dim", c->head_dim}, {"intermediate_size", c->n_ff}, {"vocab_size", c->n_vocab},
        {"max_position_embeddings", c->n_ctx},
    };
    for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++)
        if (pos[i].v <= 0)
            return elm_err(ELM_E_FORMAT, "%s: field '%s' must be positive, got %d", src,
                           pos[i].name, pos[i].v);
    if (c->n_heads % c->n_kv_heads != 0)
        return elm_err(ELM_E_FORMAT,
                       "%s: field 'num_attention_heads' (%d) is not a multiple of "
                       "'num_key_value_heads' (%d)",
                       src, c->n_heads, c->n_kv_heads);
    if (c->head_dim % 2 != 0)
        return elm_err(ELM_E_FORMAT, "%s: field 'head_dim' must be even for rotary embeddings, got %d",
                       src, c->head_dim);
    if (!(c->rms_eps > 0) || !(c->rms_eps < 1))
        return elm_err(ELM_E_FORMAT, "%s: field 'rms_norm_eps' must be in (0, 1), got %g", src, c->rms_eps);
    if (!(c->rope_theta > 1))
        return elm_err(ELM_E_FORMAT, "%s: field 'rope_theta' must be > 1, got %g", src, c->rope_theta);
    if (c->sliding_window < 0)
        return elm_err(ELM_E_FORMAT, "%s: field 'sliding_window' must be >= 0, got %d", src,
                       c->sliding_window);
    return ELM_OK;
}

static elm_status parse_root(json_object *root, const char *src, elm_llama_config *c)
{
    memset(c, 0, sizeof *c);
    if (json_object_get_type(root) != json_type_object)
        return elm_err(ELM_E_FORMAT, "%s: not a JSON object", src);
    json_object *archs = field(root, "architectures");
    const char *arch = NULL;
    if (archs && json_object_get_type(archs) == json_type_array && json_object_array_length(archs) > 0 &&
        json_object_get_type(json_object_array_get_idx(archs, 0)) == json_type_string)
        arch = json_object_get_string(json_object_array_get_idx(archs, 0));
    if (!arch) {
        /* Fall back on model_type (configs written without `architectures`). */
        json_object *mt = field(root, "model_type");
        const char *t = mt && json_object_get_type(mt) == json_type_string ? json_object_get_string(mt) : NULL;
        if (t && strcmp(t, "llama") == 0) arch = "LlamaForCausalLM";
        else if (t && strcmp(t, "mistral") == 0) arch = "MistralForCausalLM";
        else if (t && strcmp(t, "qwen2") == 0) arch = "Qwen2ForCausalLM";
        else if (t)
            return elm_err(ELM_E_UNSUPPORTED,
                           "%s: model_type '%s' is not supported (supported: llama, mistral, qwen2)", src, t);
        else
            return elm_err(ELM_E_FORMAT, "%s: field 'architectures' is missing", src);
    }
    int known = 0;
    for (size_t i = 0; i < sizeof supported_archs / sizeof supported_archs[0]; i++)
        known |= strcmp(arch, supported_archs[i]) == 0;
    if (!known)
        return elm_err(ELM_E_UNSUPPORTED,
                       "%s: architecture '%s' is not supported (supported: LlamaForCausalLM, "
                       "MistralForCausalLM, Qwen2ForCausalLM)",
                       src, arch);
    snprintf(c->architecture, sizeof c->architecture, "%s", arch);
    int is_qwen2 = strcmp(arch, "Qwen2ForCausalLM") == 0;
    int is_mistral = strcmp(arch, "MistralForCausalLM") == 0;

    json_object *act = field(root, "hidden_act");
    if (act && (json_object_get_type(act) != json_type_string ||
                strcmp(json_object_get_string(act), "silu") != 0))
        return elm_err(ELM_E_UNSUPPORTED, "%s: field 'hidden_act' is %s; only \"silu\" is supported",
                       src, json_object_to_json_string(act));

    ELM_TRY(get_int(root, "hidden_size", 0, 0, &c->n_embd, src));
    ELM_TRY(get_int(root, "num_hidden_layers", 0, 0, &c->n_layers, src));
    ELM_TRY(get_int(root, "num_attention_heads", 0, 0, &c->n_heads, src));
    if (c->n_heads <= 0)
        return elm_err(ELM_E_FORMAT, "%s: field 'num_attention_heads' must be positive, got %d", src, c->n_heads);
    ELM_TRY(get_int(root, "num_key_value_heads", 1, c->n_heads, &c->n_kv_heads, src));
    if (!field(root, "head_dim") && c->n_embd % c->n_heads != 0)
        return elm_err(ELM_E_FORMAT,
                       "%s: field 'hidden_size' (%d) is not divisible by 'num_attention_heads' (%d)",
                       src, c->n_embd, c->n_heads);
    ELM_TRY(get_int(root, "head_dim", 1, c->n_embd / c->n_heads, &c->head_dim, src));
    ELM_TRY(get_int(root, "intermediate_size", 0, 0, &c->n_ff, src));
    ELM_TRY(get_int(root, "vocab_size", 0, 0, &c->n_vocab, src));
    ELM_TRY(get_int(root, "max_position_embeddings", 1, 2048, &c->n_ctx, src));
    ELM_TRY(get_double(root, "rms_norm_eps", 0, 0, &c->rms_eps, src));
    ELM_TRY(get_double(root, "rope_theta", 1, 10000.0, &c->rope_theta, src));
    ELM_TRY(parse_rope_scaling(root, c, src));
    ELM_TRY(get_bool(root, "tie_word_embeddings", is_qwen2 ? 0 : 0, &c->tied_embeddings, src));

    int attn_bias = 0, mlp_bias = 0;
    ELM_TRY(get_bool(root, "attention_bias", 0, &attn_bias, src));
    ELM_TRY(get_bool(root, "mlp_bias", 0, &mlp_bias, src));
    if (attn_bias && !is_qwen2)
        return elm_err(ELM_E_UNSUPPORTED, "%s: field 'attention_bias' true is not supported", src);
    if (mlp_bias)
        return elm_err(ELM_E_UNSUPPORTED, "%s: field 'mlp_bias' true is not supported", src);
    c->qkv_bias = is_qwen2;

    c->sliding_window = 0;
    if (is_mistral || is_qwen2) {
        int use = is_mistral; /* Mistral: a non-null sliding_window applies */
        if (is_qwen2)
            ELM_TRY(get_bool(root, "use_sliding_window", 0, &use, src));
        if (use)
            ELM_TRY(get_int(root, "sliding_window", 1, 0, &c->sliding_window, src));
        if (is_qwen2 && use) {
            /* Qwen2 slides only above max_window_layers; refuse rather than guess. */
            int mwl = 0;
            ELM_TRY(get_int(root, "max_window_layers", 1, 0, &mwl, src));
            if (mwl > 0 && mwl < c->n_layers)
                return elm_err(ELM_E_UNSUPPORTED,
                               "%s: field 'use_sliding_window' with max_window_layers %d < "
                               "num_hidden_layers is not supported",
                               src, mwl);
        }
    }
    ELM_TRY(get_token_id(root, "bos_token_id", c->n_vocab, &c->bos_id, src));
    ELM_TRY(get_token_id(root, "eos_token_id", c->n_vocab, &c->eos_id, src));
    ELM_TRY(get_token_id(root, "pad_token_id", c->n_vocab, &c->pad_id, src));
    return elm_llama_config_check(c, src);
}

elm_status elm_llama_config_from_json_text(const char *text, const char *src, elm_llama_config *out)
{
    json_tokener *tk = json_tokener_new();
    if (!tk)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", src);
    json_object *root = json_tokener_parse_ex(tk, text, (int)strlen(text));
    enum json_tokener_error jerr = json_tokener_get_error(tk);
    if (!root || jerr != json_tokener_success) {
        elm_status st = elm_err(ELM_E_FORMAT, "%s: invalid JSON at offset %zu: %s", src,
                                json_tokener_get_parse_end(tk), json_tokener_error_desc(jerr));
        json_tokener_free(tk);
        json_object_put(root);
        return st;
    }
    json_tokener_free(tk);
    elm_status st = parse_root(root, src, out);
    json_object_put(root);
    return st;
}

elm_status elm_llama_config_from_json(const char *path, elm_llama_config *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return elm_err(ELM_E_IO, "%s: cannot open: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0 || n > (64L << 20)) {
        fclose(f);
        return elm_err(ELM_E_FORMAT, "%s: not a config file (size %ld)", path, n);
    }
    char *buf = malloc((size_t)n + 1);
    if (!buf) {
        fclose(f);
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    }
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    if (got != (size_t)n) {
        free(buf);
        return elm_err(ELM_E_IO, "%s: short read", path);
    }
    buf[n] = '\0';
    elm_status st = elm_llama_config_from_json_text(buf, path, out);
    free(buf);
    return st;
}

void elm_llama_inv_freq(const elm_llama_config *c, float *out)
{
    int dim = c->head_dim, half = dim / 2;
    for (int i = 0; i < half; i++) {
        /* transformers: 1.0 / (base ** (arange(0, dim, 2).float() / dim)) in fp32 */
        float e = (float)(2 * i) / (float)dim;
        float p = powf((float)c->rope_theta, e);
        out[i] = 1.0f / p;
    }
    if (c->rope_type == ELM_ROPE_LINEAR) {
        for (int i = 0; i < half; i++)
            out[i] = out[i] / (float)c->rope_factor;
    } else if (c->rope_type == ELM_ROPE_LLAMA3) {
        /* transformers' _compute_llama3_parameters, elementwise in fp32 */
        float factor = (float)c->rope_factor;
        float lo = (float)c->rope_low_freq_factor, hi = (float)c->rope_high_freq_factor;
        float old = (float)c->rope_original_max_pos;
        double low_wavelen = (double)c->rope_original_max_pos / c->rope_low_freq_factor;
        double high_wavelen = (double)c->rope_original_max_pos / c->rope_high_freq_factor;
        for (int i = 0; i < half; i++) {
            float inv = out[i];
            float wavelen = (float)(2 * M_PI) / inv;
            float v = wavelen > (float)low_wavelen ? inv / factor : inv;
            float smooth = (old / wavelen - lo) / (hi - lo);
            float smoothed = (1 - smooth) * v / factor + smooth * v;
            int medium = !(wavelen < (float)high_wavelen) && !(wavelen > (float)low_wavelen);
            out[i] = medium ? smoothed : v;
        }
    }
}
