#include "model/model_opts.h"

#include <string.h>

#include "config/config.h"
#include "core/error.h"
#include "core/log.h"

elm_status elm_model_opts_from_config(const elm_config *cfg, elm_model_opts *o)
{
    const char *device = "cpu", *dtype = "auto";
    memset(o, 0, sizeof *o);
    ELM_TRY(elm_config_string(cfg, ELM_KEY_RUNTIME_DEVICE, &device));
    ELM_TRY(et_parse_device(device, &o->device));
    ELM_TRY(elm_config_string(cfg, ELM_KEY_RUNTIME_DTYPE, &dtype));
    o->dtype_auto = strcmp(dtype, "auto") == 0;
    o->dtype = ET_F32;
    if (!o->dtype_auto)
        ELM_TRY(et_parse_dtype(dtype, &o->dtype));
    o->threads_set = elm_config_id_is_set(cfg, ELM_KEY_RUNTIME_THREADS);
    ELM_TRY(elm_config_int(cfg, ELM_KEY_RUNTIME_THREADS, &o->threads));
    o->cpu_cache_set = elm_config_id_is_set(cfg, ELM_KEY_RUNTIME_CPU_CACHE_MB);
    ELM_TRY(elm_config_int(cfg, ELM_KEY_RUNTIME_CPU_CACHE_MB, &o->cpu_cache_mb));
    return ELM_OK;
}

et_dtype elm_model_opts_dtype(const elm_model_opts *o, et_device dev)
{
    if (o->dtype_auto)
        return (dev.kind != 0 || et_cpu_has_bf16()) ? ET_BF16 : ET_F32;
    /* Without AMX/AVX512-BF16 libtorch 1.13's CPU bf16 matmul is its fallback loop: ~40x slower
     * than fp32 and accumulating in bf16 (`elm help keys`, runtime.dtype). Allowed, but said. */
    if (o->dtype == ET_BF16 && dev.kind == 0 && !et_cpu_has_bf16())
        elm_log(ELM_LOG_WARN, "runtime.dtype=bfloat16 on a CPU without AMX/AVX512-BF16: libtorch's bf16 "
                              "matmul falls back to a slow loop that accumulates in bf16; auto picks float32 here");
    return o->dtype;
}
