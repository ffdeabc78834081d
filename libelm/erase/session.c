/* Erasure sessions: creation from the config, data attachment and
 * validation, the optimizer step (docs/erase.md). Save/resume/merge live in
 * checkpoint.c. */
#include "erase/session.h"
#include "erase/objective_int.h"

#include "core/clock.h"
#include "core/error.h"
#include "core/struct_size.h"
#include "core/progress.h"
#include "core/log.h"
#include "io/dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Make the adapter (PEFT init or lora.init_from), its parameter list and
 * the optimizer. */
static elm_status make_adapter(elm_erase *e)
{
    elm_erase_opts *o = &e->o;
    et_manual_seed(o->seed);
    if (o->init_from[0]) {
        ELM_TRY(elm_lora_load_peft(e->m, o->init_from, &e->lora));
        /* the adapter's own rank/alpha/targets/layers; dropout from the config */
        e->lora->dropout = o->dropout;
        int prev = et_set_grad_enabled(0);
        for (int i = 0; i < e->lora->n_layers * ELM_MOD_COUNT; i++) {
            if (e->lora->A[i])
                et_set_requires_grad(e->lora->A[i], 1);
            if (e->lora->B[i])
                et_set_requires_grad(e->lora->B[i], 1);
        }
        et_set_grad_enabled(prev);
    } else {
        ELM_TRY(elm_lora_new(e->m, o->rank, o->alpha, o->dropout, o->layer_mask, o->module_mask, &e->lora));
        ELM_TRY(elm_lora_init_peft(e->lora));
    }
    e->lora->training = 0;
    e->lora->compute_model_dtype = o->lora_model_dtype;
    ELM_TRY(elm_lora_params(e->lora, &e->params, &e->n_params));
    if (e->n_params == 0)
        return elm_err(ELM_E_INVALID, "erase: the adapter has no parameters (lora.layers / lora.targets)");
    e->opt = et_adamw_new(e->params, e->n_params, o->lr, o->beta1, o->beta2, o->eps, o->wd);
    if (!e->opt)
        return elm_err_context(ELM_E_INTERNAL, "erase: optimizer");
    return ELM_OK;
}

elm_status elm_erase_create(elm_model *m, const elm_config *cfg, elm_erase **out)
{
    *out = NULL;
    elm_erase *e = calloc(1, sizeof *e);
    if (!e)
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    elm_model_ref(m);
    e->m = m;
    elm_objective_opts_default(&e->xo);
    elm_status st = cfg ? elm_config_clone(cfg, &e->cfg) : elm_config_new(&e->cfg);
    if (st == ELM_OK)
        st = elm_erase_opts_from_config(e->cfg, m, &e->o);
    if (st == ELM_OK)
        st = elm_templates_load(e->o.expert_file, "erase.expert_templates", elm_builtin_expert,
                                ELM_BUILTIN_TEMPLATES, &e->expert);
    if (st == ELM_OK)
        st = elm_templates_load(e->o.novice_file, "erase.novice_templates", elm_builtin_novice,
                                ELM_BUILTIN_TEMPLATES, &e->novice);
    if (st == ELM_OK)
        st = make_adapter(e);
    if (st == ELM_OK && ELM_OBJ_IS_BASELINE(e->o.objective))
        st = elm_baseline_init(e);
    if (st == ELM_OK)
        st = elm_objective_init(e);
    if (st == ELM_OK) {
        int maxg = 0;
        for (int i = 0; i < e->o.n_mix; i++)
            if (e->o.mix[i] > maxg)
                maxg = e->o.mix[i];
        e->n_groups = maxg + 1;
        e->groups = calloc((size_t)e->n_groups, sizeof *e->groups);
        if (!e->groups)
            st = elm_err(ELM_E_NOMEM, "erase: out of memory");
    }
    elm_prng_seed(&e->prng, e->o.seed);
    if (st != ELM_OK) {
        elm_erase_free(e);
        return st;
    }
    *out = e;
    return ELM_OK;
}

static void group_clear(elm_erase_group *G)
{
    for (int r = 0; r < ELM_N_ROLES; r++)
        elm_dataset_unref(G->ds[r]);
    free(G->pair_idx);
    free(G->concept);
}

void elm_erase_free(elm_erase *e)
{
    if (!e)
        return;
    for (int g = 0; g < e->n_groups; g++)
        group_clear(&e->groups[g]);
    free(e->groups);
    elm_objective_release(e);
    elm_baseline_release(e);
    et_adamw_free(e->opt);
    free(e->params);
    elm_lora_free(e->lora);
    elm_templates_free(&e->expert);
    elm_templates_free(&e->novice);
    elm_erase_opts_free(&e->o);
    elm_config_free(e->cfg);
    elm_model_unref(e->m);
    free(e);
}

static const char *role_name(elm_role r)
{
    switch (r) {
    case ELM_ROLE_FORGET: return "forget";
    case ELM_ROLE_RETAIN: return "retain";
    case ELM_ROLE_CONSISTENCY: return "consistency";
    case ELM_ROLE_TRAIN: return "train";
    }
    return "?";
}

/* Groups beyond the mix are allowed (attach before changing nothing); the
 * array grows as needed. */
static elm_status ensure_group(elm_erase *e, int group)
{
    if (group < e->n_groups)
        return ELM_OK;
    elm_erase_group *g = realloc(e->groups, (size_t)(group + 1) * sizeof *g);
    if (!g)
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    memset(g + e->n_groups, 0, (size_t)(group + 1 - e->n_groups) * sizeof *g);
    e->groups = g;
    e->n_groups = group + 1;
    return ELM_OK;
}

elm_status elm_erase_attach(elm_erase *e, elm_role role, int group, elm_dataset *ds)
{
    if ((int)role < 0 || role >= ELM_N_ROLES)
        return elm_err(ELM_E_INVALID, "elm_session_attach: unknown role %d", (int)role);
    if (group < 0 || group > 1000000)
        return elm_err(ELM_E_INVALID, "elm_session_attach: group %d out of range", group);
    const char *path = elm_dataset_path(ds);
    if (ELM_OBJ_IS_BASELINE(e->o.objective) && role != ELM_ROLE_FORGET && role != ELM_ROLE_RETAIN) {
        return elm_err(ELM_E_INVALID, "erase.objective %s: %s: takes forget and retain datasets only, not a %s "
                                      "dataset", elm_objective_name(e->o.objective), path ? path : "dataset",
                       role_name(role));
    }
    size_t n = elm_dataset_count(ds);
    elm_dataset_kind kind = elm_dataset_kind_of(ds);
    if (role == ELM_ROLE_CONSISTENCY) {
        if (kind != ELM_DATASET_PAIRS)
            return elm_err(ELM_E_INVALID, "elm_session_attach: %s: the consistency role needs a dataset of "
                                          "(prompt, continuation) pairs", path ? path : "dataset");
    } else if (kind != ELM_DATASET_TEXT) {
        return elm_err(ELM_E_INVALID, "elm_session_attach: %s: the %s role needs a text dataset",
                       path ? path : "dataset", role_name(role));
    }
    if (n == 0)
        return elm_err(ELM_E_INVALID, "elm_session_attach: %s: the %s dataset is empty", path ? path : "dataset",
                       role_name(role));
    size_t *idx = NULL, np = 0;
    if (role == ELM_ROLE_CONSISTENCY) {
        /* several groups in the file: this group's pairs only */
        int multi = elm_dataset_n_groups(ds) > 1;
        idx = malloc(n * sizeof *idx);
        if (!idx)
            return elm_err(ELM_E_NOMEM, "erase: out of memory");
        for (size_t i = 0; i < n; i++)
            if (!multi || elm_dataset_group_at(ds, i) == group)
                idx[np++] = i;
        if (np == 0) {
            free(idx);
            return elm_err(ELM_E_INVALID, "elm_session_attach: %s: no consistency pairs for group %d",
                           path ? path : "dataset", group);
        }
    }
    elm_status st = ensure_group(e, group);
    if (st != ELM_OK) {
        free(idx);
        return st;
    }
    elm_erase_group *G = &e->groups[group];
    elm_dataset_unref(G->ds[role]);
    G->ds[role] = elm_dataset_ref(ds);
    G->pos[role] = 0;
    if (role == ELM_ROLE_CONSISTENCY) {
        free(G->pair_idx);
        G->pair_idx = idx;
        G->n_pairs = np;
    }
    return ELM_OK;
}

elm_status elm_erase_set_concept(elm_erase *e, int group, const char *concept)
{
    if (group < 0 || group > 1000000)
        return elm_err(ELM_E_INVALID, "elm_session_set_concept: group %d out of range", group);
    ELM_TRY(ensure_group(e, group));
    char *c = concept ? strdup(concept) : NULL;
    if (concept && !c)
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    free(e->groups[group].concept);
    e->groups[group].concept = c;
    return ELM_OK;
}

elm_status elm_erase_validate(elm_erase *e)
{
    const elm_role need = e->o.finetune ? ELM_ROLE_TRAIN : ELM_ROLE_FORGET;
    int any = 0;
    for (int g = 0; g < e->n_groups; g++)
        any |= e->groups[g].ds[need] != NULL;
    if (!any)
        return elm_err(ELM_E_STATE, e->o.finetune ? "erase: attach a train dataset first (objective finetune)"
                                                  : "erase: attach a forget dataset first");
    for (int i = 0; i < e->o.n_mix; i++) {
        int g = e->o.mix[i];
        if (!e->groups[g].ds[need])
            return elm_err(ELM_E_STATE, "erase.mix: group %d has no %s dataset (mix '%s')", g,
                           role_name(need), "see erase.mix");
        if (e->o.objective == ELM_OBJ_ELM && e->o.action != ELM_ACTION_RANDOM) {
            const char *c = e->groups[g].concept ? e->groups[g].concept : e->o.concept;
            if (!c || !c[0])
                return elm_err(ELM_E_STATE, "erase.concept: empty for group %d (set erase.concept or "
                                            "elm_session_set_concept)", g);
        }
    }
    /* a group given data but left out of the mix would never be trained on */
    for (int g = 0; g < e->n_groups; g++) {
        if (!e->groups[g].ds[need])
            continue;
        int used = 0;
        for (int i = 0; i < e->o.n_mix && !used; i++)
            used = e->o.mix[i] == g;
        if (!used) {
            const char *mix = e->o.mix_text, *path = elm_dataset_path(e->groups[g].ds[need]);
            return elm_err(ELM_E_STATE, "erase.mix: group %d has a %s dataset (%s) but is not in erase.mix '%s': "
                                        "add it, e.g. erase.mix = 0,%d",
                           g, role_name(need), path ? path : "unnamed", mix ? mix : "", g);
        }
    }
    if (e->o.cons_online && !e->cons_source)
        return elm_err(ELM_E_STATE, "erase.consistency online: no generator installed (a session made "
                                    "without elm_session_new)");
    if (!e->m->tok)
        return elm_err(ELM_E_STATE, "erase: the model has no tokenizer (%s)",
                       e->m->tok_error ? e->m->tok_error : "none loaded");
    return ELM_OK;
}

static void drop_grads(elm_erase *e)
{
    for (size_t i = 0; i < e->n_params; i++)
        et_zero_grad(e->params[i]);
}

typedef struct snapshot {
    int64_t micro;
    int64_t *pos;
    elm_prng prng;
    et_scope *sc;
    et_tensor *rng;
} snapshot;

static elm_status snap_take(elm_erase *e, snapshot *s)
{
    s->micro = e->micro;
    s->prng = e->prng;
    s->pos = malloc((size_t)e->n_groups * ELM_N_ROLES * sizeof *s->pos);
    s->sc = et_scope_new();
    if (!s->pos || !s->sc)
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    for (int g = 0; g < e->n_groups; g++)
        memcpy(s->pos + g * ELM_N_ROLES, e->groups[g].pos, sizeof e->groups[g].pos);
    s->rng = et_rng_get_state(s->sc);
    return et_scope_check(s->sc);
}

static void snap_restore(elm_erase *e, snapshot *s)
{
    e->micro = s->micro;
    e->prng = s->prng;
    for (int g = 0; g < e->n_groups; g++)
        memcpy(e->groups[g].pos, s->pos + g * ELM_N_ROLES, sizeof e->groups[g].pos);
    if (s->rng)
        et_rng_set_state(s->rng);
}

static void snap_free(snapshot *s)
{
    free(s->pos);
    et_scope_free(s->sc);
}

typedef struct acc {
    double sum, n;
} acc;

static void acc_add(acc *a, double v)
{
    if (!isnan(v)) {
        a->sum += v;
        a->n += 1;
    }
}

static double acc_mean(const acc *a)
{
    return a->n > 0 ? a->sum / a->n : NAN;
}

elm_status elm_erase_step(elm_erase *e, elm_step_stats *stats)
{
    ELM_TRY(elm_erase_validate(e));
    const double t0 = elm_clock_s();
    if (e->step == 0 && e->t_start == 0)
        e->t_start = t0;
    snapshot snap = {0};
    elm_status st = snap_take(e, &snap);
    acc a_e = {0}, a_r = {0}, a_c = {0}, a_t = {0}, a_tot = {0};
    int64_t tokens = 0;
    int loss_finite = 1; /* every micro-step's total (acc_add skips NaNs) */
    char detail[160];
    const int64_t bmax = e->o.batch > 1 ? e->o.batch : 1;
    elm_micro_result *rs = malloc((size_t)(bmax < e->o.accum ? bmax : e->o.accum) * sizeof *rs);
    if (st == ELM_OK && !rs)
        st = elm_err(ELM_E_NOMEM, "erase: out of memory");
    for (int64_t k0 = 0; st == ELM_OK && k0 < e->o.accum;) {
        const int nb = (int)(e->o.accum - k0 < bmax ? e->o.accum - k0 : bmax);
        st = elm_erase_micro_batch(e, nb, rs);
        for (int j = 0; st == ELM_OK && j < nb; j++) {
            const elm_micro_result r = rs[j];
            const int64_t k = k0 + j;
            acc_add(&a_e, r.erase);
            acc_add(&a_r, r.retain);
            acc_add(&a_c, r.cons);
            acc_add(&a_t, r.train);
            acc_add(&a_tot, r.total);
            if (!isfinite(r.total))
                loss_finite = 0;
            tokens += r.tokens;
            if (e->on_micro)
                e->on_micro(&r, e->on_micro_user);
            if (e->progress) {
                snprintf(detail, sizeof detail, "step %lld micro %lld/%lld loss %.4f",
                         (long long)e->step + 1, (long long)k + 1, (long long)e->o.accum, r.total);
                if (elm_progress_report(e->progress, e->user, "erase", (uint64_t)(e->micro - nb + j + 1),
                                        e->o.steps > 0 ? (uint64_t)(e->o.steps * e->o.accum) : 0, e->t_start,
                                        detail) != 0)
                    st = elm_err(ELM_E_CANCELLED, "erase: cancelled by the progress callback at step %lld "
                                                  "(nothing changed)", (long long)e->step + 1);
            }
        }
        k0 += nb;
    }
    free(rs);
    /* A non-finite loss is refused like a non-finite gradient: the restore
     * below puts back data positions and RNG, drops the gradients, and the
     * optimizer never runs. */
    if (st == ELM_OK && !loss_finite)
        st = elm_err(ELM_E_NUMERIC, "erase: loss not finite at step %lld; step refused", (long long)e->step + 1);
    double norm = 0;
    if (st == ELM_OK) {
        int finite = 1;
        st = et_grad_norm_clip(e->params, e->n_params, e->o.clip, &norm, &finite);
        if (st == ELM_OK && (!finite || !isfinite(norm)))
            st = elm_err(ELM_E_NUMERIC, "erase: gradient not finite at step %lld; step refused",
                         (long long)e->step + 1);
    }
    double lr = elm_lr_at(e->o.lr, e->o.sched, e->o.warmup, e->o.steps, e->step);
    if (st == ELM_OK) {
        et_adamw_set_lr(e->opt, lr);
        st = et_adamw_step(e->opt);
    }
    drop_grads(e);
    if (st != ELM_OK) {
        snap_restore(e, &snap);
        snap_free(&snap);
        return st;
    }
    snap_free(&snap);
    e->step++;
    elm_step_stats *s = &e->last;
    memset(s, 0, sizeof *s);
    s->size = sizeof *s;
    s->step = e->step;
    s->micro_steps = e->micro;
    s->loss = acc_mean(&a_tot);
    s->loss_erase = acc_mean(&a_e);
    s->loss_retain = acc_mean(&a_r);
    s->loss_consistency = acc_mean(&a_c);
    s->loss_train = acc_mean(&a_t);
    s->grad_norm = norm;
    s->lr = lr;
    s->tokens = tokens;
    s->seconds = elm_clock_s() - t0;
    e->have_last = 1;
    if (stats)
        elm_struct_fill(stats, s, sizeof *s);
    return ELM_OK;
}
