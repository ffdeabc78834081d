/* The baseline objectives of erase.objective (docs/erase.md, "Baselines"):
 * rmu (Li et al. 2024), grad_diff and npo (Zhang et al. 2024), on the same
 * LoRA, optimizer, data groups and sessions as ELM. One micro-step = one
 * forget text and, when its group has one, one retain text; each term is
 * back-propagated on its own (gradients accumulate over the micro-steps of
 * an optimizer step, as ELM's). */
#include "erase/objective_int.h"

#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *objective_name(elm_objective_kind k)
{
    return k == ELM_OBJ_RMU ? "rmu" : k == ELM_OBJ_GRAD_DIFF ? "grad_diff" : "npo";
}

/* The PRNG stream of RMU's u: runtime.seed mixed with this constant, so that
 * it is not the template stream's (which starts from runtime.seed itself). */
#define RMU_SEED_MIX 0x524d552d75766563ull /* "RMU-uvec" */

/* c * u: v_i uniform in [0, 1) with 24 bits (torch.rand's float32 grid),
 * v_i = (next >> 40) / 2^24, then u = v / ||v|| (float64), c*u rounded to
 * float32. tools/reference/baselines_reference.py draws the same. */
static elm_status rmu_vector(elm_erase *e)
{
    const int64_t E = e->m->cfg.n_embd;
    double *v = malloc((size_t)E * sizeof *v);
    e->rmu_cu = malloc((size_t)E * sizeof *e->rmu_cu);
    if (!v || !e->rmu_cu) {
        free(v);
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    }
    elm_prng p;
    elm_prng_seed(&p, e->o.seed ^ RMU_SEED_MIX);
    double ss = 0;
    for (int64_t i = 0; i < E; i++) {
        v[i] = (double)(elm_prng_next(&p) >> 40) / 16777216.0;
        ss += v[i] * v[i];
    }
    const double norm = sqrt(ss);
    for (int64_t i = 0; i < E; i++)
        e->rmu_cu[i] = (float)(e->o.rmu_coeff * (v[i] / norm));
    free(v);
    return ELM_OK;
}

elm_status elm_baseline_init(elm_erase *e)
{
    const elm_erase_opts *o = &e->o;
    const char *name = objective_name(o->objective);
    if (o->frozen_cache && o->frozen_cache[0])
        return elm_err(ELM_E_INVALID, "erase.frozen_cache: stores the elm objective's frozen passes only; "
                                      "erase.objective %s cannot use it (set it empty)", name);
    if (o->prefix_cache)
        return elm_err(ELM_E_INVALID, "erase.prefix_cache: the elm objective's expert/novice prefixes only; "
                                      "erase.objective %s has none (set it false)", name);
    if (o->retain_soft)
        return elm_err(ELM_E_INVALID, "erase.retain_loss soft: the elm objective's; erase.objective %s has its "
                                      "own retain term (docs/erase.md)", name);
    if (o->objective != ELM_OBJ_RMU)
        return ELM_OK;
    const int L = e->m->cfg.n_layers;
    if (o->rmu_layer >= L)
        return elm_err(ELM_E_INVALID, "erase.rmu_layer: %lld is not a decoder layer of this model (0..%d)",
                       (long long)o->rmu_layer, L - 1);
    for (int l = (int)o->rmu_layer + 1; l < e->lora->n_layers; l++)
        for (int mod = 0; mod < ELM_MOD_COUNT; mod++)
            if (ELM_LORA_A(e->lora, l, mod))
                return elm_err(ELM_E_INVALID,
                               "erase.rmu_layer: %lld is below LoRA layer %d (lora.layers%s): the rmu loss reads "
                               "the output of layer %lld, so an adapter above it would get no gradient; put every "
                               "LoRA layer at or below erase.rmu_layer",
                               (long long)o->rmu_layer, l, o->init_from[0] ? ", from lora.init_from" : "",
                               (long long)o->rmu_layer);
    return rmu_vector(e);
}

void elm_baseline_release(elm_erase *e)
{
    free(e->rmu_cu);
    e->rmu_cu = NULL;
}

/* The next text of group g's role for micro-step b, tokenized with the
 * special tokens and cut to erase.max_tokens (no text: the dataset is not
 * attached, *has = 0). */
static elm_status next_ids(elm_erase *e, int b, elm_role role, ids_buf *ids, int *has)
{
    const int g = elm_obj_group_of(e, b);
    ids->v = NULL;
    ids->n = 0;
    *has = 0;
    if (!e->groups[g].ds[role])
        return ELM_OK;
    int64_t idx;
    ELM_TRY(elm_obj_tokenize(e, elm_obj_next_text(e, g, role, &idx), 1, ids));
    if (e->o.max_tokens > 0)
        elm_obj_ids_cut(ids, (size_t)e->o.max_tokens);
    *has = 1;
    return ELM_OK;
}

/* ---- mean next-token NLL terms (grad_diff's two, npo's retain) ---- */

/* The texts of role for micro-steps 0..nb through one trained batch: each
 * text's mean NLL of its ground-truth next tokens (texts of >= 2 tokens),
 * lambda times it back-propagated; value[b] = the NLL (NaN: none). */
static elm_status nll_term(elm_erase *e, int nb, elm_role role, double lambda, const char *term, double *value,
                           int64_t *tokens)
{
    ids_buf *ids = calloc((size_t)nb, sizeof *ids);
    tpass *tp = calloc((size_t)nb, sizeof *tp);
    et_scope *sc = et_scope_new();
    elm_status st = ids && tp && sc ? ELM_OK : elm_err(ELM_E_NOMEM, "erase: out of memory");
    int n = 0;
    for (int b = 0; st == ELM_OK && b < nb; b++) {
        int has;
        value[b] = NAN;
        st = next_ids(e, b, role, &ids[b], &has);
        if (st != ELM_OK || !has || ids[b].n < 2)
            continue;
        tpass *P = &tp[n++];
        P->ids = &ids[b];
        P->r0 = 0;
        P->N = (int64_t)ids[b].n - 1;
        P->L.kind = ROWS_CE;
        P->L.tgt = elm_obj_i64(e, sc, ids[b].v + 1, ids[b].n - 1);
        P->value = &value[b];
        tokens[b] += (int64_t)ids[b].n;
        st = et_scope_check(sc);
    }
    if (st == ELM_OK)
        st = elm_obj_trained_batch(e, sc, tp, n, lambda, term);
    for (int b = 0; ids && b < nb; b++)
        elm_obj_ids_free(&ids[b]);
    free(ids);
    free(tp);
    et_scope_free(sc);
    elm_obj_release_freed();
    return st;
}

static elm_status grad_diff(elm_erase *e, int nb, elm_micro_result *r)
{
    double *v = malloc((size_t)nb * sizeof *v);
    int64_t *tok = calloc((size_t)nb, sizeof *tok);
    elm_status st = v && tok ? ELM_OK : elm_err(ELM_E_NOMEM, "erase: out of memory");
    /* forget: ascent on the NLL, i.e. the term -NLL with weight lambda_erase */
    if (st == ELM_OK)
        st = nll_term(e, nb, ELM_ROLE_FORGET, -e->o.lam_erase, "grad_diff forget", v, tok);
    for (int b = 0; st == ELM_OK && b < nb; b++)
        if (!isnan(v[b])) {
            r[b].erase = -v[b];
            r[b].total += e->o.lam_erase * r[b].erase;
        }
    if (st == ELM_OK)
        st = nll_term(e, nb, ELM_ROLE_RETAIN, e->o.lam_retain, "grad_diff retain", v, tok);
    for (int b = 0; st == ELM_OK && b < nb; b++) {
        if (!isnan(v[b])) {
            r[b].retain = v[b];
            r[b].total += e->o.lam_retain * r[b].retain;
        }
        r[b].tokens += tok[b];
    }
    free(v);
    free(tok);
    return st;
}

/* ---- npo ---- */

/* Sum over the n-1 next tokens of ids of log p(token) under logits lg [n, V]:
 * a [] tensor (autograd when lg has it). */
static et_tensor *seq_logprob(elm_erase *e, et_scope *sc, et_tensor *lg, const ids_buf *ids)
{
    et_tensor *rows = et_narrow(sc, lg, 0, 0, (int64_t)ids->n - 1);
    et_tensor *tgt = elm_obj_i64(e, sc, ids->v + 1, ids->n - 1);
    return et_neg(sc, et_sum_all(sc, et_cross_entropy_rows(sc, rows, tgt, -100)));
}

/* (2/beta) softplus(beta (log pi_theta(x) - log pi_ref(x))) for the forget
 * text of micro-step b, with the whole [n, V] logits; softplus(z) =
 * max(z, 0) + log(1 + exp(-|z|)), in float64. */
static elm_status npo_forget(elm_erase *e, int b, elm_micro_result *r)
{
    ids_buf ids;
    int has;
    ELM_TRY(next_ids(e, b, ELM_ROLE_FORGET, &ids, &has));
    if (!has || ids.n < 2) {
        elm_obj_ids_free(&ids);
        return ELM_OK;
    }
    et_scope *sc = et_scope_new();
    elm_status st = sc ? ELM_OK : elm_err(ELM_E_NOMEM, "erase: out of memory");
    if (st == ELM_OK) {
        const double beta = e->o.npo_beta;
        int prev = et_set_grad_enabled(0);
        et_tensor *ref = et_to(sc, seq_logprob(e, sc, elm_obj_logits(e, sc, ids.v, ids.n, 0), &ids), ET_F64);
        ref = et_detach(sc, ref);
        et_set_grad_enabled(1);
        et_tensor *cur = et_to(sc, seq_logprob(e, sc, elm_obj_logits(e, sc, ids.v, ids.n, 1), &ids), ET_F64);
        et_tensor *z = et_scale(sc, et_sub(sc, cur, ref), beta);
        et_tensor *pos = et_scale(sc, et_add(sc, z, et_abs(sc, z)), 0.5);
        et_tensor *tail = et_log(sc, et_add_scalar(sc, et_exp(sc, et_neg(sc, et_abs(sc, z))), 1.0));
        et_tensor *loss = et_scale(sc, et_add(sc, pos, tail), 2.0 / beta);
        st = elm_obj_backprop(sc, loss, e->o.lam_erase, "npo forget", &r->erase);
        et_set_grad_enabled(prev);
    }
    if (st == ELM_OK) {
        r->total += e->o.lam_erase * r->erase;
        r->tokens += (int64_t)(2 * ids.n);
    }
    et_scope_free(sc);
    elm_obj_ids_free(&ids);
    elm_obj_release_freed();
    return st;
}

static elm_status npo(elm_erase *e, int nb, elm_micro_result *r)
{
    elm_status st = ELM_OK;
    for (int b = 0; st == ELM_OK && b < nb; b++)
        st = npo_forget(e, b, &r[b]);
    double *v = malloc((size_t)nb * sizeof *v);
    int64_t *tok = calloc((size_t)nb, sizeof *tok);
    if (st == ELM_OK && (!v || !tok))
        st = elm_err(ELM_E_NOMEM, "erase: out of memory");
    if (st == ELM_OK)
        st = nll_term(e, nb, ELM_ROLE_RETAIN, e->o.lam_retain, "npo retain", v, tok);
    for (int b = 0; st == ELM_OK && b < nb; b++) {
        if (!isnan(v[b])) {
            r[b].retain = v[b];
            r[b].total += e->o.lam_retain * r[b].retain;
        }
        r[b].tokens += tok[b];
    }
    free(v);
    free(tok);
    return st;
}

/* ---- rmu ---- */

/* The output of decoder layer erase.rmu_layer for ids, [1, n, E] in fp32:
 * the adapted model with autograd (trained) or the frozen one without. No
 * layer above it runs. */
static et_tensor *layer_states(elm_erase *e, et_scope *sc, const ids_buf *ids, int trained)
{
    int64_t shape[2] = {1, (int64_t)ids->n};
    et_tensor *t = et_to(sc, et_from_data(sc, ids->v, ET_I32, 2, shape), ET_I64);
    if (t && e->m->device.kind != 0)
        t = et_to_device(sc, t, e->m->device);
    if (!t)
        return NULL;
    elm_forward_opts fo;
    memset(&fo, 0, sizeof fo);
    et_tensor *h = NULL;
    fo.hidden_layer = (int)e->o.rmu_layer;
    fo.hidden_out = &h;
    fo.stop_at_hidden = 1;
    fo.no_logits = 1;
    fo.lora = trained ? e->lora : NULL;
    e->lora->training = trained;
    int prev = et_set_grad_enabled(trained);
    et_tensor *out = NULL;
    elm_status st = elm_model_forward_ex(e->m, sc, t, &fo, &out);
    et_set_grad_enabled(prev);
    e->lora->training = 0;
    return st == ELM_OK ? et_to(sc, out, ET_F32) : NULL;
}

/* Forget: mean over tokens and hidden dims of (h(x) - c u)^2 (weight
 * lambda_erase); retain: alpha * mean (h(r) - h_frozen(r))^2 (weight
 * lambda_retain). */
static elm_status rmu_one(elm_erase *e, int b, elm_micro_result *r)
{
    ids_buf f, t;
    int has_f, has_r;
    elm_status st = next_ids(e, b, ELM_ROLE_FORGET, &f, &has_f);
    if (st == ELM_OK)
        st = next_ids(e, b, ELM_ROLE_RETAIN, &t, &has_r);
    else
        t.v = NULL;
    et_scope *sc = st == ELM_OK ? et_scope_new() : NULL;
    if (st == ELM_OK && !sc)
        st = elm_err(ELM_E_NOMEM, "erase: out of memory");
    if (st == ELM_OK && has_f && f.n > 0) {
        int64_t es[1] = {e->m->cfg.n_embd};
        et_tensor *cu = et_from_data(sc, e->rmu_cu, ET_F32, 1, es);
        if (cu && e->m->device.kind != 0)
            cu = et_to_device(sc, cu, e->m->device);
        et_tensor *h = layer_states(e, sc, &f, 1);
        st = et_scope_check(sc);
        if (st == ELM_OK && !h)
            st = elm_err(ELM_E_INTERNAL, "erase: rmu: no layer %lld output", (long long)e->o.rmu_layer);
        if (st == ELM_OK) {
            et_tensor *d = et_sub(sc, h, cu);
            int prev = et_set_grad_enabled(1);
            st = elm_obj_backprop(sc, et_mean_all(sc, et_mul(sc, d, d)), e->o.lam_erase, "rmu forget", &r->erase);
            et_set_grad_enabled(prev);
        }
        if (st == ELM_OK) {
            r->total += e->o.lam_erase * r->erase;
            r->tokens += (int64_t)f.n;
        }
    }
    et_scope_free(sc);
    elm_obj_release_freed();
    sc = st == ELM_OK ? et_scope_new() : NULL;
    if (st == ELM_OK && !sc)
        st = elm_err(ELM_E_NOMEM, "erase: out of memory");
    if (st == ELM_OK && has_r && t.n > 0) {
        et_tensor *ref = layer_states(e, sc, &t, 0);
        et_tensor *h = ref ? layer_states(e, sc, &t, 1) : NULL;
        st = et_scope_check(sc);
        if (st == ELM_OK && !h)
            st = elm_err(ELM_E_INTERNAL, "erase: rmu: no layer %lld output", (long long)e->o.rmu_layer);
        if (st == ELM_OK) {
            int prev = et_set_grad_enabled(1);
            et_tensor *d = et_sub(sc, h, et_detach(sc, ref));
            et_tensor *loss = et_scale(sc, et_mean_all(sc, et_mul(sc, d, d)), e->o.rmu_alpha);
            st = elm_obj_backprop(sc, loss, e->o.lam_retain, "rmu retain", &r->retain);
            et_set_grad_enabled(prev);
        }
        if (st == ELM_OK) {
            r->total += e->o.lam_retain * r->retain;
            r->tokens += (int64_t)(2 * t.n);
        }
    }
    et_scope_free(sc);
    elm_obj_ids_free(&f);
    elm_obj_ids_free(&t);
    elm_obj_release_freed();
    return st;
}

elm_status elm_baseline_micro_batch(elm_erase *e, int nb, elm_micro_result *r)
{
    switch (e->o.objective) {
    case ELM_OBJ_GRAD_DIFF:
        return grad_diff(e, nb, r);
    case ELM_OBJ_NPO:
        return npo(e, nb, r);
    case ELM_OBJ_RMU: {
        elm_status st = ELM_OK;
        for (int b = 0; st == ELM_OK && b < nb; b++)
            st = rmu_one(e, b, &r[b]);
        return st;
    }
    default:
        return elm_err(ELM_E_INTERNAL, "erase: objective %d is not a baseline", (int)e->o.objective);
    }
}
