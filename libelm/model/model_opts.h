/* The model layer's options, typed: read once from an elm_config by
 * elm_model_opts_from_config (model_opts.c, the layer's one config reader)
 * and handed to elm_model_open_opts. */
#ifndef ELM_MODEL_MODEL_OPTS_H
#define ELM_MODEL_MODEL_OPTS_H

#include <stdint.h>

#include "elm.h"
#include "tensor/shim.h"

typedef struct elm_model_opts {
    et_device device;     /* runtime.device */
    int dtype_auto;       /* runtime.dtype = auto: picked per device at load */
    et_dtype dtype;       /* runtime.dtype otherwise */
    /* Process-wide settings: a load applies each only when the config set it
     * explicitly, or while nothing in the process has set it yet. */
    int threads_set;      /* runtime.threads was set in the config */
    int64_t threads;      /* runtime.threads (0: every CPU) */
    int cpu_cache_set;    /* runtime.cpu_cache_mb was set in the config */
    int64_t cpu_cache_mb; /* runtime.cpu_cache_mb */
} elm_model_opts;

/* runtime.* keys (NULL cfg: defaults). ELM_E_INVALID names the key of a bad
 * value (an unknown device or dtype). */
elm_status elm_model_opts_from_config(const elm_config *cfg, elm_model_opts *o);

/* The compute dtype o gives on dev ("auto": bf16 with CPU bf16 support or on
 * CUDA, else fp32; bf16 asked for on a CPU without it is allowed, with a
 * warning). */
et_dtype elm_model_opts_dtype(const elm_model_opts *o, et_device dev);

#endif
