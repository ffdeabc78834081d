/* The erase layer's one configuration reader: elm_erase_opts from erase.*,
 * lora.*, optim.* and runtime.seed (session.h). */
#include "erase/session.h"

#include "config/config.h"
#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* erase.objective's names, in elm_objective_kind order */
static const char *const objective[] = {"elm", "finetune", "rmu", "grad_diff", "npo"};

const char *elm_objective_name(elm_objective_kind k)
{
    return (unsigned)k < sizeof objective / sizeof objective[0] ? objective[k] : "?";
}

static elm_status get_choice(const elm_config *cfg, elm_key_id key, const char *const *names, int n,
                             int *out)
{
    const char *v;
    ELM_TRY(elm_config_string(cfg, key, &v));
    for (int i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0) {
            *out = i;
            return ELM_OK;
        }
    return elm_err(ELM_E_INVALID, "%s: unexpected value '%s'", elm_schema[key].key, v);
}

static elm_status dup_str(const elm_config *cfg, elm_key_id key, char **out)
{
    const char *v;
    ELM_TRY(elm_config_string(cfg, key, &v));
    *out = strdup(v ? v : "");
    return *out ? ELM_OK : elm_err(ELM_E_NOMEM, "erase: out of memory");
}

void elm_erase_opts_free(elm_erase_opts *o)
{
    free(o->mix);
    free(o->mix_text);
    free(o->layer_mask);
    free(o->init_from);
    free(o->concept);
    free(o->base_model_id);
    free(o->expert_file);
    free(o->novice_file);
    free(o->frozen_cache);
    memset(o, 0, sizeof *o);
}

elm_status elm_erase_opts_from_config(const elm_config *c, const elm_model *m, elm_erase_opts *o)
{
    int64_t i64;
    int ch = 0;
    static const char *const sched[] = {"ramp", "constant"};
    static const char *const loss[] = {"soft_ce", "kl", "hard"};
    static const char *const action[] = {"erase", "enhance", "random"};
    static const char *const retain[] = {"hard", "soft"};
    static const char *const choice[] = {"random", "cycle"};
    static const char *const align[] = {"concat", "separate"};
    static const char *const cons_tokens[] = {"all", "reference"};
    static const char *const lrs[] = {"constant", "linear", "cosine"};
    ELM_TRY(get_choice(c, ELM_KEY_ERASE_OBJECTIVE, objective, 5, &ch));
    o->objective = (elm_objective_kind)ch;
    o->finetune = o->objective == ELM_OBJ_FINETUNE;
    ELM_TRY(elm_config_int(c, ELM_KEY_ERASE_RMU_LAYER, &o->rmu_layer));
    ELM_TRY(elm_config_double(c, ELM_KEY_ERASE_RMU_COEFF, &o->rmu_coeff));
    ELM_TRY(elm_config_double(c, ELM_KEY_ERASE_RMU_ALPHA, &o->rmu_alpha));
    ELM_TRY(elm_config_double(c, ELM_KEY_ERASE_NPO_BETA, &o->npo_beta));
    ELM_TRY(elm_config_double(c, ELM_KEY_ERASE_ETA, &o->eta));
    if (!isfinite(o->eta))
        return elm_err(ELM_E_INVALID, "erase.eta: must be finite (got %g)", o->eta);
    ELM_TRY(get_choice(c, ELM_KEY_ERASE_ETA_SCHEDULE, sched, 2, &ch));
    o->eta_ramp = ch == 0;
    ELM_TRY(elm_config_double(c, ELM_KEY_ERASE_TAU, &o->tau));
    ELM_TRY(elm_config_int(c, ELM_KEY_ERASE_TOP_K, &o->top_k));
    ELM_TRY(elm_config_double(c, ELM_KEY_ERASE_PLAUSIBILITY, &o->plausibility));
    ELM_TRY(get_choice(c, ELM_KEY_ERASE_LOSS, loss, 3, &ch));
    o->loss = (elm_erase_loss)ch;
    ELM_TRY(get_choice(c, ELM_KEY_ERASE_ACTION, action, 3, &ch));
    o->action = (elm_erase_action)ch;
    if (o->plausibility > 0 && o->action == ELM_ACTION_RANDOM)
        return elm_err(ELM_E_INVALID, "erase.plausibility = %g: the random action has no frozen distribution to "
                                      "mask (use 0, or erase.action erase or enhance)", o->plausibility);
    ELM_TRY(get_choice(c, ELM_KEY_ERASE_RETAIN_LOSS, retain, 2, &o->retain_soft));
    ELM_TRY(elm_config_double(c, ELM_KEY_ERASE_LAMBDA_ERASE, &o->lam_erase));
    ELM_TRY(elm_config_double(c, ELM_KEY_ERASE_LAMBDA_RETAIN, &o->lam_retain));
    ELM_TRY(elm_config_double(c, ELM_KEY_ERASE_LAMBDA_CONSISTENCY, &o->lam_cons));
    ELM_TRY(get_choice(c, ELM_KEY_ERASE_TEMPLATE_CHOICE, choice, 2, &o->tmpl_cycle));
    ELM_TRY(get_choice(c, ELM_KEY_ERASE_ALIGNMENT, align, 2, &o->align_separate));
    ELM_TRY(get_choice(c, ELM_KEY_ERASE_CONSISTENCY_TOKENS, cons_tokens, 2, &o->cons_reference));
    static const char *const cons_mode[] = {"file", "online"};
    ELM_TRY(get_choice(c, ELM_KEY_ERASE_CONSISTENCY, cons_mode, 2, &o->cons_online));
    if (o->cons_online && o->objective != ELM_OBJ_ELM)
        return elm_err(ELM_E_INVALID, "erase.consistency online: erase.objective %s has no consistency term",
                       elm_objective_name(o->objective));
    const char *mix;
    ELM_TRY(elm_config_string(c, ELM_KEY_ERASE_MIX, &mix));
    ELM_TRY(elm_parse_mix(mix, &o->mix, &o->n_mix));
    o->mix_text = strdup(mix);
    if (!o->mix_text)
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    ELM_TRY(elm_config_int(c, ELM_KEY_ERASE_MAX_TOKENS, &o->max_tokens));
    ELM_TRY(elm_config_int(c, ELM_KEY_ERASE_BATCH, &o->batch));
    ELM_TRY(elm_config_bool(c, ELM_KEY_ERASE_PREFIX_CACHE, &o->prefix_cache));
    ELM_TRY(dup_str(c, ELM_KEY_ERASE_FROZEN_CACHE, &o->frozen_cache));
    ELM_TRY(dup_str(c, ELM_KEY_ERASE_CONCEPT, &o->concept));
    ELM_TRY(dup_str(c, ELM_KEY_LORA_BASE_MODEL_ID, &o->base_model_id));
    ELM_TRY(dup_str(c, ELM_KEY_ERASE_EXPERT_TEMPLATES, &o->expert_file));
    ELM_TRY(dup_str(c, ELM_KEY_ERASE_NOVICE_TEMPLATES, &o->novice_file));

    ELM_TRY(elm_config_double(c, ELM_KEY_OPTIM_LR, &o->lr));
    ELM_TRY(elm_config_double(c, ELM_KEY_OPTIM_BETA1, &o->beta1));
    ELM_TRY(elm_config_double(c, ELM_KEY_OPTIM_BETA2, &o->beta2));
    ELM_TRY(elm_config_double(c, ELM_KEY_OPTIM_EPS, &o->eps));
    ELM_TRY(elm_config_double(c, ELM_KEY_OPTIM_WEIGHT_DECAY, &o->wd));
    ELM_TRY(elm_config_double(c, ELM_KEY_OPTIM_CLIP, &o->clip));
    ELM_TRY(elm_config_int(c, ELM_KEY_OPTIM_ACCUM, &o->accum));
    ELM_TRY(elm_config_int(c, ELM_KEY_OPTIM_WARMUP, &o->warmup));
    ELM_TRY(elm_config_int(c, ELM_KEY_OPTIM_STEPS, &o->steps));
    ELM_TRY(get_choice(c, ELM_KEY_OPTIM_SCHEDULE, lrs, 3, &ch));
    o->sched = (elm_lr_schedule)ch;
    ELM_TRY(elm_config_int(c, ELM_KEY_RUNTIME_SEED, &i64));
    o->seed = (uint64_t)i64;

    ELM_TRY(elm_config_int(c, ELM_KEY_LORA_RANK, &i64));
    if (i64 <= 0)
        return elm_err(ELM_E_INVALID, "lora.rank: must be >= 1 (got %lld)", (long long)i64);
    o->rank = (int)i64;
    ELM_TRY(elm_config_double(c, ELM_KEY_LORA_ALPHA, &o->alpha));
    ELM_TRY(elm_config_double(c, ELM_KEY_LORA_DROPOUT, &o->dropout));
    static const char *const lcd[] = {"float32", "model"};
    ELM_TRY(get_choice(c, ELM_KEY_LORA_COMPUTE_DTYPE, lcd, 2, &ch));
    o->lora_model_dtype = ch == 1;
    const char *s;
    ELM_TRY(elm_config_string(c, ELM_KEY_LORA_TARGETS, &s));
    ELM_TRY(elm_parse_targets(s, &o->module_mask));
    o->layer_mask = calloc((size_t)m->cfg.n_layers, sizeof *o->layer_mask);
    if (!o->layer_mask)
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    ELM_TRY(elm_config_string(c, ELM_KEY_LORA_LAYERS, &s));
    ELM_TRY(elm_parse_layers(s, m->cfg.n_layers, o->layer_mask));
    ELM_TRY(dup_str(c, ELM_KEY_LORA_INIT_FROM, &o->init_from));
    return ELM_OK;
}


/* A double's shortest text that reads back as the same value. */
static void shortest(double v, char *buf, size_t cap)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* The key's value as the card shows it, or NULL when it is the default
 * (doubles compared as numbers: "0.05" is 0.050000000000000003). */
static const char *shown(const elm_key_info *info, const char *text, char *buf, size_t cap)
{
    if (info->type == ELM_TYPE_DOUBLE) {
        double v = strtod(text, NULL);
        if (v == strtod(info->default_text, NULL))
            return NULL;
        shortest(v, buf, cap);
        return buf;
    }
    return strcmp(text, info->default_text) == 0 ? NULL : text;
}

elm_status elm_erase_opts_each_key(const elm_config *cfg, int changed_only,
                                   void (*fn)(void *ud, const char *key, const char *value), void *ud)
{
    elm_status st = ELM_OK;
    const size_t nk = elm_config_key_count();
    for (size_t i = 0; st == ELM_OK && i < nk; i++) {
        elm_key_info info;
        ELM_STRUCT_INIT(&info);
        char *text = NULL;
        st = elm_config_key_info(i, &info);
        if (st == ELM_OK)
            st = elm_config_get_text(cfg, info.key, &text);
        char nbuf[40];
        const char *v = st != ELM_OK ? NULL : changed_only ? shown(&info, text, nbuf, sizeof nbuf) : text;
        if (v)
            fn(ud, info.key, v);
        free(text);
    }
    return st;
}
