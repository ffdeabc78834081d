/* The model's tokenizer, loaded from the same directory or GGUF file. */
#include "model/model.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

elm_status elm_model_load_tokenizer(elm_model *m, const elm_config *cfg)
{
    (void)cfg;
    m->tok = NULL;
    m->tok_status = elm_err(ELM_E_UNSUPPORTED, "%s: the tokenizer layer is not built yet", m->path);
    free(m->tok_error);
    m->tok_error = strdup(elm_last_error());
    elm_err_clear();
    return m->tok_status;
}

void elm_model_release_tokenizer(elm_model *m)
{
    m->tok = NULL;
}
