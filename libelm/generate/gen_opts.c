/* The generate layer's reader of gen.* and chat.fallback: elm_gen_params. */
#include "generate/generate.h"

#include <string.h>

#include "config/config.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"

elm_status elm_gen_params_from_config(const elm_config *cfg, elm_gen_params *p)
{
    int64_t seed = 0;
    memset(p, 0, sizeof *p);
    ELM_TRY(elm_config_int(cfg, ELM_KEY_GEN_MAX_NEW_TOKENS, &p->max_new_tokens));
    ELM_TRY(elm_config_double(cfg, ELM_KEY_GEN_TEMPERATURE, &p->temperature));
    ELM_TRY(elm_config_int(cfg, ELM_KEY_GEN_TOP_K, &p->top_k));
    ELM_TRY(elm_config_double(cfg, ELM_KEY_GEN_TOP_P, &p->top_p));
    ELM_TRY(elm_config_int(cfg, ELM_KEY_GEN_SEED, &seed));
    ELM_TRY(elm_config_string(cfg, ELM_KEY_GEN_STOP, &p->stop));
    ELM_TRY(elm_config_bool(cfg, ELM_KEY_GEN_CHAT, &p->chat));
    const char *fallback = "none";
    ELM_TRY(elm_config_string(cfg, ELM_KEY_CHAT_FALLBACK, &fallback));
    ELM_TRY(elm_chat_kind_parse(fallback, &p->chat_fallback));
    p->seed = (uint64_t)seed;
    return ELM_OK;
}
