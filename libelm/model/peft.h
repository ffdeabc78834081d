/* The checks of a PEFT LoRA adapter directory that need no model: what
 * adapter_config.json may say and how adapter_model.safetensors names its
 * tensors. elm_lora_load_peft (model/peft.c) and elm_inspect (api/) both
 * use them, so `elm inspect` refuses exactly what the loader refuses before
 * it looks at a model (layers_to_transform against the model's layer count
 * and tensor shapes against its modules are the loader's alone). */
#ifndef ELM_MODEL_PEFT_H
#define ELM_MODEL_PEFT_H

#include <stdint.h>

#include "io/json.h"
#include "io/safetensors.h"

/* adapter_config.json, checked. Strings are borrowed from the JSON object. */
typedef struct elm_peft_config {
    const char *peft_type; /* "LORA" */
    const char *task_type; /* "CAUSAL_LM" (its default when absent) */
    int64_t r;             /* 1..65536 */
    double alpha;          /* lora_alpha, > 0 (8 when absent) */
    double dropout;        /* lora_dropout, [0, 1) */
    int use_rslora;
    unsigned mods; /* target_modules, one bit per elm_module */
} elm_peft_config;

/* Check a parsed adapter_config.json (ctx: its path, for the messages):
 * a JSON object; peft_type LORA; r, lora_alpha, lora_dropout in range; no
 * use_dora, fan_in_fan_out, bias other than "none", task_type other than
 * CAUSAL_LM, rank_pattern/alpha_pattern, modules_to_save or
 * layer_replication; target_modules a list of the seven projections (or
 * one of them, or "all-linear"). ELM_E_FORMAT / ELM_E_UNSUPPORTED name
 * the field. */
elm_status elm_peft_check_config(const char *ctx, json_object *cfg, elm_peft_config *out);

/* A tensor of adapter_model.safetensors (wpath: that file): its name must be
 * PEFT's "base_model.model.model.layers.L.PARENT.MODULE.lora_A|B.weight"
 * (else ELM_E_UNSUPPORTED "not a LoRA A/B weight libelm understands") and
 * its dtype F32, BF16 or F16 (else ELM_E_UNSUPPORTED). *layer, *mod and *ab
 * ('A' or 'B') are what the name says; *mod is -1 when MODULE is no
 * projection or PARENT is not its parent: the caller, which knows whether
 * there is a model, words that error. */
elm_status elm_peft_tensor_name(const char *wpath, const elm_st_tensor *t, int *layer, int *mod, char *ab);
elm_status elm_peft_tensor_dtype(const char *wpath, const elm_st_tensor *t);

#endif
