/* Public erasure-session handles over erase/session: argument checks, the
 * magic tag, the adapter hand-over to the model, and, for erase.consistency
 * = online, the generator (generate/online.h) the erase layer calls for its
 * pairs: erase and generate are siblings, so they meet here. */
#include "api/guide.h"
#include "config/config.h"
#include "core/error.h"
#include "core/struct_size.h"
#include "erase/session.h"
#include "generate/online.h"
#include "generate/prepare_opts.h"
#include "io/atomic.h"
#include "io/dataset.h"
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

#define ELM_SESSION_MAGIC 0x53534c45u /* "ELSS" */

struct elm_session {
    uint32_t magic;
    elm_erase *e;
    elm_cons_online *online; /* erase.consistency = online, else NULL */
};

static elm_status check(const elm_session *s, const char *fn)
{
    if (!s)
        return elm_err(ELM_E_INVALID, "%s: session is NULL", fn);
    if (s->magic != ELM_SESSION_MAGIC || !s->e)
        return elm_err(ELM_E_INVALID, "%s: not a session handle (freed or corrupted?)", fn);
    return ELM_OK;
}

static elm_status online_pair(void *user, int group, size_t index, const char *text, const char *concept,
                              const char **prompt, const char **cont)
{
    return elm_cons_online_get(user, group, index, text, concept, prompt, cont);
}

/* The generator of erase.consistency = online: prepare.* and gen.seed as
 * `elm prepare-consistency` reads them, the same templates, the cache file
 * erase.consistency_cache. */
static elm_status online_install(elm_session *s, elm_model *model, const elm_config *cfg)
{
    elm_prepare_opts po;
    const char *cache = NULL;
    ELM_TRY(elm_prepare_opts_from_config(cfg, &po));
    ELM_TRY(elm_config_string(cfg, ELM_KEY_ERASE_CONSISTENCY_CACHE, &cache));
    elm_api_guide g;
    ELM_TRY(elm_api_guide_load(cfg, &g));
    elm_status st = elm_cons_online_new(model, &po, &g.tp, cache, &s->online);
    elm_api_guide_free(&g);
    if (st != ELM_OK)
        return st;
    s->e->cons_source = online_pair;
    s->e->cons_user = s->online;
    return ELM_OK;
}

elm_status elm_session_new(elm_model *model, const elm_config *cfg, elm_session **out)
{
    ELM_CHECK_ARG(out, "out");
    *out = NULL;
    ELM_TRY(elm_model_check(model, "elm_session_new"));
    elm_session *s = calloc(1, sizeof *s);
    if (!s)
        return elm_err(ELM_E_NOMEM, "elm_session_new: out of memory");
    elm_status st = elm_erase_create(model, cfg, &s->e);
    if (st != ELM_OK) {
        free(s);
        return st;
    }
    if (s->e->o.cons_online && (st = online_install(s, model, cfg)) != ELM_OK) {
        elm_erase_free(s->e);
        free(s);
        return st;
    }
    s->magic = ELM_SESSION_MAGIC;
    *out = s;
    return ELM_OK;
}

void elm_session_free(elm_session *s)
{
    if (!s || s->magic != ELM_SESSION_MAGIC)
        return;
    s->magic = 0;
    elm_erase_free(s->e);
    s->e = NULL;
    elm_cons_online_free(s->online);
    free(s);
}

elm_status elm_session_attach(elm_session *s, elm_role role, int group, elm_dataset *ds)
{
    ELM_TRY(check(s, "elm_session_attach"));
    ELM_CHECK_ARG(ds, "ds");
    ELM_TRY(elm_dataset_check(ds, "elm_session_attach"));
    return elm_erase_attach(s->e, role, group, ds);
}

elm_status elm_session_set_concept(elm_session *s, int group, const char *concept)
{
    ELM_TRY(check(s, "elm_session_set_concept"));
    return elm_erase_set_concept(s->e, group, concept);
}

elm_status elm_session_set_progress(elm_session *s, elm_progress_fn fn, void *user)
{
    ELM_TRY(check(s, "elm_session_set_progress"));
    s->e->progress = fn;
    s->e->user = user;
    return ELM_OK;
}

elm_status elm_session_step(elm_session *s, elm_step_stats *stats)
{
    ELM_TRY(check(s, "elm_session_step"));
    if (stats) /* NULL: no statistics wanted */
        ELM_TRY(elm_struct_check("elm_session_step", "stats", stats));
    return elm_erase_step(s->e, stats);
}

elm_status elm_session_save(elm_session *s, const char *dir)
{
    ELM_TRY(check(s, "elm_session_save"));
    ELM_CHECK_ARG(dir && dir[0], "dir");
    return elm_erase_save(s->e, dir);
}

elm_status elm_session_resume(elm_session *s, const char *dir)
{
    ELM_TRY(check(s, "elm_session_resume"));
    ELM_CHECK_ARG(dir && dir[0], "dir");
    /* A save killed between its two renames leaves the state under its
     * backup name: put it back first (one lstat when nothing is amiss). */
    ELM_TRY(elm_atomic_dir_prepare_read(dir));
    return elm_erase_resume(s->e, dir);
}

elm_status elm_session_save_merged(elm_session *s, const char *dir)
{
    ELM_TRY(check(s, "elm_session_save_merged"));
    ELM_CHECK_ARG(dir && dir[0], "dir");
    return elm_erase_save_merged(s->e, dir);
}

/* A detached copy of the adapter that the model owns from now on. */
static elm_status lora_clone(const elm_lora *src, elm_lora **out)
{
    elm_lora *l = calloc(1, sizeof *l);
    if (!l)
        return elm_err(ELM_E_NOMEM, "elm_session_apply_to_model: out of memory");
    *l = *src;
    l->training = 0;
    size_t n = (size_t)src->n_layers * ELM_MOD_COUNT;
    l->scope = et_scope_new();
    l->A = calloc(n, sizeof *l->A);
    l->B = calloc(n, sizeof *l->B);
    if (!l->scope || !l->A || !l->B) {
        elm_lora_free(l);
        return elm_err(ELM_E_NOMEM, "elm_session_apply_to_model: out of memory");
    }
    int prev = et_set_grad_enabled(0);
    for (size_t i = 0; i < n; i++) {
        if (src->A[i])
            l->A[i] = et_clone(l->scope, et_detach(l->scope, src->A[i]));
        if (src->B[i])
            l->B[i] = et_clone(l->scope, et_detach(l->scope, src->B[i]));
    }
    et_set_grad_enabled(prev);
    elm_status st = et_scope_check(l->scope);
    if (st != ELM_OK) {
        elm_lora_free(l);
        return st;
    }
    *out = l;
    return ELM_OK;
}

elm_status elm_session_apply_to_model(elm_session *s)
{
    ELM_TRY(check(s, "elm_session_apply_to_model"));
    elm_lora *copy = NULL;
    ELM_TRY(lora_clone(s->e->lora, &copy));
    elm_model *m = s->e->m;
    elm_lora *old = m->adapter;
    m->adapter = copy;
    elm_lora_free(old);
    return ELM_OK;
}
