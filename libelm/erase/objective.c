/* One micro-step of the ELM objective (docs/erase.md): erase target from
 * three frozen passes, soft cross-entropy on the adapted model, retain and
 * consistency terms; each term is back-propagated on its own. */
#include "erase/session.h"
#include "erase/objective.h"

#include "core/error.h"
#include "io/dataset.h"

#include <math.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
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

int elm_objective_dense_target = 0;
int elm_objective_batch_frozen = 1;
int elm_objective_chunk_rows = 32;
int elm_objective_chunk_loss = 1;
int elm_objective_share_trunk = 1;
long elm_objective_trunk_passes = 0;

/* The decoder layer whose input a trained pass may take from a frozen pass
 * over the same ids: the first layer with LoRA (layers below it compute
 * the same in both); 0 when nothing is shared. */
static int trunk_layer(const elm_erase *e)
{
    if (!elm_objective_share_trunk)
        return 0;
    for (int l = 0; l < e->lora->n_layers; l++)
        for (int mod = 0; mod < ELM_MOD_COUNT; mod++)
            if (ELM_LORA_A(e->lora, l, mod))
                return l;
    return 0;
}

/* Hidden states after the final norm (compute dtype) of the frozen base
 * model for nseq sequences, gradients off; out[i] = [1, T, E] for sequence
 * i (T its own length when not batched, the longest when batched). Batched:
 * one forward of the sequences right-padded to the longest, with an
 * attention mask (a real position never attends to a later one, so the
 * padding changes nothing but the kernels' blocking). The tensors belong
 * to sc.
 * trunk (may be NULL): also the input of layer trunk_layer(e) for seq[0]
 * ([1, T_0, E]; NULL when that is 0), for the trained pass over the same
 * ids. */
static elm_status frozen_hidden(elm_erase *e, et_scope *sc, const ids_buf *const *seq, int nseq, int batch,
                                et_tensor **out, et_tensor **trunk)
{
    elm_forward_opts fo;
    memset(&fo, 0, sizeof fo);
    fo.hidden_layer = -1;
    fo.no_logits = 1;
    et_tensor *th = NULL;
    const int tl = trunk ? trunk_layer(e) : 0;
    if (trunk)
        *trunk = NULL;
    e->lora->training = 0;
    int prev = et_set_grad_enabled(0);
    elm_status st = ELM_OK;
    if (!batch || nseq == 1) {
        for (int i = 0; i < nseq && st == ELM_OK; i++) {
            int64_t shape[2] = {1, (int64_t)seq[i]->n};
            et_tensor *t = et_to(sc, et_from_data(sc, seq[i]->v, ET_I32, 2, shape), ET_I64);
            if (t && e->m->device.kind != 0)
                t = et_to_device(sc, t, e->m->device);
            fo.hidden_layer = i == 0 && tl > 0 ? tl - 1 : -1;
            fo.hidden_out = i == 0 && tl > 0 ? &th : NULL;
            out[i] = t ? elm_model_forward(e->m, sc, t, &fo) : NULL;
            st = et_scope_check(sc);
        }
        if (st == ELM_OK && tl > 0)
            *trunk = th;
    } else {
        size_t T = 0;
        int pad = 0;
        for (int i = 0; i < nseq; i++)
            T = seq[i]->n > T ? seq[i]->n : T;
        for (int i = 0; i < nseq; i++)
            pad |= seq[i]->n != T;
        int64_t *ids = calloc((size_t)nseq * T, sizeof *ids), *mask = calloc((size_t)nseq * T, sizeof *mask);
        if (!ids || !mask)
            st = elm_err(ELM_E_NOMEM, "erase: out of memory");
        for (int i = 0; st == ELM_OK && i < nseq; i++)
            for (size_t t = 0; t < seq[i]->n; t++) {
                ids[(size_t)i * T + t] = seq[i]->v[t];
                mask[(size_t)i * T + t] = 1;
            }
        if (st == ELM_OK) {
            int64_t shape[2] = {nseq, (int64_t)T};
            et_tensor *it = et_from_data(sc, ids, ET_I64, 2, shape);
            et_tensor *mt = pad ? et_from_data(sc, mask, ET_I64, 2, shape) : NULL;
            if (it && e->m->device.kind != 0)
                it = et_to_device(sc, it, e->m->device);
            fo.attn_mask = mt;
            fo.hidden_layer = tl > 0 ? tl - 1 : -1;
            fo.hidden_out = tl > 0 ? &th : NULL;
            et_tensor *h = it && (mt || !pad) ? elm_model_forward(e->m, sc, it, &fo) : NULL;
            for (int i = 0; i < nseq; i++)
                out[i] = h ? et_narrow(sc, h, 0, i, 1) : NULL;
            /* right padding: seq[0]'s own positions are as if run alone */
            if (h && tl > 0)
                *trunk = et_contiguous(sc, et_narrow(sc, et_narrow(sc, th, 0, 0, 1), 1, 0, (int64_t)seq[0]->n));
            st = et_scope_check(sc);
        }
        free(ids);
        free(mask);
    }
    et_set_grad_enabled(prev);
    return st;
}

/* fp32 logits [len, V] of positions start .. start+len of h [1, T, E], as
 * the model's forward computes them (linear in the compute dtype, then fp32).
 * The compute-dtype logits are dead once converted (with autograd too: the
 * conversion's backward needs nothing), so they are made in a scope of
 * their own; on failure the ops run again in sc, which then records the
 * error. */
static et_tensor *logits_rows(elm_erase *e, et_scope *sc, et_tensor *h, int64_t start, int64_t len)
{
    et_scope *ts = et_scope_new();
    et_tensor *r = NULL;
    if (ts) {
        et_tensor *x = et_narrow(ts, et_select(ts, h, 0, 0), 0, start, len);
        r = et_share(sc, et_to(ts, et_linear(ts, x, e->m->lm_head, NULL), ET_F32));
        et_scope_free(ts);
    }
    if (!r) {
        et_tensor *x = et_narrow(sc, et_select(sc, h, 0, 0), 0, start, len);
        r = et_to(sc, et_linear(sc, x, e->m->lm_head, NULL), ET_F32);
    }
    return r;
}

/* *out = log_softmax(logits_rows(...) in float64 / tau) [len, V], made in
 * a scope of its own: only the result is left in sc. Divide (not multiply
 * by 1/tau): bit-equal to the reference. */
static elm_status lsm_rows(elm_erase *e, et_scope *sc, et_tensor *h, int64_t start, int64_t len,
                           const et_tensor *tau, et_tensor **out)
{
    *out = NULL;
    et_scope *ts = et_scope_new();
    if (!ts)
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    et_tensor *l = logits_rows(e, ts, h, start, len);
    et_tensor *r = et_log_softmax(ts, et_div(ts, et_to(ts, l, ET_F64), tau), -1);
    elm_status st = et_scope_check(ts);
    if (st == ELM_OK) {
        *out = et_share(sc, r);
        st = et_scope_check(sc);
    }
    et_scope_free(ts);
    return st;
}

/* Hand the pages of a finished term's freed tensors back to the system.
 * glibc raises its mmap threshold to the size of each freed mapped block
 * (up to 32 MiB), so after the first [rows, V] tensors are freed, tensors
 * of that size come from its arenas, and what a term frees stays resident
 * there under the next term's differently shaped tensors (measured on a
 * SmolLM2 bf16 step: peak RSS +250 MiB). A no-op elsewhere. */
static void release_freed(void)
{
#if defined(__GLIBC__)
    (void)malloc_trim(0);
#endif
}

static int64_t chunk_rows(void)
{
    return elm_objective_chunk_rows > 0 ? elm_objective_chunk_rows : 32;
}

/* The erase target for x, built in chunks of rows in scopes of its own; only
 * the result is left in sc. Sparse (0 < top_k < V and not forced dense):
 * *q = the k kept probabilities per row [N, k] (float64, softmax over the
 * top-k values of s: exactly the masked row's softmax, whose other entries
 * are 0) and *idx their vocabulary ids [N, k] (I64, in torch.topk's order).
 * Dense: *q = q [N, V] (float64), *idx = NULL. */
static elm_status erase_target(elm_erase *e, et_scope *sc, const ids_buf *x, const ids_buf *ex,
                               const ids_buf *nv, et_tensor **q_out, et_tensor **idx_out, et_tensor **trunk)
{
    *trunk = NULL;
    const elm_erase_opts *o = &e->o;
    const int64_t N = (int64_t)x->n, V = e->m->cfg.n_vocab;
    const int topk = o->top_k > 0 && o->top_k < V;
    const int sparse = topk && !elm_objective_dense_target;
    *q_out = *idx_out = NULL;
    et_scope *fs = et_scope_new();
    if (!fs)
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    const int64_t C = chunk_rows();
    const int64_t nch = (N + C - 1) / C;
    et_tensor **qs = calloc((size_t)nch, sizeof *qs), **is = calloc((size_t)nch, sizeof *is);
    double *eta = malloc((size_t)N * sizeof *eta);
    elm_status st = qs && is && eta ? ELM_OK : elm_err(ELM_E_NOMEM, "erase: out of memory");
    et_tensor *g = NULL, *h[3] = {NULL, NULL, NULL}, *tau = NULL;
    if (st == ELM_OK && o->action == ELM_ACTION_RANDOM) {
        /* one draw of the whole [N, V] from the global generator, as the reference */
        int64_t shape[2] = {N, V};
        et_device cpu = {0, 0};
        g = et_zeros(fs, ET_F32, 2, shape, cpu);
        st = g ? et_normal_(g, 0.0, 1.0) : et_scope_check(fs);
    } else if (st == ELM_OK) {
        const ids_buf *seq[3] = {x, ex, nv};
        et_tensor *th = NULL;
        st = frozen_hidden(e, fs, seq, 3, elm_objective_batch_frozen, h, &th);
        if (st == ELM_OK && th) {
            *trunk = et_share(sc, th);
            st = et_scope_check(sc);
        }
        int64_t one[1] = {1};
        tau = et_full(fs, o->tau, ET_F64, 1, one, e->m->device);
        if (o->eta_ramp)
            elm_linspace(1.0, o->eta, N, eta);
        else
            for (int64_t t = 0; t < N; t++)
                eta[t] = o->eta;
    }
    for (int64_t c = 0; st == ELM_OK && c < nch; c++) {
        const int64_t c0 = c * C, len = N - c0 < C ? N - c0 : C;
        et_scope *cs = et_scope_new();
        if (!cs) {
            st = elm_err(ELM_E_NOMEM, "erase: out of memory");
            break;
        }
        et_tensor *s;
        if (g) {
            s = et_log_softmax(cs, et_to(cs, et_narrow(cs, g, 0, c0, len), ET_F64), -1);
            if (s && e->m->device.kind != 0)
                s = et_to_device(cs, s, e->m->device);
        } else {
            /* s = O -/+ eta (E - V), each float64 log-softmax made in a
             * scope of its own (only its [len, V] result stays) and the
             * differences taken in place: at most two [len, V] float64
             * results and one log-softmax's temporaries are alive at a time
             * (all of them were: ~3x the memory). In-place a -= b is torch's
             * a - b (sub is add with alpha -1): bit-equal. */
            et_scope *ds = et_scope_new();
            et_tensor *E = NULL, *Vv = NULL, *d = NULL;
            st = ds ? lsm_rows(e, ds, h[1], (int64_t)ex->n - N + c0, len, tau, &E)
                    : elm_err(ELM_E_NOMEM, "erase: out of memory");
            if (st == ELM_OK)
                st = lsm_rows(e, ds, h[2], (int64_t)nv->n - N + c0, len, tau, &Vv);
            if (st == ELM_OK)
                st = et_add_(E, Vv, -1.0);
            if (st == ELM_OK) {
                int64_t es[2] = {len, 1};
                et_tensor *et = et_from_data(ds, eta + c0, ET_F64, 2, es);
                if (et && e->m->device.kind != 0)
                    et = et_to_device(ds, et, e->m->device);
                d = et_mul(ds, et, E);
                st = et_scope_check(ds);
                if (st == ELM_OK)
                    d = et_share(cs, d);
            }
            et_scope_free(ds);
            s = NULL;
            if (st == ELM_OK)
                st = lsm_rows(e, cs, h[0], c0, len, tau, &s);
            if (st == ELM_OK)
                st = et_add_(s, d, o->action == ELM_ACTION_ERASE ? -1.0 : 1.0);
        }
        if (st == ELM_OK)
            st = et_scope_check(cs);
        if (st == ELM_OK && topk) {
            et_tensor *vals = NULL, *idx = NULL;
            st = et_topk(cs, s, o->top_k, -1, &vals, &idx);
            if (st == ELM_OK && sparse) {
                qs[c] = et_share(fs, et_softmax(cs, vals, -1));
                is[c] = et_share(fs, idx);
            } else if (st == ELM_OK) {
                int64_t shape[2] = {len, V};
                et_tensor *ninf = et_full(cs, -INFINITY, ET_F64, 2, shape, e->m->device);
                qs[c] = et_share(fs, et_softmax(cs, et_scatter(cs, ninf, -1, idx, vals), -1));
            }
        } else if (st == ELM_OK) {
            qs[c] = et_share(fs, et_softmax(cs, s, -1));
        }
        if (st == ELM_OK)
            st = et_scope_check(cs);
        if (st == ELM_OK)
            st = et_scope_check(fs);
        et_scope_free(cs);
    }
    if (st == ELM_OK) {
        *q_out = et_cat(sc, qs, (int)nch, 0);
        if (sparse)
            *idx_out = et_cat(sc, is, (int)nch, 0);
        st = et_scope_check(sc);
    }
    free(qs);
    free(is);
    free(eta);
    et_scope_free(fs);
    return st;
}

/* The hard erase label [N] (I64): argmax of the target (q, idx) of
 * erase_target. */
static et_tensor *erase_hard_label(elm_erase *e, et_scope *sc, et_tensor *q, et_tensor *idx)
{
    if (!idx)
        return et_argmax(sc, q, -1, 0);
    /* argmax of the dense q: the smallest id among the largest entries */
    et_tensor *qmax = et_amax(sc, q, -1, 1);
    et_tensor *cand = et_masked_fill(sc, idx, et_lt(sc, q, qmax), (double)e->m->cfg.n_vocab);
    return et_neg(sc, et_amax(sc, et_neg(sc, cand), -1, 0));
}

/* *h = the target's mean entropy -mean_t sum q log q (0 log 0 = 0): what
 * kl subtracts from soft_ce (a constant: no gradient). */
static elm_status target_entropy(et_scope *sc, et_tensor *q, double *h)
{
    *h = 0;
    int prev = et_set_grad_enabled(0);
    et_tensor *lq = et_masked_fill(sc, et_log(sc, q), et_eq_scalar(sc, q, 0.0), 0.0);
    et_tensor *H = et_mean_all(sc, et_neg(sc, et_sum(sc, et_mul(sc, q, lq), -1, 0)));
    et_set_grad_enabled(prev);
    elm_status st = et_scope_check(sc);
    return st == ELM_OK ? et_item(H, h) : st;
}

/* The erase loss on the adapted model's logits lt [N, V] (fp32) for the
 * target (q, idx) of erase_target. Sparse rows: with lse = logsumexp(lt),
 * log_softmax(lt)[idx] = lt[idx] - lse, and the zero entries of q add
 * nothing, so soft_ce = mean_t -sum_k q32_k (lt[idx_k] - lse): the dense
 * form's value and gradient without an [N, V] target. */
static et_tensor *erase_loss(elm_erase *e, et_scope *sc, et_tensor *lt, et_tensor *q, et_tensor *idx,
                             elm_status *st)
{
    const elm_erase_opts *o = &e->o;
    *st = ELM_OK;
    if (o->loss == ELM_LOSS_HARD)
        return et_cross_entropy(sc, lt, erase_hard_label(e, sc, q, idx), -100);
    et_tensor *loss;
    if (!idx) {
        loss = et_soft_cross_entropy(sc, lt, et_to(sc, q, ET_F32));
    } else {
        et_tensor *lse = et_logsumexp(sc, lt, -1, 1);
        et_tensor *ls = et_sub(sc, et_gather(sc, lt, -1, idx), lse);
        loss = et_mean_all(sc, et_neg(sc, et_sum(sc, et_mul(sc, et_to(sc, q, ET_F32), ls), -1, 0)));
    }
    if (o->loss == ELM_LOSS_KL) {
        double h = 0;
        *st = target_entropy(sc, q, &h);
        if (*st == ELM_OK)
            loss = et_add_scalar(sc, loss, -h);
    }
    return loss;
}

/* ---- trained passes with the lm_head and the loss in chunks of rows ---- */

/* What a trained pass's logits rows are scored against, row by row. */
typedef enum row_kind {
    ROWS_CE,     /* cross-entropy to I64 labels tgt [N] */
    ROWS_SOFT,   /* -sum_v q log_softmax, q [N, V] (any float dtype; used in fp32) */
    ROWS_SPARSE  /* the same with only q's k kept entries: q [N, k], idx [N, k] */
} row_kind;

typedef struct row_target {
    row_kind kind;
    et_tensor *tgt, *q, *idx;
} row_target;

/* The loss of each of the fp32 logits rows lt [len, V], scored against
 * rows r0 .. r0+len of the target: [len], each row computed by the same ops
 * as the whole-logits loss computes it (et_soft_cross_entropy, erase_loss). */
static et_tensor *row_losses(et_scope *sc, const row_target *L, et_tensor *lt, int64_t r0, int64_t len)
{
    if (L->kind == ROWS_CE)
        return et_cross_entropy_rows(sc, lt, et_narrow(sc, L->tgt, 0, r0, len), -100);
    et_tensor *q = et_to(sc, et_narrow(sc, L->q, 0, r0, len), ET_F32);
    if (L->kind == ROWS_SOFT)
        return et_neg(sc, et_sum(sc, et_mul(sc, q, et_log_softmax(sc, lt, -1)), -1, 0));
    et_tensor *lse = et_logsumexp(sc, lt, -1, 1);
    et_tensor *ls = et_sub(sc, et_gather(sc, lt, -1, et_narrow(sc, L->idx, 0, r0, len)), lse);
    return et_neg(sc, et_sum(sc, et_mul(sc, q, ls), -1, 0));
}

/* Final hidden state [1, n, E] (compute dtype, after the final norm) of the
 * adapted model (dropout on) over ids, with autograd. */
static et_tensor *trained_hidden(elm_erase *e, et_scope *sc, const int32_t *ids, size_t n, const et_tensor *trunk)
{
    int64_t shape[2] = {1, (int64_t)n};
    et_tensor *t = et_to(sc, et_from_data(sc, ids, ET_I32, 2, shape), ET_I64);
    if (t && e->m->device.kind != 0)
        t = et_to_device(sc, t, e->m->device);
    if (!t)
        return NULL;
    elm_forward_opts fo;
    memset(&fo, 0, sizeof fo);
    fo.hidden_layer = -1;
    fo.no_logits = 1;
    fo.lora = e->lora;
    if (trunk) {
        fo.hidden_in = trunk;
        fo.start_layer = trunk_layer(e);
        elm_objective_trunk_passes++;
    }
    e->lora->training = 1;
    int prev = et_set_grad_enabled(1);
    et_tensor *h = elm_model_forward(e->m, sc, t, &fo);
    et_set_grad_enabled(prev);
    e->lora->training = 0;
    return h;
}

/* A trained pass over ids scored on logits rows r0 .. r0+N against L:
 * loss = mean over the N rows of row_losses, plus the constant `add`;
 * *value = the loss, and lambda * loss is back-propagated (unless lambda
 * is 0). The trunk runs once with autograd to the final hidden state h;
 * lm_head, the fp32 logits and the row losses are made chunk_rows rows at
 * a time on hd, a detached copy of h, and each chunk's share
 * lambda * sum(rows / N) is back-propagated at once into hd's gradient
 * (only rows r0 .. r0+N get one); then h is back-propagated with it. Per
 * row the gradient is the whole-logits loss's (mean's backward is the
 * same grad / N); the value is the mean of the same per-row losses. A
 * chunk with a non-finite loss stops the back-propagation; the value is
 * then not finite and the step refused, as with the whole logits. */
static elm_status trained_loss_chunked(elm_erase *e, et_scope *sc, const ids_buf *ids, const et_tensor *trunk,
                                       int64_t r0, int64_t N, const row_target *L, double add, double lambda,
                                       const char *term, double *value)
{
    *value = NAN;
    et_tensor *h = trained_hidden(e, sc, ids->v, ids->n, trunk);
    et_tensor *hd = et_detach(sc, h);
    int64_t one[1] = {1};
    et_tensor *nt = et_full(sc, (double)N, ET_F32, 1, one, e->m->device);
    ELM_TRY(et_scope_check(sc));
    ELM_TRY(et_set_requires_grad(hd, 1));
    const int64_t C = chunk_rows(), nch = (N + C - 1) / C;
    et_tensor **parts = calloc((size_t)(nch > 0 ? nch : 1), sizeof *parts);
    if (!parts)
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    elm_status st = ELM_OK;
    int finite = 1;
    int prev = et_set_grad_enabled(1);
    for (int64_t c = 0; st == ELM_OK && c < nch; c++) {
        const int64_t c0 = c * C, len = N - c0 < C ? N - c0 : C;
        et_scope *cs = et_scope_new();
        if (!cs) {
            st = elm_err(ELM_E_NOMEM, "erase: out of memory");
            break;
        }
        et_tensor *r = row_losses(cs, L, logits_rows(e, cs, hd, r0 + c0, len), c0, len);
        parts[c] = et_share(sc, et_detach(cs, r));
        st = et_scope_check(cs);
        if (st == ELM_OK)
            st = et_scope_check(sc);
        if (st == ELM_OK && finite && !et_all_finite(r))
            finite = 0;
        if (st == ELM_OK && finite && lambda != 0) {
            et_tensor *l = et_sum_all(cs, et_div(cs, r, nt));
            if (lambda != 1)
                l = et_scale(cs, l, lambda);
            st = et_scope_check(cs);
            if (st == ELM_OK)
                st = et_backward(l);
        }
        et_scope_free(cs);
    }
    et_set_grad_enabled(prev);
    if (st == ELM_OK) {
        et_tensor *m = et_mean_all(sc, et_cat(sc, parts, (int)nch, 0));
        st = et_scope_check(sc);
        if (st == ELM_OK)
            st = et_item(m, value);
        if (st == ELM_OK && add != 0)
            *value += add;
    }
    free(parts);
    ELM_TRY(st);
    if (!isfinite(*value))
        return elm_err(ELM_E_NUMERIC, "erase: %s loss is not finite (%g); step refused", term, *value);
    if (lambda == 0)
        return ELM_OK;
    et_tensor *g = et_grad(sc, hd);
    ELM_TRY(et_scope_check(sc));
    if (!g)
        return elm_err(ELM_E_INTERNAL, "erase: %s: no gradient reached the final hidden state", term);
    return et_backward_grad(h, g);
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
        et_tensor *q = NULL, *idx = NULL, *trunk = NULL;
        if (st == ELM_OK) {
            /* the frozen passes live and die inside erase_target */
            int prev = et_set_grad_enabled(0);
            st = erase_target(e, sc, &xi, &ex, &nv, &q, &idx, &trunk);
            et_set_grad_enabled(prev);
            release_freed();
        }
        if (st == ELM_OK && elm_objective_chunk_loss) {
            row_target L = {ROWS_SPARSE, NULL, q, idx};
            double add = 0;
            if (o->loss == ELM_LOSS_HARD) {
                L.kind = ROWS_CE;
                L.tgt = erase_hard_label(e, sc, q, idx);
                st = et_scope_check(sc);
            } else {
                L.kind = idx ? ROWS_SPARSE : ROWS_SOFT;
                if (o->loss == ELM_LOSS_KL) {
                    st = target_entropy(sc, q, &add);
                    add = -add;
                }
            }
            if (st == ELM_OK)
                st = trained_loss_chunked(e, sc, &xi, trunk, 0, (int64_t)xi.n, &L, add, o->lam_erase, "erase",
                                          &r->erase);
        } else if (st == ELM_OK) {
            et_tensor *lt = logits_of(e, sc, xi.v, xi.n, 1);
            et_tensor *loss = erase_loss(e, sc, lt, q, idx, &st);
            if (st == ELM_OK)
                st = backprop(sc, loss, o->lam_erase, "erase", &r->erase);
        }
        if (st == ELM_OK) {
            r->total += o->lam_erase * r->erase;
            r->tokens += (int64_t)(2 * xi.n + ex.n + nv.n);
        }
    }
    free(exp);
    free(nov);
    ids_free(&xi);
    ids_free(&ex);
    ids_free(&nv);
    return st;
}

/* Retain targets from the frozen model, in chunks of rows: hard labels
 * argmax logits_P [N] (I64; no softmax needed), or soft q = softmax(logits_P)
 * [N, V] (fp32). Only the result is left in sc. */
static elm_status retain_target(elm_erase *e, et_scope *sc, const ids_buf *ids, et_tensor **out, et_tensor **trunk)
{
    *out = NULL;
    *trunk = NULL;
    et_scope *fs = et_scope_new();
    if (!fs)
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    const int64_t N = (int64_t)ids->n, C = chunk_rows(), nch = (N + C - 1) / C;
    et_tensor **parts = calloc((size_t)nch, sizeof *parts), *h = NULL;
    elm_status st = parts ? ELM_OK : elm_err(ELM_E_NOMEM, "erase: out of memory");
    int prev = et_set_grad_enabled(0);
    if (st == ELM_OK) {
        const ids_buf *seq[1] = {ids};
        et_tensor *th = NULL;
        st = frozen_hidden(e, fs, seq, 1, 0, &h, &th);
        if (st == ELM_OK && th) {
            *trunk = et_share(sc, th);
            st = et_scope_check(sc);
        }
    }
    for (int64_t c = 0; st == ELM_OK && c < nch; c++) {
        const int64_t c0 = c * C, len = N - c0 < C ? N - c0 : C;
        et_scope *cs = et_scope_new();
        if (!cs) {
            st = elm_err(ELM_E_NOMEM, "erase: out of memory");
            break;
        }
        et_tensor *lg = logits_rows(e, cs, h, c0, len);
        parts[c] = et_share(fs, e->o.retain_soft ? et_softmax(cs, lg, -1) : et_argmax(cs, lg, -1, 0));
        st = et_scope_check(cs);
        if (st == ELM_OK)
            st = et_scope_check(fs);
        et_scope_free(cs);
    }
    et_set_grad_enabled(prev);
    if (st == ELM_OK) {
        *out = et_cat(sc, parts, (int)nch, 0);
        st = et_scope_check(sc);
    }
    free(parts);
    et_scope_free(fs);
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
        et_tensor *tgt = NULL, *trunk = NULL;
        st = retain_target(e, sc, &ids, &tgt, &trunk);
        release_freed();
        if (st == ELM_OK && elm_objective_chunk_loss) {
            row_target L = {e->o.retain_soft ? ROWS_SOFT : ROWS_CE, tgt, tgt, NULL};
            st = trained_loss_chunked(e, sc, &ids, trunk, 0, (int64_t)ids.n, &L, 0, e->o.lam_retain, "retain",
                                      &r->retain);
        } else if (st == ELM_OK) {
            et_tensor *lt = logits_of(e, sc, ids.v, ids.n, 1);
            et_tensor *loss = e->o.retain_soft ? et_soft_cross_entropy(sc, lt, tgt)
                                               : et_cross_entropy(sc, lt, tgt, -100);
            st = backprop(sc, loss, e->o.lam_retain, "retain", &r->retain);
        }
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
    if (elm_objective_chunk_loss) {
        row_target L = {ROWS_CE, i64_tensor(e, sc, ids->v + from, ids->n - from), NULL, NULL};
        ELM_TRY(et_scope_check(sc));
        return trained_loss_chunked(e, sc, ids, NULL, (int64_t)from - 1, (int64_t)(ids->n - from), &L, 0, lambda, term,
                                    value);
    }
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
        release_freed();
        sc = et_scope_new();
        if (st == ELM_OK && !sc)
            st = elm_err(ELM_E_NOMEM, "erase: out of memory");
        if (st == ELM_OK && G->ds[ELM_ROLE_RETAIN])
            st = retain_term(e, sc, g, r);
        et_scope_free(sc);
        release_freed();
        sc = et_scope_new();
        if (st == ELM_OK && !sc)
            st = elm_err(ELM_E_NOMEM, "erase: out of memory");
        if (st == ELM_OK && G->ds[ELM_ROLE_CONSISTENCY] && G->n_pairs > 0)
            st = consistency_term(e, sc, g, r);
    }
    et_scope_free(sc);
    release_freed();
    if (st == ELM_OK)
        e->micro++;
    return st;
}
