/* Public dataset handles over io/dataset: argument checks, the magic tag and
 * config. */
#include "core/error.h"
#include "io/dataset.h"
#include "io/keywords.h"

elm_status elm_dataset_load(const char *path, const elm_config *cfg, elm_dataset **out)
{
    elm_data_opts opts;
    ELM_CHECK_ARG(out, "out");
    *out = NULL;
    ELM_CHECK_ARG(path && path[0], "path");
    ELM_TRY(elm_data_opts_from_config(cfg, &opts));
    return elm_dataset_read(path, &opts, out);
}

void elm_dataset_free(elm_dataset *ds)
{
    if (!elm_dataset_valid(ds)) /* NULL, or not a dataset: ignored */
        return;
    elm_dataset_unref(ds);
}

elm_dataset_kind elm_dataset_get_kind(const elm_dataset *ds)
{
    return elm_dataset_valid(ds) ? elm_dataset_kind_of(ds) : ELM_DATASET_TEXT;
}

size_t elm_dataset_size(const elm_dataset *ds) { return elm_dataset_valid(ds) ? elm_dataset_count(ds) : 0; }

elm_status elm_dataset_text(const elm_dataset *ds, size_t i, const char **text)
{
    ELM_CHECK_ARG(ds, "ds");
    ELM_TRY(elm_dataset_check(ds, __func__));
    ELM_CHECK_ARG(text, "text");
    *text = NULL;
    if (elm_dataset_kind_of(ds) == ELM_DATASET_PAIRS)
        return elm_err(ELM_E_STATE, "%s: elm_dataset_text: a dataset of pairs has no texts; use elm_dataset_pair",
                       elm_dataset_path(ds));
    if (i >= elm_dataset_count(ds))
        return elm_err(ELM_E_INVALID, "%s: elm_dataset_text: index %zu out of range (size %zu)",
                       elm_dataset_path(ds), i, elm_dataset_count(ds));
    *text = elm_dataset_text_at(ds, i);
    return ELM_OK;
}

elm_status elm_dataset_pair(const elm_dataset *ds, size_t i, const char **prompt, const char **continuation)
{
    ELM_CHECK_ARG(ds, "ds");
    ELM_TRY(elm_dataset_check(ds, __func__));
    ELM_CHECK_ARG(prompt, "prompt");
    ELM_CHECK_ARG(continuation, "continuation");
    *prompt = *continuation = NULL;
    if (elm_dataset_kind_of(ds) != ELM_DATASET_PAIRS)
        return elm_err(ELM_E_STATE, "%s: elm_dataset_pair: not a dataset of consistency pairs",
                       elm_dataset_path(ds));
    if (i >= elm_dataset_count(ds))
        return elm_err(ELM_E_INVALID, "%s: elm_dataset_pair: index %zu out of range (size %zu)",
                       elm_dataset_path(ds), i, elm_dataset_count(ds));
    *prompt = elm_dataset_prompt_at(ds, i);
    *continuation = elm_dataset_continuation_at(ds, i);
    return ELM_OK;
}

elm_status elm_keywords_read(const char *path, const char *key, char **concept)
{
    ELM_CHECK_ARG(concept, "concept");
    *concept = NULL;
    ELM_CHECK_ARG(path && path[0], "path");
    return elm_keywords_load(path, key, concept);
}
