#include "api/guide.h"

#include <string.h>

#include "config/config.h"

elm_status elm_api_guide_load(const elm_config *cfg, elm_api_guide *g)
{
    memset(g, 0, sizeof *g);
    const char *pe = NULL, *pn = NULL, *pr = NULL;
    ELM_TRY(elm_config_string(cfg, ELM_KEY_ERASE_EXPERT_TEMPLATES, &pe));
    ELM_TRY(elm_config_string(cfg, ELM_KEY_ERASE_NOVICE_TEMPLATES, &pn));
    ELM_TRY(elm_config_string(cfg, ELM_KEY_PREPARE_REDIRECT_SENTENCES, &pr));
    elm_status st = elm_templates_load(pe, "erase.expert_templates", elm_builtin_expert, ELM_BUILTIN_TEMPLATES,
                                       &g->expert);
    if (st == ELM_OK)
        st = elm_templates_load(pn, "erase.novice_templates", elm_builtin_novice, ELM_BUILTIN_TEMPLATES, &g->novice);
    if (st == ELM_OK)
        st = elm_lines_load(pr, "prepare.redirect_sentences", elm_guide_builtin_sentences, ELM_GUIDE_SENTENCES,
                            &g->redirect);
    if (st != ELM_OK) {
        elm_api_guide_free(g);
        return st;
    }
    g->tp = (elm_guide_templates){(const char *const *)g->expert.items, g->expert.n,
                                  (const char *const *)g->novice.items, g->novice.n,
                                  (const char *const *)g->redirect.items, g->redirect.n};
    return ELM_OK;
}

void elm_api_guide_free(elm_api_guide *g)
{
    elm_templates_free(&g->expert);
    elm_templates_free(&g->novice);
    elm_templates_free(&g->redirect);
    memset(g, 0, sizeof *g);
}
