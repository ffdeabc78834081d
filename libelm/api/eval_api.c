/* Public evaluation entry points over eval/. */
#include <stddef.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/struct_size.h"
#include "eval/eval.h"
#include "io/dataset.h"
#include "io/mcq.h"

elm_status elm_eval_mcq(elm_model *model, const char *path, const elm_config *cfg, elm_progress_fn progress,
                        void *user, elm_mcq_result **out)
{
    elm_mcq_set *set = NULL;
    elm_eval_opts o;
    ELM_CHECK_ARG(out, "out");
    *out = NULL;
    ELM_TRY(elm_model_check(model, __func__));
    ELM_CHECK_ARG(path && path[0], "path");
    ELM_TRY(elm_eval_opts_from_config(cfg, &o));
    ELM_TRY(elm_mcq_load(path, &set));
    elm_status st = elm_mcq_eval(model, set, &o, progress, user, out, NULL, NULL);
    elm_mcq_free(set);
    if (st != ELM_OK && st != ELM_E_CANCELLED)
        elm_err_context(st, "%s", path);
    return st;
}

void elm_mcq_result_free(elm_mcq_result *r)
{
    if (!r)
        return;
    free(r->predicted);
    free(r->answers);
    free(r->margins);
    if (r->size >= offsetof(elm_mcq_result, accuracy_unnormalized)) {
        free(r->loglik);
        free(r->n_tokens);
        free(r->predicted_unnormalized);
    }
    free(r);
}

elm_status elm_eval_perplexity(elm_model *model, elm_dataset *ds, const elm_config *cfg, elm_progress_fn progress,
                               void *user, elm_ppl_result *out)
{
    ELM_TRY(elm_struct_check(__func__, "out", out));
    ELM_TRY(elm_model_check(model, __func__));
    ELM_CHECK_ARG(ds, "ds");
    ELM_TRY(elm_dataset_check(ds, __func__));
    elm_eval_opts o;
    ELM_TRY(elm_eval_opts_from_config(cfg, &o));
    return elm_ppl_run(model, ds, &o, progress, user, out);
}

elm_status elm_eval_reverse_perplexity(elm_model *generator, elm_model *scorer, elm_dataset *prompts,
                                       const elm_config *cfg, elm_progress_fn progress, void *user,
                                       elm_ppl_result *out)
{
    ELM_TRY(elm_struct_check(__func__, "out", out));
    ELM_TRY(elm_model_check(generator, __func__));
    ELM_TRY(elm_model_check(scorer, __func__));
    ELM_CHECK_ARG(prompts, "prompts");
    ELM_TRY(elm_dataset_check(prompts, __func__));
    elm_eval_opts o;
    ELM_TRY(elm_eval_opts_from_config(cfg, &o));
    return elm_rppl_run(generator, scorer, prompts, &o, progress, user, out);
}
