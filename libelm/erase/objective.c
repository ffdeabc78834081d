/* One micro-step of the ELM objective (docs/erase.md): erase target from
 * three frozen passes, soft cross-entropy on the adapted model, retain and
 * consistency terms; each term is back-propagated on its own. */
#include "erase/session.h"

#include "core/error.h"
#include "io/dataset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct ids_buf {
    int32_t *v;
    size_t n;
} ids_buf;

static void ids_free(ids_buf *b)
{
    elm_free(b->v);
    b->v = NULL;
    b->n = 0;
}

static elm_status tokenize(elm_erase *e, const char *text, int special, ids_buf *out)
{
    out->v = NULL;
    out->n = 0;
    if (!e->m->tok)
        return elm_err(ELM_E_STATE, "erase: the model has no tokenizer (%s)",
                       e->m->tok_error ? e->m->tok_error : "none loaded");
    return elm_tokenize(e->m->tok, text, strlen(text), special ? ELM_TOKENIZE_ADD_SPECIAL : 0, &out->v,
                        &out->n);
}

/* Keep the first n ids. */
static void ids_cut(ids_buf *b, size_t n)
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
static et_tensor *logits_of(elm_erase *e, et_scope *sc, const int32_t *ids, size_t n, int trained)
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

static et_tensor *i64_tensor(elm_erase *e, et_scope *sc, const int32_t *v, size_t n)
{
    int64_t shape[1] = {(int64_t)n};
    et_tensor *t = et_to(sc, et_from_data(sc, v, ET_I32, 1, shape), ET_I64);
    if (t && e->m->device.kind != 0)
        t = et_to_device(sc, t, e->m->device);
    return t;
}

/* λ·loss backward; *value gets the loss. Non-finite → ELM_E_NUMERIC. */
static elm_status backprop(et_scope *sc, et_tensor *loss, double lambda, const char *term, double *value)
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

static const char *next_text(elm_erase *e, int g, elm_role role, int64_t *index)
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
        elm_status st = tokenize(e, s, 1, out);
        free(s);
        if (st == ELM_OK)
            out->n = out->n > dropped ? out->n - dropped : 0;
        return st;
    }
    ids_buf p, plain;
    ELM_TRY(tokenize(e, prefix, 1, &p));
    elm_status st = tokenize(e, x, 0, &plain);
    if (st == ELM_OK) {
        size_t keep = plain.n > dropped ? plain.n - dropped : 0;
        st = ids_cat(&p, plain.v, keep, out);
    }
    ids_free(&p);
    ids_free(&plain);
    return st;
}

/* The erase target q [N, V] (float64) for x. */
static et_tensor *erase_target(elm_erase *e, et_scope *sc, const ids_buf *x, const ids_buf *ex,
                               const ids_buf *nv)
{
    const elm_erase_opts *o = &e->o;
    const int64_t N = (int64_t)x->n, V = e->m->cfg.n_vocab;
    et_tensor *s;
    if (o->action == ELM_ACTION_RANDOM) {
        int64_t shape[2] = {N, V};
        et_device cpu = {0, 0};
        et_tensor *g = et_zeros(sc, ET_F32, 2, shape, cpu);
        if (!g || et_normal_(g, 0.0, 1.0) != ELM_OK)
            return NULL;
        s = et_log_softmax(sc, et_to(sc, g, ET_F64), -1);
        if (s && e->m->device.kind != 0)
            s = et_to_device(sc, s, e->m->device);
    } else {
        et_tensor *lo = logits_of(e, sc, x->v, x->n, 0);
        et_tensor *le = logits_of(e, sc, ex->v, ex->n, 0);
        et_tensor *lv = logits_of(e, sc, nv->v, nv->n, 0);
        if (!lo || !le || !lv)
            return NULL;
        le = et_narrow(sc, le, 0, (int64_t)ex->n - N, N);
        lv = et_narrow(sc, lv, 0, (int64_t)nv->n - N, N);
        /* divide (not multiply by 1/tau): bit-equal to the reference */
        int64_t one[1] = {1};
        et_tensor *tau = et_full(sc, o->tau, ET_F64, 1, one, e->m->device);
        et_tensor *O = et_log_softmax(sc, et_div(sc, et_to(sc, lo, ET_F64), tau), -1);
        et_tensor *E = et_log_softmax(sc, et_div(sc, et_to(sc, le, ET_F64), tau), -1);
        et_tensor *Vv = et_log_softmax(sc, et_div(sc, et_to(sc, lv, ET_F64), tau), -1);
        double *eta = malloc((size_t)N * sizeof *eta);
        if (!eta) {
            elm_err(ELM_E_NOMEM, "erase: out of memory");
            return NULL;
        }
        if (o->eta_ramp)
            elm_linspace(1.0, o->eta, N, eta);
        else
            for (int64_t t = 0; t < N; t++)
                eta[t] = o->eta;
        int64_t es[2] = {N, 1};
        et_tensor *et = et_from_data(sc, eta, ET_F64, 2, es);
        free(eta);
        if (et && e->m->device.kind != 0)
            et = et_to_device(sc, et, e->m->device);
        et_tensor *d = et_mul(sc, et, et_sub(sc, E, Vv));
        s = o->action == ELM_ACTION_ERASE ? et_sub(sc, O, d) : et_add(sc, O, d);
    }
    if (!s)
        return NULL;
    if (o->top_k > 0 && o->top_k < V) {
        et_tensor *vals = NULL, *idx = NULL;
        if (et_topk(sc, s, o->top_k, -1, &vals, &idx) != ELM_OK)
            return NULL;
        int64_t shape[2] = {N, V};
        et_tensor *ninf = et_full(sc, -INFINITY, ET_F64, 2, shape, e->m->device);
        s = et_scatter(sc, ninf, -1, idx, vals);
    }
    return et_softmax(sc, s, -1);
}

static elm_status erase_term(elm_erase *e, et_scope *sc, int g, int64_t m, elm_micro_result *r)
{
    const elm_erase_opts *o = &e->o;
    int64_t fi;
    const char *x = next_text(e, g, ELM_ROLE_FORGET, &fi);
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
    ids_buf xi = {0}, ex = {0}, nv = {0};
    elm_status st = (exp && nov) ? ELM_OK : elm_err(ELM_E_NOMEM, "erase: out of memory");
    if (st == ELM_OK)
        st = tokenize(e, x, 1, &xi);
    size_t full = xi.n;
    if (st == ELM_OK && o->max_tokens > 0)
        ids_cut(&xi, (size_t)o->max_tokens);
    if (st == ELM_OK && xi.n > 0) {
        st = prefixed_ids(e, exp, x, full - xi.n, &ex);
        if (st == ELM_OK)
            st = prefixed_ids(e, nov, x, full - xi.n, &nv);
        if (st == ELM_OK && (ex.n < xi.n || nv.n < xi.n))
            st = elm_err(ELM_E_INTERNAL, "erase: prefixed text shorter than the text (%zu/%zu < %zu tokens)",
                         ex.n, nv.n, xi.n);
        et_tensor *q = NULL;
        if (st == ELM_OK) {
            int prev = et_set_grad_enabled(0);
            q = erase_target(e, sc, &xi, &ex, &nv);
            et_set_grad_enabled(prev);
            st = et_scope_check(sc);
        }
        if (st == ELM_OK) {
            et_tensor *lt = logits_of(e, sc, xi.v, xi.n, 1);
            et_tensor *loss;
            double h = 0;
            if (o->loss == ELM_LOSS_HARD) {
                loss = et_cross_entropy(sc, lt, et_argmax(sc, q, -1, 0), -100);
            } else {
                loss = et_soft_cross_entropy(sc, lt, et_to(sc, q, ET_F32));
                if (o->loss == ELM_LOSS_KL) {
                    int prev = et_set_grad_enabled(0);
                    et_tensor *lq = et_masked_fill(sc, et_log(sc, q), et_eq_scalar(sc, q, 0.0), 0.0);
                    et_tensor *H = et_mean_all(sc, et_neg(sc, et_sum(sc, et_mul(sc, q, lq), -1, 0)));
                    et_set_grad_enabled(prev);
                    st = et_scope_check(sc);
                    if (st == ELM_OK)
                        st = et_item(H, &h);
                    if (st == ELM_OK)
                        loss = et_add_scalar(sc, loss, -h);
                }
            }
            if (st == ELM_OK)
                st = backprop(sc, loss, o->lam_erase, "erase", &r->erase);
            if (st == ELM_OK) {
                r->total += o->lam_erase * r->erase;
                r->tokens += (int64_t)(2 * xi.n + ex.n + nv.n);
            }
        }
    }
    free(exp);
    free(nov);
    ids_free(&xi);
    ids_free(&ex);
    ids_free(&nv);
    return st;
}

static elm_status retain_term(elm_erase *e, et_scope *sc, int g, elm_micro_result *r)
{
    int64_t ri;
    const char *text = next_text(e, g, ELM_ROLE_RETAIN, &ri);
    ids_buf ids;
    ELM_TRY(tokenize(e, text, 1, &ids));
    if (e->o.max_tokens > 0)
        ids_cut(&ids, (size_t)e->o.max_tokens);
    elm_status st = ELM_OK;
    if (ids.n > 0) {
        et_tensor *ref = logits_of(e, sc, ids.v, ids.n, 0);
        et_tensor *lt = logits_of(e, sc, ids.v, ids.n, 1);
        et_tensor *loss;
        if (e->o.retain_soft) {
            int prev = et_set_grad_enabled(0);
            et_tensor *q = et_softmax(sc, ref, -1);
            et_set_grad_enabled(prev);
            loss = et_soft_cross_entropy(sc, lt, q);
        } else {
            loss = et_cross_entropy(sc, lt, et_argmax(sc, ref, -1, 0), -100);
        }
        st = backprop(sc, loss, e->o.lam_retain, "retain", &r->retain);
        if (st == ELM_OK) {
            r->total += e->o.lam_retain * r->retain;
            r->tokens += (int64_t)(2 * ids.n);
        }
    }
    ids_free(&ids);
    return st;
}

/* Mean NLL of ids[from..n) given what precedes, under the adapted model. */
static elm_status nll_term(elm_erase *e, et_scope *sc, const ids_buf *ids, size_t from, double lambda,
                           const char *term, double *value)
{
    et_tensor *lt = logits_of(e, sc, ids->v, ids->n, 1);
    et_tensor *pred = et_narrow(sc, lt, 0, (int64_t)from - 1, (int64_t)(ids->n - from));
    et_tensor *tgt = i64_tensor(e, sc, ids->v + from, ids->n - from);
    et_tensor *loss = et_cross_entropy(sc, pred, tgt, -100);
    return backprop(sc, loss, lambda, term, value);
}

static elm_status consistency_term(elm_erase *e, et_scope *sc, int g, elm_micro_result *r)
{
    elm_erase_group *G = &e->groups[g];
    size_t k = (size_t)(G->pos[ELM_ROLE_CONSISTENCY] % (int64_t)G->n_pairs);
    G->pos[ELM_ROLE_CONSISTENCY]++;
    size_t i = G->pair_idx[k];
    const elm_dataset *ds = G->ds[ELM_ROLE_CONSISTENCY];
    const char *p = elm_dataset_prompt_at(ds, i), *c = elm_dataset_continuation_at(ds, i);
    ids_buf pi, ci, ids = {0};
    ELM_TRY(tokenize(e, p, 1, &pi));
    elm_status st = tokenize(e, c, 0, &ci);
    if (st == ELM_OK)
        st = ids_cat(&pi, ci.v, ci.n, &ids);
    if (st == ELM_OK && e->o.max_tokens > 0)
        ids_cut(&ids, (size_t)e->o.max_tokens);
    if (st == ELM_OK && pi.n > 0 && ids.n > pi.n) {
        st = nll_term(e, sc, &ids, pi.n, e->o.lam_cons, "consistency", &r->cons);
        if (st == ELM_OK) {
            r->total += e->o.lam_cons * r->cons;
            r->tokens += (int64_t)ids.n;
        }
    }
    ids_free(&pi);
    ids_free(&ci);
    ids_free(&ids);
    return st;
}

static elm_status train_term(elm_erase *e, et_scope *sc, int g, elm_micro_result *r)
{
    int64_t ti;
    const char *text = next_text(e, g, ELM_ROLE_TRAIN, &ti);
    ids_buf ids;
    ELM_TRY(tokenize(e, text, 1, &ids));
    if (e->o.max_tokens > 0)
        ids_cut(&ids, (size_t)e->o.max_tokens);
    elm_status st = ELM_OK;
    if (ids.n >= 2) {
        st = nll_term(e, sc, &ids, 1, 1.0, "train", &r->train);
        if (st == ELM_OK) {
            r->total += r->train;
            r->tokens += (int64_t)ids.n;
        }
    }
    ids_free(&ids);
    return st;
}

elm_status elm_erase_micro_step(elm_erase *e, elm_micro_result *r)
{
    r->erase = r->retain = r->cons = r->train = NAN;
    r->total = 0;
    r->tokens = 0;
    const int64_t m = e->micro;
    const int g = e->o.mix[m % e->o.n_mix];
    elm_erase_group *G = &e->groups[g];
    et_scope *sc = et_scope_new();
    if (!sc)
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    elm_status st = ELM_OK;
    if (e->o.finetune) {
        st = train_term(e, sc, g, r);
    } else {
        st = erase_term(e, sc, g, m, r);
        /* each term's graph is freed before the next is built */
        et_scope_free(sc);
        sc = et_scope_new();
        if (st == ELM_OK && !sc)
            st = elm_err(ELM_E_NOMEM, "erase: out of memory");
        if (st == ELM_OK && G->ds[ELM_ROLE_RETAIN])
            st = retain_term(e, sc, g, r);
        et_scope_free(sc);
        sc = et_scope_new();
        if (st == ELM_OK && !sc)
            st = elm_err(ELM_E_NOMEM, "erase: out of memory");
        if (st == ELM_OK && G->ds[ELM_ROLE_CONSISTENCY] && G->n_pairs > 0)
            st = consistency_term(e, sc, g, r);
    }
    et_scope_free(sc);
    if (st == ELM_OK)
        e->micro++;
    return st;
}
