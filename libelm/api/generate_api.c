/* Public generation entry points over generate/. */
#include <stdlib.h>
#include <string.h>

#include "api/guide.h"
#include "config/config.h"
#include "core/error.h"
#include "generate/generate.h"
#include "io/dataset.h"

elm_status elm_generate(elm_model *model, const char *const *prompts, size_t n_prompts, const elm_config *cfg,
                        elm_token_fn on_token, void *user, char **outputs)
{
    elm_gen_params p;
    elm_status st = ELM_OK;
    ELM_TRY(elm_model_check(model, __func__));
    ELM_CHECK_ARG(outputs || n_prompts == 0, "outputs");
    ELM_CHECK_ARG(prompts || n_prompts == 0, "prompts");
    for (size_t i = 0; i < n_prompts; i++) {
        outputs[i] = NULL;
        if (!prompts[i])
            return elm_err(ELM_E_INVALID, "elm_generate: prompts[%zu] is NULL", i);
    }
    if (n_prompts == 0)
        return ELM_OK;
    ELM_TRY(elm_gen_params_from_config(cfg, &p));
    int32_t **ids = calloc(n_prompts, sizeof *ids);
    size_t *lens = calloc(n_prompts, sizeof *lens);
    elm_gen_result *res = calloc(n_prompts, sizeof *res);
    if (!ids || !lens || !res) {
        st = elm_err(ELM_E_NOMEM, "elm_generate: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_prompts && st == ELM_OK; i++)
        st = elm_gen_tokenize_prompt(model, prompts[i], &p, &ids[i], &lens[i]);
    if (st == ELM_OK)
        st = elm_gen_ids(model, (const int32_t *const *)ids, lens, n_prompts, &p, on_token, user, res);
    if (st == ELM_OK)
        for (size_t i = 0; i < n_prompts; i++) {
            outputs[i] = res[i].text;
            res[i].text = NULL;
        }
done:
    for (size_t i = 0; ids && i < n_prompts; i++)
        free(ids[i]);
    for (size_t i = 0; res && i < n_prompts; i++)
        elm_gen_result_clear(&res[i]);
    free(ids);
    free(lens);
    free(res);
    return st;
}

elm_status elm_prepare_consistency(elm_model *model, elm_dataset *forget, const elm_config *cfg,
                                   const char *out_path, elm_progress_fn progress, void *user)
{
    ELM_TRY(elm_model_check(model, __func__));
    ELM_CHECK_ARG(forget, "forget");
    ELM_TRY(elm_dataset_check(forget, __func__));
    ELM_CHECK_ARG(out_path && out_path[0], "out_path");
    elm_prepare_opts o;
    ELM_TRY(elm_prepare_opts_from_config(cfg, &o));
    elm_api_guide g;
    ELM_TRY(elm_api_guide_load(cfg, &g));
    elm_status st = elm_prepare_run(model, forget, &o, out_path, &g.tp, progress, user);
    elm_api_guide_free(&g);
    return st;
}
