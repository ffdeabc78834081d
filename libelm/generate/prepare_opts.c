#include "generate/prepare_opts.h"

#include <string.h>

#include "config/config.h"
#include "core/error.h"

elm_status elm_prepare_opts_from_config(const elm_config *cfg, elm_prepare_opts *o)
{
    const char *join = "space";
    int64_t seed = 0;
    memset(o, 0, sizeof *o);
    ELM_TRY(elm_config_get_string(cfg, "erase.concept", &o->concept));
    ELM_TRY(elm_config_get_int(cfg, "prepare.group", &o->group));
    ELM_TRY(elm_config_get_int(cfg, "prepare.limit", &o->limit));
    ELM_TRY(elm_config_get_int(cfg, "gen.seed", &seed));
    o->seed = (uint64_t)seed;
    ELM_TRY(elm_config_get_int(cfg, "prepare.min_cut", &o->min_cut));
    ELM_TRY(elm_config_get_int(cfg, "prepare.max_cut", &o->max_cut));
    ELM_TRY(elm_config_get_int(cfg, "prepare.min_new_tokens", &o->min_new));
    ELM_TRY(elm_config_get_int(cfg, "prepare.max_new_tokens", &o->max_new));
    ELM_TRY(elm_config_get_double(cfg, "prepare.guidance", &o->guidance));
    ELM_TRY(elm_config_get_double(cfg, "prepare.temperature", &o->temperature));
    ELM_TRY(elm_config_get_int(cfg, "prepare.top_k", &o->top_k));
    ELM_TRY(elm_config_get_double(cfg, "prepare.top_p", &o->top_p));
    ELM_TRY(elm_config_get_string(cfg, "prepare.join", &join));
    o->reference_join = strcmp(join, "reference") == 0;
    if (!o->concept || !o->concept[0])
        return elm_err(ELM_E_INVALID, "prepare: erase.concept is empty; the expert/novice prefixes need a concept");
    if (o->max_cut < o->min_cut)
        return elm_err(ELM_E_INVALID, "prepare.max_cut (%lld) is below prepare.min_cut (%lld)",
                       (long long)o->max_cut, (long long)o->min_cut);
    if (o->max_new < o->min_new)
        return elm_err(ELM_E_INVALID, "prepare.max_new_tokens (%lld) is below prepare.min_new_tokens (%lld)",
                       (long long)o->max_new, (long long)o->min_new);
    return ELM_OK;
}
