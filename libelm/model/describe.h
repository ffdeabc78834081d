/* describe.h — what a checkpoint must hold, known without loading it: the
 * tensors the forward pass reads (names and shapes for a configuration),
 * the files of a Hugging Face checkpoint, and the checks and texts both the
 * loader (model.c) and elm_inspect (api/inspect_api.c) apply, so that the
 * two describe a model in exactly one way. */
#ifndef ELM_MODEL_DESCRIBE_H
#define ELM_MODEL_DESCRIBE_H

#include "model/model.h"
#include "model/wsrc.h"

#include <stddef.h>
#include <stdint.h>

/* Output and input sizes of a projection. */
void elm_module_shape(const elm_llama_config *c, elm_module mod, int64_t *out_features, int64_t *in_features);

typedef enum elm_wrole {
    ELM_W_TOK_EMBD,  /* [n_vocab, n_embd] */
    ELM_W_ATTN_NORM, /* per layer, [n_embd] */
    ELM_W_FFN_NORM,  /* per layer, [n_embd] */
    ELM_W_PROJ,      /* per layer and module, [out, in] */
    ELM_W_BIAS,      /* per layer, q/k/v only, when qkv_bias: [out] */
    ELM_W_NORM,      /* final norm, [n_embd] */
    ELM_W_LM_HEAD    /* [n_vocab, n_embd]; absent with tied embeddings */
} elm_wrole;

/* One tensor the forward pass reads. */
typedef struct elm_wspec {
    const char *name;        /* the checkpoint's name (HF or GGUF naming) */
    elm_wrole role;
    int layer;               /* -1 outside the layers */
    elm_module mod;          /* ELM_W_PROJ / ELM_W_BIAS */
    int ndim;
    int64_t shape[2];
    int64_t unpermute_heads; /* GGUF q/k rows stored in llama.cpp's permuted order
                                (all but Qwen2): the head count; else 0 */
} elm_wspec;

typedef elm_status (*elm_wspec_fn)(void *ctx, const elm_wspec *w);

/* Calls fn for every tensor of a model with configuration c, in the order
 * the loader reads them (embedding; per layer both norms, the seven
 * projections, the q/k/v biases; final norm; lm_head unless tied); stops at
 * and returns fn's first error. */
elm_status elm_model_each_weight(const elm_llama_config *c, int gguf, elm_wspec_fn fn, void *ctx);

/* The tensor `name` of w, present and of the given shape; otherwise
 * ELM_E_FORMAT ("<file>: tensor 'x' is missing" / "... has shape [a, b],
 * expected [c, d]"). */
elm_status elm_wsrc_expect(const elm_wsrc *w, const char *name, int ndim, const int64_t *shape, elm_wtensor *out);

/* Adds name to a "+"-joined list of distinct names ("BF16+F32"), in
 * first-seen order; truncated at cap. */
void elm_name_list_add(char *list, size_t cap, const char *name);

/* "[a, b]" */
void elm_shape_text(int ndim, const int64_t *shape, char *buf, size_t cap);

/* Pickle checkpoints are refused by name: *.bin, *.pt, *.pth, *.ckpt. */
int elm_is_pickle_name(const char *path);
elm_status elm_pickle_error(const char *what); /* ELM_E_UNSUPPORTED, with the way out */

/* The checkpoint of a Hugging Face model given as a directory (is_dir:
 * model.safetensors.index.json, else model.safetensors; a pickle checkpoint
 * there is refused) or as its weights file, and the directory that must
 * hold config.json (checked). */
elm_status elm_model_resolve_hf(const char *path, int is_dir, char *dir, size_t dcap, char *ckpt, size_t ccap);

#endif
