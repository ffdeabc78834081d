#include "eval/eval_opts.h"

#include <string.h>

#include "config/config.h"
#include "core/error.h"

static elm_status scoring_of(const char *s, elm_mcq_scoring *out)
{
    static const struct { const char *name; elm_mcq_scoring v; } names[] = {
        {"loglik", ELM_MCQ_SCORING_LOGLIK},
        {"letter_logits", ELM_MCQ_SCORING_LETTER_LOGITS},
        {"cloze", ELM_MCQ_SCORING_CLOZE},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].v;
            return ELM_OK;
        }
    return elm_err(ELM_E_INVALID, "eval.mcq_scoring: '%s' is not one of loglik, letter_logits, cloze", s);
}

elm_status elm_eval_opts_from_config(const elm_config *cfg, elm_eval_opts *o)
{
    const char *scoring = NULL;
    memset(o, 0, sizeof *o);
    ELM_TRY(elm_config_string(cfg, ELM_KEY_EVAL_MCQ_SUBJECT, &o->mcq_subject));
    ELM_TRY(elm_config_string(cfg, ELM_KEY_EVAL_MCQ_SCORING, &scoring));
    ELM_TRY(scoring_of(scoring, &o->mcq_scoring));
    ELM_TRY(elm_config_int(cfg, ELM_KEY_EVAL_LIMIT, &o->limit));
    ELM_TRY(elm_config_int(cfg, ELM_KEY_EVAL_BATCH, &o->batch));
    ELM_TRY(elm_config_int(cfg, ELM_KEY_EVAL_WINDOW, &o->window));
    ELM_TRY(elm_config_int(cfg, ELM_KEY_EVAL_STRIDE, &o->stride));
    if (o->batch < 1)
        return elm_err(ELM_E_INVALID, "eval.batch: must be >= 1 (got %lld)", (long long)o->batch);
    return elm_gen_params_from_config(cfg, &o->gen);
}
