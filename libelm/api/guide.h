/* The templates of erase-guided generation as the config names them: the
 * erase layer's expert/novice sets (built-in or erase.*_templates files) and
 * the change-of-subject sentences (prepare.redirect_sentences), for both
 * callers of the generator: elm_prepare_consistency (a file) and a session
 * with erase.consistency = online. */
#ifndef ELM_API_GUIDE_H
#define ELM_API_GUIDE_H

#include "elm.h"
#include "erase/templates.h"
#include "generate/generate.h"

typedef struct elm_api_guide {
    elm_template_set expert, novice, redirect;
    elm_guide_templates tp; /* views of the three sets */
} elm_api_guide;

/* Errors name the key and the file (elm_templates_load, elm_lines_load). */
elm_status elm_api_guide_load(const elm_config *cfg, elm_api_guide *g);
void elm_api_guide_free(elm_api_guide *g);

#endif
