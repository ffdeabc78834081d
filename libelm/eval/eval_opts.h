/* The eval layer's options, typed: read once from an elm_config by
 * elm_eval_opts_from_config (eval_opts.c, the layer's one config reader) and
 * handed to elm_mcq_eval, elm_ppl_run and elm_rppl_run. */
#ifndef ELM_EVAL_EVAL_OPTS_H
#define ELM_EVAL_EVAL_OPTS_H

#include <stdint.h>

#include "elm.h"
#include "generate/generate.h"

typedef enum elm_mcq_scoring {
    ELM_MCQ_SCORING_LOGLIK,        /* loglik of " {letter}" after the lettered prompt */
    ELM_MCQ_SCORING_LETTER_LOGITS, /* raw logits of the letter tokens */
    ELM_MCQ_SCORING_CLOZE          /* each choice's text as the answer's continuation */
} elm_mcq_scoring;

typedef struct elm_eval_opts {
    const char *mcq_subject; /* eval.mcq_subject, borrowed from the config; "" for none */
    elm_mcq_scoring mcq_scoring;
    int64_t limit;  /* eval.limit: first N items (0: all) */
    int64_t batch;  /* eval.batch, >= 1 */
    int64_t window; /* eval.window (0: the model's context) */
    int64_t stride; /* eval.stride (0: window / 2) */
    elm_gen_params gen; /* gen.*: the generator of reverse perplexity */
} elm_eval_opts;

/* eval.* and gen.* keys (NULL cfg: defaults). Strings are borrowed from cfg,
 * which must outlive *o. ELM_E_INVALID names the key of a bad value. */
elm_status elm_eval_opts_from_config(const elm_config *cfg, elm_eval_opts *o);

#endif
