#include "generate/prepare_opts.h"

#include <string.h>

#include "config/config.h"
#include "core/error.h"

elm_status elm_prepare_opts_from_config(const elm_config *cfg, elm_prepare_opts *o)
{
    const char *join = "space", *cut = "auto";
    int64_t seed = 0;
    memset(o, 0, sizeof *o);
    ELM_TRY(elm_config_string(cfg, ELM_KEY_ERASE_CONCEPT, &o->concept));
    ELM_TRY(elm_config_int(cfg, ELM_KEY_PREPARE_GROUP, &o->group));
    ELM_TRY(elm_config_int(cfg, ELM_KEY_PREPARE_LIMIT, &o->limit));
    ELM_TRY(elm_config_int(cfg, ELM_KEY_GEN_SEED, &seed));
    o->seed = (uint64_t)seed;
    ELM_TRY(elm_config_int(cfg, ELM_KEY_PREPARE_MIN_CUT, &o->min_cut));
    ELM_TRY(elm_config_int(cfg, ELM_KEY_PREPARE_MAX_CUT, &o->max_cut));
    ELM_TRY(elm_config_int(cfg, ELM_KEY_PREPARE_MIN_NEW_TOKENS, &o->min_new));
    ELM_TRY(elm_config_int(cfg, ELM_KEY_PREPARE_MAX_NEW_TOKENS, &o->max_new));
    ELM_TRY(elm_config_double(cfg, ELM_KEY_PREPARE_GUIDANCE, &o->guidance));
    ELM_TRY(elm_config_double(cfg, ELM_KEY_PREPARE_TEMPERATURE, &o->temperature));
    ELM_TRY(elm_config_int(cfg, ELM_KEY_PREPARE_TOP_K, &o->top_k));
    ELM_TRY(elm_config_double(cfg, ELM_KEY_PREPARE_TOP_P, &o->top_p));
    ELM_TRY(elm_config_string(cfg, ELM_KEY_PREPARE_JOIN, &join));
    o->reference_join = strcmp(join, "reference") == 0;
    ELM_TRY(elm_config_string(cfg, ELM_KEY_PREPARE_CUT, &cut));
    o->cut = strcmp(cut, "prefix") == 0 ? ELM_CUT_PREFIX : strcmp(cut, "whole") == 0 ? ELM_CUT_WHOLE : ELM_CUT_AUTO;
    if (o->max_cut < o->min_cut)
        return elm_err(ELM_E_INVALID, "prepare.max_cut (%lld) is below prepare.min_cut (%lld)",
                       (long long)o->max_cut, (long long)o->min_cut);
    if (o->max_new < o->min_new)
        return elm_err(ELM_E_INVALID, "prepare.max_new_tokens (%lld) is below prepare.min_new_tokens (%lld)",
                       (long long)o->max_new, (long long)o->min_new);
    return ELM_OK;
}
