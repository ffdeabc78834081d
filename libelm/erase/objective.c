/* One micro-step of the ELM objective (docs/erase.md): erase target from
 * three frozen passes, soft cross-entropy on the adapted model, retain and
 * consistency terms; each term is back-propagated on its own. This file
 * holds the helpers shared with the baselines (erase/objective_int.h) and
 * the phases; the pieces are in prefix_kv.c (prefix K/V), frozen_pass.c
 * (frozen passes), target.c (erase and retain targets), trained_pass.c
 * (trained passes) and target_cache.c (erase.frozen_cache). */
#include "erase/session.h"
#include "erase/objective.h"
#include "erase/objective_int.h"
#include "erase/frozen_cache.h"
#include "erase/frozen_pass.h"
#include "erase/prefix_kv.h"
#include "erase/target.h"
#include "erase/target_cache.h"

#include "core/error.h"
#include "core/log.h"
#include "io/dataset.h"
#include "tokenizer/tokenizer.h"

#include <math.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>

void elm_obj_ids_free(ids_buf *b)
{
    free(b->v);
    b->v = NULL;
    b->n = 0;
}

elm_status elm_obj_tokenize(elm_erase *e, const char *text, int special, ids_buf *out)
{
    out->v = NULL;
    out->n = 0;
    if (!e->m->tok)
        return elm_err(ELM_E_STATE, "erase: the model has no tokenizer (%s)",
                       e->m->tok_error ? e->m->tok_error : "none loaded");
    return elm_tok_encode(e->m->tok, text, strlen(text), special ? ELM_TOKENIZE_ADD_SPECIAL : 0, &out->v,
                          &out->n);
}

/* Keep the first n ids. */
void elm_obj_ids_cut(ids_buf *b, size_t n)
{
    if (b->n > n)
        b->n = n;
}

/* a ⊕ b into a fresh buffer. */
static elm_status ids_cat(const ids_buf *a, const int32_t *b, size_t nb, ids_buf *out)
{
    out->n = a->n + nb;
    out->v = malloc((out->n ? out->n : 1) * sizeof *out->v);
    if (!out->v)
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    memcpy(out->v, a->v, a->n * sizeof *out->v);
    memcpy(out->v + a->n, b, nb * sizeof *out->v);
    return ELM_OK;
}

/* Logits [n, V] (fp32) of ids; trained: with the session's adapter (dropout
 * on), else the frozen base model with gradients off. */
et_tensor *elm_obj_logits(elm_erase *e, et_scope *sc, const int32_t *ids, size_t n, int trained)
{
    int64_t shape[2] = {1, (int64_t)n};
    et_tensor *t = et_from_data(sc, ids, ET_I32, 2, shape);
    t = et_to(sc, t, ET_I64);
    if (e->m->device.kind != 0)
        t = et_to_device(sc, t, e->m->device);
    if (!t)
        return NULL;
    elm_forward_opts fo;
    memset(&fo, 0, sizeof fo);
    fo.hidden_layer = -1;
    fo.lora = trained ? e->lora : NULL;
    fo.use_attached = 0;
    e->lora->training = trained;
    int prev = et_set_grad_enabled(trained);
    et_tensor *lg = elm_model_forward(e->m, sc, t, &fo);
    et_set_grad_enabled(prev);
    e->lora->training = 0;
    int64_t s2[2] = {(int64_t)n, -1};
    return et_reshape(sc, lg, 2, s2);
}

et_tensor *elm_obj_i64(elm_erase *e, et_scope *sc, const int32_t *v, size_t n)
{
    int64_t shape[1] = {(int64_t)n};
    et_tensor *t = et_to(sc, et_from_data(sc, v, ET_I32, 1, shape), ET_I64);
    if (t && e->m->device.kind != 0)
        t = et_to_device(sc, t, e->m->device);
    return t;
}

/* λ·loss backward; *value gets the loss. Non-finite → ELM_E_NUMERIC. */
elm_status elm_obj_backprop(et_scope *sc, et_tensor *loss, double lambda, const char *term, double *value)
{
    ELM_TRY(et_scope_check(sc));
    ELM_TRY(et_item(loss, value));
    if (!isfinite(*value))
        return elm_err(ELM_E_NUMERIC, "erase: %s loss is not finite (%g); step refused", term, *value);
    if (lambda == 0)
        return ELM_OK;
    et_tensor *l = lambda == 1 ? loss : et_scale(sc, loss, lambda);
    ELM_TRY(et_scope_check(sc));
    return et_backward(l);
}

static const char *concept_of(elm_erase *e, int g)
{
    const char *c = e->groups[g].concept;
    return c ? c : e->o.concept;
}

const char *elm_obj_next_text(elm_erase *e, int g, elm_role role, int64_t *index)
{
    elm_erase_group *G = &e->groups[g];
    size_t n = elm_dataset_count(G->ds[role]);
    size_t i = (size_t)(G->pos[role] % (int64_t)n);
    G->pos[role]++;
    *index = (int64_t)i;
    return elm_dataset_text_at(G->ds[role], i);
}

/* Expert/novice ids for prefix + x (docs/erase.md, "alignment"). `dropped`
 * tokens were cut from the end of x's ids by erase.max_tokens. */
static elm_status prefixed_ids(elm_erase *e, const char *prefix, const char *x, size_t dropped,
                               ids_buf *out)
{
    if (!e->o.align_separate) {
        size_t lp = strlen(prefix), lx = strlen(x);
        char *s = malloc(lp + lx + 1);
        if (!s)
            return elm_err(ELM_E_NOMEM, "erase: out of memory");
        memcpy(s, prefix, lp);
        memcpy(s + lp, x, lx + 1);
        elm_status st = elm_obj_tokenize(e, s, 1, out);
        free(s);
        if (st == ELM_OK)
            out->n = out->n > dropped ? out->n - dropped : 0;
        return st;
    }
    ids_buf p, plain;
    ELM_TRY(elm_obj_tokenize(e, prefix, 1, &p));
    elm_status st = elm_obj_tokenize(e, x, 0, &plain);
    if (st == ELM_OK) {
        size_t keep = plain.n > dropped ? plain.n - dropped : 0;
        st = ids_cat(&p, plain.v, keep, out);
    }
    elm_obj_ids_free(&p);
    elm_obj_ids_free(&plain);
    return st;
}

void elm_objective_opts_default(elm_objective_opts *o)
{
    o->dense_target = 0;
    o->batch_frozen = 1;
    o->chunk_rows = 32;
    o->chunk_loss = 1;
    o->share_trunk = 1;
}

void elm_erase_set_objective_opts(elm_erase *e, const elm_objective_opts *o)
{
    e->xo = *o;
}

/* The decoder layer whose input a trained pass may take from a frozen pass
 * over the same ids: the first layer with LoRA (layers below it compute
 * the same in both); 0 when nothing is shared. */
int elm_obj_trunk_layer(const elm_erase *e)
{
    if (!e->xo.share_trunk)
        return 0;
    for (int l = 0; l < e->lora->n_layers; l++)
        for (int mod = 0; mod < ELM_MOD_COUNT; mod++)
            if (ELM_LORA_A(e->lora, l, mod))
                return l;
    return 0;
}

/* fp32 logits [len, V] of positions start .. start+len of batch row b of h
 * [B, T, E], as the model's forward computes them (linear in the compute
 * dtype, then fp32). The compute-dtype logits are dead once converted (with
 * autograd too: the conversion's backward needs nothing), so they are made
 * in a scope of their own; on failure the ops run again in sc, which then
 * records the error. */
et_tensor *elm_obj_logits_rows(elm_erase *e, et_scope *sc, et_tensor *h, int64_t b, int64_t start, int64_t len)
{
    et_scope *ts = et_scope_new();
    et_tensor *r = NULL;
    if (ts) {
        et_tensor *x = et_narrow(ts, et_select(ts, h, 0, b), 0, start, len);
        r = et_share(sc, et_to(ts, et_linear(ts, x, e->m->lm_head, NULL), ET_F32));
        et_scope_free(ts);
    }
    if (!r) {
        et_tensor *x = et_narrow(sc, et_select(sc, h, 0, b), 0, start, len);
        r = et_to(sc, et_linear(sc, x, e->m->lm_head, NULL), ET_F32);
    }
    return r;
}

/* Hand the pages of a finished term's freed tensors back to the system.
 * glibc raises its mmap threshold to the size of each freed mapped block
 * (up to 32 MiB), so after the first [rows, V] tensors are freed, tensors
 * of that size come from its arenas, and what a term frees stays resident
 * there under the next term's differently shaped tensors (measured on a
 * SmolLM2 bf16 step: peak RSS +250 MiB). A no-op elsewhere. */
void elm_obj_release_freed(void)
{
#if defined(__GLIBC__)
    (void)malloc_trim(0);
#endif
}

/* Rows of vocabulary-sized work done at a time (erase/objective.h). */
int64_t elm_obj_chunk_rows(const elm_erase *e)
{
    return e->xo.chunk_rows > 0 ? e->xo.chunk_rows : 32;
}

/* ---- the terms, for micro-steps e->micro .. e->micro+nb-1 ---- */

int elm_obj_group_of(const elm_erase *e, int b)
{
    return e->o.mix[(e->micro + b) % e->o.n_mix];
}

typedef struct erase_item {
    int has;                    /* the text has tokens */
    ids_buf xi, ex, nv;
    const pkv_entry *pe, *pv;   /* prefix K/V to reuse, or NULL */
    et_tensor *q, *idx, *trunk;
    int cached;                 /* q, idx came from erase.frozen_cache */
    elm_fcache_key key;         /* its key there */
    char *exp, *nov;            /* the filled templates */
} erase_item;

/* The retain texts of a micro-step batch: picked and looked up in
 * erase.frozen_cache first (retain_prepare), their frozen pass run in the
 * erase term's frozen batch (retain_targets), trained after the erase term
 * (retain_train). */
typedef struct retain_set {
    int nb;
    ids_buf *ids;
    int *has;               /* 1: tokens, 2: labels from erase.frozen_cache */
    elm_fcache_key *keys;
    et_tensor **tgt, **trunk;
    frow *rows;             /* frozen rows of the texts without stored labels */
    int n;                  /* their count */
    et_scope *sc;           /* owns tgt and trunk */
} retain_set;

static void retain_free(retain_set *R)
{
    for (int b = 0; R->ids && b < R->nb; b++)
        elm_obj_ids_free(&R->ids[b]);
    for (int b = 0; R->keys && b < R->nb; b++)
        elm_fcache_key_free(&R->keys[b]);
    free(R->ids);
    free(R->has);
    free(R->keys);
    free(R->tgt);
    free(R->trunk);
    free(R->rows);
    et_scope_free(R->sc);
    memset(R, 0, sizeof *R);
}

static elm_status retain_prepare(elm_erase *e, int nb, retain_set *R)
{
    memset(R, 0, sizeof *R);
    R->nb = nb;
    R->ids = calloc((size_t)nb, sizeof *R->ids);
    R->has = calloc((size_t)nb, sizeof *R->has);
    R->keys = calloc((size_t)nb, sizeof *R->keys);
    R->tgt = calloc((size_t)nb, sizeof *R->tgt);
    R->trunk = calloc((size_t)nb, sizeof *R->trunk);
    R->rows = calloc((size_t)nb, sizeof *R->rows);
    R->sc = et_scope_new();
    if (!R->ids || !R->has || !R->keys || !R->tgt || !R->trunk || !R->rows || !R->sc)
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    const int fc = elm_obj_fc_retain_on(e);
    elm_status st = ELM_OK;
    for (int b = 0; st == ELM_OK && b < nb; b++) {
        const int g = elm_obj_group_of(e, b);
        if (!e->groups[g].ds[ELM_ROLE_RETAIN])
            continue;
        int64_t ri;
        const char *text = elm_obj_next_text(e, g, ELM_ROLE_RETAIN, &ri);
        ids_buf *ids = &R->ids[b];
        st = elm_obj_tokenize(e, text, 1, ids);
        if (st == ELM_OK && e->o.max_tokens > 0)
            elm_obj_ids_cut(ids, (size_t)e->o.max_tokens);
        if (st != ELM_OK || ids->n == 0)
            continue;
        R->has[b] = 1;
        if (fc) {
            int found = 0;
            st = elm_obj_fc_retain_get(e, R->sc, ids, &R->keys[b], &R->tgt[b], &found);
            if (found) {
                R->has[b] = 2;
                continue;
            }
        }
        R->rows[R->n] = elm_obj_frozen_row(ids, NULL, 0);
        R->rows[R->n].want_trunk = 1;
        R->n++;
    }
    return st;
}

/* Labels (and trunks) of the texts without stored labels from their frozen
 * final hidden states h[0..R->n) and trunks tr (stored in the cache). */
static elm_status retain_targets(elm_erase *e, retain_set *R, et_tensor *const *h, et_tensor *const *tr)
{
    elm_status st = ELM_OK;
    int prev = et_set_grad_enabled(0);
    for (int b = 0, f = 0; st == ELM_OK && b < R->nb; b++)
        if (R->has[b] == 1) {
            st = elm_obj_retain_target(e, R->sc, (int64_t)R->ids[b].n, h[f], &R->tgt[b]);
            if (st == ELM_OK && tr[f]) {
                R->trunk[b] = et_share(R->sc, tr[f]);
                st = et_scope_check(R->sc);
            }
            if (st == ELM_OK && elm_obj_fc_retain_on(e))
                elm_obj_fc_put(e, &R->keys[b], &R->tgt[b], 1);
            f++;
        }
    et_set_grad_enabled(prev);
    return st;
}

static elm_status retain_train(elm_erase *e, retain_set *R, elm_micro_result *r)
{
    tpass *tp = calloc((size_t)R->nb, sizeof *tp);
    et_scope *sc = et_scope_new();
    elm_status st = tp && sc ? ELM_OK : elm_err(ELM_E_NOMEM, "erase: out of memory");
    int n = 0;
    for (int b = 0; st == ELM_OK && b < R->nb; b++)
        if (R->has[b]) {
            tpass *P = &tp[n++];
            P->L.kind = e->o.retain_soft ? ROWS_SOFT : ROWS_CE;
            P->L.tgt = P->L.q = R->tgt[b];
            P->trunk = R->trunk[b];
            P->ids = &R->ids[b];
            P->r0 = 0;
            P->N = (int64_t)R->ids[b].n;
            P->value = &r[b].retain;
        }
    if (st == ELM_OK)
        st = elm_obj_trained_batch(e, sc, tp, n, e->o.lam_retain, "retain");
    for (int b = 0; st == ELM_OK && b < R->nb; b++)
        if (R->has[b]) {
            r[b].total += e->o.lam_retain * r[b].retain;
            r[b].tokens += (int64_t)(2 * R->ids[b].n);
        }
    free(tp);
    et_scope_free(sc);
    return st;
}

/* The erase term of a micro-step batch; its frozen batch also runs the
 * retain texts' frozen passes (R, prepared; their labels are left in R). */
static elm_status erase_phase(elm_erase *e, int nb, elm_micro_result *r, retain_set *R)
{
    const elm_erase_opts *o = &e->o;
    erase_item *it = calloc((size_t)nb, sizeof *it);
    tpass *tp = calloc((size_t)nb, sizeof *tp);
    const size_t nrows = (size_t)nb * 3 + (size_t)R->n;
    frow *rows = calloc(nrows, sizeof *rows);
    et_tensor **h = calloc(nrows, sizeof *h), **tr = calloc(nrows, sizeof *tr);
    et_scope *sc = et_scope_new();
    elm_status st = it && tp && rows && h && tr && sc ? ELM_OK : elm_err(ELM_E_NOMEM, "erase: out of memory");
    /* texts and template draws, in micro-step order */
    for (int b = 0; st == ELM_OK && b < nb; b++) {
        const int64_t m = e->micro + b;
        const int g = elm_obj_group_of(e, b);
        int64_t fi;
        const char *x = elm_obj_next_text(e, g, ELM_ROLE_FORGET, &fi);
        size_t ei, vi;
        if (o->tmpl_cycle) {
            ei = (size_t)(m % (int64_t)e->expert.n);
            vi = (size_t)(m % (int64_t)e->novice.n);
        } else {
            ei = elm_prng_below(&e->prng, (uint32_t)e->expert.n);
            vi = elm_prng_below(&e->prng, (uint32_t)e->novice.n);
        }
        const char *concept = concept_of(e, g);
        char *exp = elm_template_fill(e->expert.items[ei], concept);
        char *nov = elm_template_fill(e->novice.items[vi], concept);
        erase_item *I = &it[b];
        st = (exp && nov) ? ELM_OK : elm_err(ELM_E_NOMEM, "erase: out of memory");
        if (st == ELM_OK)
            st = elm_obj_tokenize(e, x, 1, &I->xi);
        size_t full = I->xi.n;
        if (st == ELM_OK && o->max_tokens > 0)
            elm_obj_ids_cut(&I->xi, (size_t)o->max_tokens);
        if (st == ELM_OK && I->xi.n > 0) {
            st = prefixed_ids(e, exp, x, full - I->xi.n, &I->ex);
            if (st == ELM_OK)
                st = prefixed_ids(e, nov, x, full - I->xi.n, &I->nv);
            if (st == ELM_OK && (I->ex.n < I->xi.n || I->nv.n < I->xi.n))
                st = elm_err(ELM_E_INTERNAL, "erase: prefixed text shorter than the text (%zu/%zu < %zu tokens)",
                             I->ex.n, I->nv.n, I->xi.n);
            I->has = st == ELM_OK;
        }
        I->exp = exp;
        I->nov = nov;
    }
    /* targets stored by an earlier epoch or run */
    const int fc = st == ELM_OK && elm_obj_fc_erase_on(e);
    for (int b = 0; fc && st == ELM_OK && b < nb; b++) {
        erase_item *I = &it[b];
        if (I->has)
            st = elm_obj_fc_erase_get(e, sc, &I->xi, &I->ex, &I->nv, &I->key, &I->q, &I->idx, &I->cached);
    }
    for (int b = 0; st == ELM_OK && b < nb; b++)
        if (it[b].has && !it[b].cached && o->action != ELM_ACTION_RANDOM) {
            st = elm_obj_prefix_kv(e, it[b].exp, &it[b].pe);
            if (st == ELM_OK)
                st = elm_obj_prefix_kv(e, it[b].nov, &it[b].pv);
        }
    /* the targets: the frozen passes live and die in fs */
    if (st == ELM_OK) {
        int prev = et_set_grad_enabled(0);
        int n = 0;
        for (int b = 0; o->action != ELM_ACTION_RANDOM && b < nb; b++)
            if (it[b].has && !it[b].cached) {
                rows[n] = elm_obj_frozen_row(&it[b].xi, NULL, 0);
                rows[n].want_trunk = 1;
                rows[n + 1] = elm_obj_frozen_row(&it[b].ex, it[b].pe, it[b].xi.n);
                rows[n + 2] = elm_obj_frozen_row(&it[b].nv, it[b].pv, it[b].xi.n);
                n += 3;
            }
        const int ne = n;
        for (int i = 0; i < R->n; i++)
            rows[n++] = R->rows[i];
        et_scope *fs = et_scope_new();
        st = fs ? ELM_OK : elm_err(ELM_E_NOMEM, "erase: out of memory");
        if (st == ELM_OK && n > 0)
            st = elm_obj_frozen_rows(e, fs, rows, n, h, tr);
        if (st == ELM_OK && R->n > 0)
            st = retain_targets(e, R, h + ne, tr + ne);
        for (int b = 0, k = 0; st == ELM_OK && b < nb; b++) {
            if (!it[b].has || it[b].cached)
                continue;
            if (o->action == ELM_ACTION_RANDOM) {
                st = elm_obj_erase_target(e, sc, (int64_t)it[b].xi.n, NULL, &it[b].q, &it[b].idx);
                continue;
            }
            st = elm_obj_erase_target(e, sc, (int64_t)it[b].xi.n, h + k, &it[b].q, &it[b].idx);
            if (st == ELM_OK && tr[k]) {
                it[b].trunk = et_share(sc, tr[k]);
                st = et_scope_check(sc);
            }
            if (st == ELM_OK && fc) {
                et_tensor *two[2] = {it[b].q, it[b].idx};
                elm_obj_fc_put(e, &it[b].key, two, 2);
            }
            k += 3;
        }
        et_scope_free(fs);
        et_set_grad_enabled(prev);
        elm_obj_release_freed();
    }
    /* the trained pass */
    int n = 0;
    for (int b = 0; st == ELM_OK && b < nb; b++) {
        erase_item *I = &it[b];
        if (!I->has)
            continue;
        tpass *P = &tp[n++];
        P->ids = &I->xi;
        P->trunk = I->trunk;
        P->r0 = 0;
        P->N = (int64_t)I->xi.n;
        P->value = &r[b].erase;
        if (o->loss == ELM_LOSS_HARD) {
            P->L.kind = ROWS_CE;
            P->L.tgt = elm_obj_erase_hard_label(e, sc, I->q, I->idx);
            st = et_scope_check(sc);
        } else {
            P->L.kind = I->idx ? ROWS_SPARSE : ROWS_SOFT;
            P->L.q = I->q;
            P->L.idx = I->idx;
            if (o->loss == ELM_LOSS_KL) {
                st = elm_obj_target_entropy(sc, I->q, &P->add);
                P->add = -P->add;
            }
        }
    }
    if (st == ELM_OK)
        st = elm_obj_trained_batch(e, sc, tp, n, o->lam_erase, "erase");
    for (int b = 0; st == ELM_OK && b < nb; b++)
        if (it[b].has) {
            r[b].total += o->lam_erase * r[b].erase;
            r[b].tokens += (int64_t)(2 * it[b].xi.n + it[b].ex.n + it[b].nv.n);
        }
    for (int b = 0; it && b < nb; b++) {
        elm_obj_ids_free(&it[b].xi);
        elm_obj_ids_free(&it[b].ex);
        elm_obj_ids_free(&it[b].nv);
        elm_fcache_key_free(&it[b].key);
        free(it[b].exp);
        free(it[b].nov);
    }
    free(it);
    free(tp);
    free(rows);
    free(h);
    free(tr);
    et_scope_free(sc);
    return st;
}

/* Mean NLL terms, scored on the tokens after a context: consistency (the
 * continuation c after the prompt p) or, with objective finetune, train
 * (every token after the first). */
static elm_status nll_phase(elm_erase *e, int nb, elm_micro_result *r, elm_role role)
{
    const int cons = role == ELM_ROLE_CONSISTENCY;
    ids_buf *ids = calloc((size_t)nb, sizeof *ids);
    size_t *from = calloc((size_t)nb, sizeof *from);
    tpass *tp = calloc((size_t)nb, sizeof *tp);
    et_scope *sc = et_scope_new();
    elm_status st = ids && from && tp && sc ? ELM_OK : elm_err(ELM_E_NOMEM, "erase: out of memory");
    int n = 0;
    for (int b = 0; st == ELM_OK && b < nb; b++) {
        const int g = elm_obj_group_of(e, b);
        elm_erase_group *G = &e->groups[g];
        if (cons) {
            const char *pt, *ct;
            if (G->ds[ELM_ROLE_CONSISTENCY] && G->n_pairs > 0) {
                size_t k = (size_t)(G->pos[ELM_ROLE_CONSISTENCY] % (int64_t)G->n_pairs);
                G->pos[ELM_ROLE_CONSISTENCY]++;
                size_t i = G->pair_idx[k];
                const elm_dataset *ds = G->ds[ELM_ROLE_CONSISTENCY];
                pt = elm_dataset_prompt_at(ds, i);
                ct = elm_dataset_continuation_at(ds, i);
            } else if (e->o.cons_online && e->cons_source && G->ds[ELM_ROLE_FORGET] && e->o.lam_cons != 0) {
                /* erase.py without a pregenerated file: the pair of the
                 * forget text this group's counter is at */
                const elm_dataset *fd = G->ds[ELM_ROLE_FORGET];
                size_t k = (size_t)(G->pos[ELM_ROLE_CONSISTENCY] % (int64_t)elm_dataset_count(fd));
                G->pos[ELM_ROLE_CONSISTENCY]++;
                st = e->cons_source(e->cons_user, g, k, elm_dataset_text_at(fd, k), concept_of(e, g), &pt, &ct);
                if (st != ELM_OK)
                    break;
            } else {
                continue;
            }
            ids_buf pi, ci;
            st = elm_obj_tokenize(e, pt, 1, &pi);
            if (st == ELM_OK && e->o.cons_reference) {
                /* erase.py: tok(prompt + continuation) as one string, L = len(tok(prompt));
                 * logits[L:][:-1] against ids[L:][1:]: scored from ids[L + 1] on */
                size_t lp = strlen(pt), lc = strlen(ct);
                char *joint = malloc(lp + lc + 1);
                if (!joint) {
                    st = elm_err(ELM_E_NOMEM, "erase: out of memory");
                } else {
                    memcpy(joint, pt, lp);
                    memcpy(joint + lp, ct, lc + 1);
                    st = elm_obj_tokenize(e, joint, 1, &ids[b]);
                    free(joint);
                }
                from[b] = pi.n + 1;
                elm_obj_ids_free(&pi);
            } else if (st == ELM_OK) {
                st = elm_obj_tokenize(e, ct, 0, &ci);
                if (st == ELM_OK)
                    st = ids_cat(&pi, ci.v, ci.n, &ids[b]);
                from[b] = pi.n;
                elm_obj_ids_free(&pi);
                elm_obj_ids_free(&ci);
            }
        } else {
            int64_t ti;
            st = elm_obj_tokenize(e, elm_obj_next_text(e, g, ELM_ROLE_TRAIN, &ti), 1, &ids[b]);
            from[b] = 1;
        }
        if (st == ELM_OK && e->o.max_tokens > 0)
            elm_obj_ids_cut(&ids[b], (size_t)e->o.max_tokens);
        if (st == ELM_OK && from[b] > 0 && ids[b].n > from[b]) {
            tpass *P = &tp[n++];
            P->ids = &ids[b];
            P->r0 = (int64_t)from[b] - 1;
            P->N = (int64_t)(ids[b].n - from[b]);
            P->L.kind = ROWS_CE;
            P->L.tgt = elm_obj_i64(e, sc, ids[b].v + from[b], ids[b].n - from[b]);
            P->value = cons ? &r[b].cons : &r[b].train;
            st = et_scope_check(sc);
        } else
            from[b] = 0;
    }
    const double lambda = cons ? e->o.lam_cons : 1.0;
    if (st == ELM_OK)
        st = elm_obj_trained_batch(e, sc, tp, n, lambda, cons ? "consistency" : "train");
    for (int b = 0; st == ELM_OK && b < nb; b++)
        if (from[b] > 0) {
            r[b].total += lambda * (cons ? r[b].cons : r[b].train);
            r[b].tokens += (int64_t)ids[b].n;
        }
    for (int b = 0; ids && b < nb; b++)
        elm_obj_ids_free(&ids[b]);
    free(ids);
    free(from);
    free(tp);
    et_scope_free(sc);
    return st;
}

elm_status elm_erase_micro_batch(elm_erase *e, int nb, elm_micro_result *r)
{
    if (nb < 1 || !r)
        return elm_err(ELM_E_INVALID, "erase: micro-batch of %d", nb);
    for (int b = 0; b < nb; b++) {
        r[b].erase = r[b].retain = r[b].cons = r[b].train = NAN;
        r[b].total = 0;
        r[b].tokens = 0;
    }
    elm_status st;
    if (e->o.finetune) {
        st = nll_phase(e, nb, r, ELM_ROLE_TRAIN);
    } else if (ELM_OBJ_IS_BASELINE(e->o.objective)) {
        st = elm_baseline_micro_batch(e, nb, r);
    } else {
        /* each term's graph is freed before the next is built */
        retain_set R;
        st = retain_prepare(e, nb, &R);
        if (st == ELM_OK)
            st = erase_phase(e, nb, r, &R);
        elm_obj_release_freed();
        if (st == ELM_OK)
            st = retain_train(e, &R, r);
        retain_free(&R);
        elm_obj_release_freed();
        if (st == ELM_OK)
            st = nll_phase(e, nb, r, ELM_ROLE_CONSISTENCY);
    }
    elm_obj_release_freed();
    if (st == ELM_OK)
        e->micro += nb;
    return st;
}

elm_status elm_erase_micro_step(elm_erase *e, elm_micro_result *r)
{
    return elm_erase_micro_batch(e, 1, r);
}

elm_status elm_objective_init(elm_erase *e)
{
    const char *dir = e->o.frozen_cache;
    if (!dir || !dir[0] || e->o.finetune)
        return ELM_OK;
    elm_status st = elm_fcache_open(dir, e->m, &e->fcache);
    return st == ELM_OK ? ELM_OK : elm_err_context(st, "erase.frozen_cache");
}

void elm_objective_release(elm_erase *e)
{
    elm_obj_pkv_free(e->pkv);
    e->pkv = NULL;
    if (e->fcache) {
        elm_fcache_stats fs;
        elm_fcache_stats_get(e->fcache, &fs);
        elm_log(ELM_LOG_INFO,
                "erase.frozen_cache %s: %lld hits, %lld misses (%lld damaged), %lld stored; model fingerprint %.2f s",
                e->o.frozen_cache, (long long)fs.hits, (long long)fs.misses, (long long)fs.damaged,
                (long long)fs.stores, fs.fingerprint_s);
        elm_fcache_free(e->fcache);
        e->fcache = NULL;
    }
}
