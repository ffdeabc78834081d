/* The model's tokenizer, loaded from the same directory or GGUF file. A
 * failure does not fail the model: it is kept and reported by
 * elm_model_tokenizer. */
#include "model/model.h"

#include "core/error.h"
#include "tokenizer/tokenizer.h"

#include <stdlib.h>
#include <string.h>

elm_status elm_model_load_tokenizer(elm_model *m)
{
    m->tok = NULL;
    free(m->tok_error);
    m->tok_error = NULL;
    m->tok_status = elm_tok_load(m->path, &m->tok);
    if (m->tok_status != ELM_OK) {
        m->tok = NULL;
        m->tok_error = strdup(elm_last_error());
        elm_err_clear();
    }
    return m->tok_status;
}

void elm_model_release_tokenizer(elm_model *m)
{
    elm_tokenizer_unref(m->tok);
    m->tok = NULL;
}
