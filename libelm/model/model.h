/*
 * model.h — Llama-family causal LMs (Llama, Mistral, Qwen2) inside libelm:
 * configuration, weights, the forward pass with optional LoRA and KV cache.
 * Used by erase/, generate/, eval/ and the public API (api/model_api.c).
 */
#ifndef ELM_MODEL_MODEL_H
#define ELM_MODEL_MODEL_H

#include "elm.h"
#include "model/gen_config.h"
#include "model/model_opts.h"
#include "tensor/shim.h"
#if defined(__has_include)
#if __has_include("tokenizer/tokenizer.h")
#include "tokenizer/tokenizer.h"
#endif
#endif

#include <stdatomic.h>

#define ELM_MODEL_MAGIC 0x4d4c4d45u /* "ELMM" */

typedef enum elm_rope_type {
    ELM_ROPE_DEFAULT = 0,
    ELM_ROPE_LLAMA3 = 1,
    ELM_ROPE_LINEAR = 2
} elm_rope_type;

typedef struct elm_llama_config {
    char architecture[64]; /* "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM" */
    int n_layers, n_embd, n_heads, n_kv_heads, head_dim, n_ff, n_vocab, n_ctx;
    double rms_eps;
    double rope_theta;
    elm_rope_type rope_type;
    double rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    int rope_original_max_pos;
    int tied_embeddings;
    int qkv_bias;        /* Qwen2 */
    int sliding_window;  /* 0: none */
    int bos_id, eos_id, pad_id; /* -1 when unknown */
} elm_llama_config;

/* The seven projection modules LoRA can target, in PEFT's naming order. */
typedef enum elm_module {
    ELM_MOD_Q = 0, ELM_MOD_K, ELM_MOD_V, ELM_MOD_O, ELM_MOD_GATE, ELM_MOD_UP, ELM_MOD_DOWN,
    ELM_MOD_COUNT
} elm_module;

/* "q_proj", "self_attn" / "mlp" parent, and the short name "q" used by lora.targets. */
const char *elm_module_hf_name(elm_module m);   /* "q_proj" */
const char *elm_module_parent(elm_module m);    /* "self_attn" or "mlp" */
const char *elm_module_short(elm_module m);     /* "q" */

typedef struct elm_layer_weights {
    et_tensor *attn_norm, *ffn_norm;
    et_tensor *w[ELM_MOD_COUNT];     /* [out, in] as in HF */
    et_tensor *bias[3];              /* q, k, v bias (Qwen2) or NULL */
} elm_layer_weights;

/* LoRA adapter over some (layer, module) pairs, PEFT layout:
 * A [r, in], B [out, r]; delta(x) = B(A(dropout(x))) * scale, computed in
 * the adapter's dtype (fp32) and added to the base output. */
typedef struct elm_lora {
    int n_layers;
    int rank;
    double alpha, scale, dropout;
    int training;        /* dropout active */
    et_scope *scope;     /* owns A and B */
    et_tensor **A;       /* n_layers * ELM_MOD_COUNT, NULL where absent */
    et_tensor **B;
    /* ---- extensions ---- */
    int use_rslora;      /* scale = alpha / sqrt(rank) (PEFT use_rslora) */
    unsigned module_mask;/* bit m set: module m targeted (in some layer) */
    int compute_model_dtype; /* matmuls in the model's compute dtype (A, B stay as they are) */
} elm_lora;

#define ELM_LORA_A(l, layer, mod) ((l)->A[(layer) * ELM_MOD_COUNT + (mod)])
#define ELM_LORA_B(l, layer, mod) ((l)->B[(layer) * ELM_MOD_COUNT + (mod)])

struct elm_model {
    uint32_t magic;
    atomic_int refs;
    elm_llama_config cfg;
    et_device device;
    et_dtype dtype;          /* compute dtype of the frozen weights */
    char device_name[32];
    char *path;              /* what it was loaded from */
    int from_gguf;
    et_scope *weights;       /* owns every base tensor */
    et_tensor *tok_embd;     /* [vocab, embd] */
    et_tensor *norm;         /* final norm [embd] */
    et_tensor *lm_head;      /* [vocab, embd] (== tok_embd when tied) */
    elm_layer_weights *layers;
    et_tensor *inv_freq;     /* rotary inverse frequencies [head_dim/2], fp32 */
    int64_t n_params;
    elm_tokenizer *tok;      /* the model's tokenizer (a reference), may be NULL */
    elm_lora *adapter;       /* attached adapter used when opts->lora is NULL and use_attached */
    /* ---- extensions (appended; the fields above keep their meaning) ---- */
    char src_dtype[64];      /* dtype(s) of the file's weights: "F32", "BF16", "F32+Q8_0" */
    int zero_copy;           /* weights wrap the file mapping (no copy) */
    elm_status tok_status;   /* why tok is NULL (ELM_OK when it loaded) */
    char *tok_error;         /* message of that failure, or NULL */
    float *inv_freq_host;    /* the same inverse frequencies on the host [head_dim/2] */
    elm_gen_defaults gen_defaults; /* generation_config.json's sampling fields (HF's defaults for GGUF) */
};

/* KV cache for incremental decoding: per layer K and V [B, n_kv_heads, T, head_dim]. */
typedef struct elm_kv_cache {
    et_scope *scope;
    int n_layers;
    et_tensor **k, **v;
    int64_t len;             /* positions cached */
    et_tensor *mask;         /* [B, len] I64 1/0: which cached positions are real tokens */
} elm_kv_cache;

elm_status elm_kv_cache_new(const elm_model *m, elm_kv_cache **out);
void elm_kv_cache_free(elm_kv_cache *c);
/* Keep only batch rows `rows` (for dropping finished sequences). */
elm_status elm_kv_cache_select(elm_kv_cache *c, const int64_t *rows, int n);

typedef struct elm_forward_opts {
    const elm_lora *lora;          /* adapter to apply; NULL: none */
    int use_attached;              /* if lora == NULL, apply m->adapter */
    elm_kv_cache *cache;           /* read and extended when non-NULL */
    const et_tensor *attn_mask;    /* [B, T] I64 1 = real token, 0 = padding; NULL: all real */
    const et_tensor *positions;    /* [B, T] I64; NULL: cache->len + arange(T) */
    int hidden_layer;              /* >= 0: store the output of that decoder layer ... */
    et_tensor **hidden_out;        /* ... here ([B, T, embd]) */
    int stop_at_hidden;            /* with hidden_layer: run no layer above it; the result is hidden_out */
    int last_only;                 /* logits of the last position only: [B, 1, V] */
    int no_logits;                 /* stop after the final norm; return hidden [B,T,embd] */
    const et_tensor *hidden_in;    /* non-NULL: the input of decoder layer start_layer ([B, T, embd], */
    int start_layer;               /* e.g. a frozen pass's hidden_out); layers below are not run. No cache. */
} elm_forward_opts;

/* ids [B, T] I64 on any device. Returns logits [B, T, V] in fp32 (or
 * [B,1,V] with last_only), owned by s. NULL on error (recorded in s). */
et_tensor *elm_model_forward(elm_model *m, et_scope *s, const et_tensor *ids,
                             const elm_forward_opts *opts);
/* The same with a status: ELM_OK and *out, or the error. Argument errors
 * found before any tensor op (bad mask/positions shapes, out of memory on
 * the host) are reported here and through elm_last_error(), not through s;
 * tensor-op failures are recorded in s too. Prefer this form.
 * Without autograd, layer temporaries are freed layer by layer (s holds only
 * the inputs prepared, the result and hidden_out); with autograd on they go
 * into s. A cache is updated only when the call succeeds. */
elm_status elm_model_forward_ex(elm_model *m, et_scope *s, const et_tensor *ids,
                                const elm_forward_opts *opts, et_tensor **out);

/* Load (path: HF directory or .gguf file) with o's device, dtype and
 * process settings; elm_model_open reads them from cfg (may be NULL:
 * defaults) with elm_model_opts_from_config first. */
elm_status elm_model_open_opts(const char *path, const elm_model_opts *o, elm_model **out);
elm_status elm_model_open(const char *path, const elm_config *cfg, elm_model **out);
void elm_model_ref(elm_model *m);
void elm_model_unref(elm_model *m);
/* Validate a public handle (magic tag) for entry points. */
elm_status elm_model_check(const elm_model *m, const char *fn);

/* LoRA adapters. */
elm_status elm_lora_new(const elm_model *m, int rank, double alpha, double dropout,
                        const unsigned *layer_mask /* n_layers flags */, unsigned module_mask,
                        elm_lora **out);
void elm_lora_free(elm_lora *l);
/* PEFT initialisation: A ~ kaiming_uniform(a=sqrt(5)), B = 0 (global
 * generator). The draws follow PEFT's order exactly (per layer, per module
 * q..down: nn.Linear init of A, of B, then A again), so with the same seed
 * A equals what PEFT 0.13 makes with torch.manual_seed(seed). */
elm_status elm_lora_init_peft(elm_lora *l);
/* PEFT directory I/O (adapter_config.json + adapter_model.safetensors). */
elm_status elm_lora_load_peft(const elm_model *m, const char *dir, elm_lora **out);
elm_status elm_lora_save_peft(const elm_model *m, const elm_lora *l, const char *base_model_name,
                              const char *dir);
/* Number of trainable parameters, and the (A, B) tensors as a flat list
 * (A then B per present pair, layer-major; *n gets the count). Borrowed. */
int64_t elm_lora_n_params(const elm_lora *l);
elm_status elm_lora_params(const elm_lora *l, et_tensor ***params, size_t *n);
/* Merge: W + scale * B @ A of one module, as a new tensor in s (compute dtype). */
et_tensor *elm_lora_merged_weight(const elm_model *m, const elm_lora *l, et_scope *s, int layer,
                                  elm_module mod);

/* ---- configuration (model/config.c) ---- */

/* Parse a Hugging Face config.json (Llama/Mistral/Qwen2). Errors name the
 * file and field: ELM_E_FORMAT for missing/inconsistent values,
 * ELM_E_UNSUPPORTED for another architecture or rope_scaling type. */
elm_status elm_llama_config_from_json(const char *path, elm_llama_config *out);
/* Same from text already in memory (`src` names it in messages). */
elm_status elm_llama_config_from_json_text(const char *text, const char *src,
                                           elm_llama_config *out);
/* Check sizes are positive and consistent (used by both loaders). */
elm_status elm_llama_config_check(const elm_llama_config *c, const char *src);
/* Rotary inverse frequencies [head_dim/2] on the host, in fp32 exactly as
 * transformers computes them (incl. llama3 / linear rope_scaling). */
void elm_llama_inv_freq(const elm_llama_config *c, float *out);

/* [out, in] of a projection module for this model. */
void elm_model_module_shape(const elm_model *m, elm_module mod, int64_t *out_features,
                            int64_t *in_features);

/* Load the tokenizer of m's path into m->tok; a failure is kept in
 * m->tok_status / m->tok_error (the model still loads). */
elm_status elm_model_load_tokenizer(elm_model *m);
void elm_model_release_tokenizer(elm_model *m);

/* Short names: elm_module_from_name("q_proj" or "q") → module, -1 if none. */
int elm_module_from_name(const char *name);

#endif
