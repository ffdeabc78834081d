/* One micro-step of the ELM objective (docs/erase.md): erase target from
 * three frozen passes, soft cross-entropy on the adapted model, retain and
 * consistency terms; each term is back-propagated on its own. */
#include "erase/session.h"
#include "erase/objective.h"
#include "erase/objective_int.h"
#include "erase/frozen_cache.h"

#include "core/error.h"
#include "core/log.h"
#include "io/dataset.h"

#include <math.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>

void elm_obj_ids_free(ids_buf *b)
{
    elm_free(b->v);
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
    return elm_tokenize(e->m->tok, text, strlen(text), special ? ELM_TOKENIZE_ADD_SPECIAL : 0, &out->v,
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

int elm_objective_dense_target = 0;
int elm_objective_batch_frozen = 1;
int elm_objective_chunk_rows = 32;
int elm_objective_chunk_loss = 1;
int elm_objective_share_trunk = 1;
long elm_objective_trunk_passes = 0;
long elm_objective_prefix_rows = 0;

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

/* ---- frozen K/V of the expert/novice prefixes (erase.prefix_cache) ----
 * A prefixed text's first tokens are its prefix's (exactly so with
 * erase.alignment = separate; with concat, as far as the tokenizations
 * agree): their keys and values in every layer depend on those tokens only,
 * so they are computed once per prefix and the frozen passes run only the
 * rest, attending to them through a KV cache. */
#define PKV_MAX 512

typedef struct pkv_entry {
    char *text;          /* the filled template */
    ids_buf ids;         /* tok(text), with special tokens */
    elm_kv_cache *kv;    /* the frozen model's K/V of ids ([1, kv_heads, n, head_dim] per layer) */
} pkv_entry;

struct elm_prefix_table {
    pkv_entry *v;        /* PKV_MAX slots (entries never move) */
    int n;
};

static void pkv_free(struct elm_prefix_table *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n; i++) {
        free(t->v[i].text);
        elm_obj_ids_free(&t->v[i].ids);
        elm_kv_cache_free(t->v[i].kv);
    }
    free(t->v);
    free(t);
}

/* *out = the entry of prefix `text`, its K/V computed at the first use;
 * NULL when erase.prefix_cache is off, the table is full or the prefix has
 * no tokens. */
static elm_status prefix_kv(elm_erase *e, const char *text, const pkv_entry **out)
{
    *out = NULL;
    if (!e->o.prefix_cache)
        return ELM_OK;
    struct elm_prefix_table *t = e->pkv;
    if (!t) {
        t = calloc(1, sizeof *t);
        if (t)
            t->v = calloc(PKV_MAX, sizeof *t->v);
        if (!t || !t->v) {
            free(t);
            return elm_err(ELM_E_NOMEM, "erase: out of memory");
        }
        e->pkv = t;
    }
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->v[i].text, text) == 0) {
            *out = t->v[i].kv ? &t->v[i] : NULL;
            return ELM_OK;
        }
    if (t->n >= PKV_MAX)
        return ELM_OK;
    pkv_entry en = {0};
    en.text = strdup(text);
    elm_status st = en.text ? elm_obj_tokenize(e, text, 1, &en.ids) : elm_err(ELM_E_NOMEM, "erase: out of memory");
    if (st == ELM_OK && en.ids.n > 0)
        st = elm_kv_cache_new(e->m, &en.kv);
    if (st == ELM_OK && en.kv) {
        et_scope *ps = et_scope_new();
        if (!ps)
            st = elm_err(ELM_E_NOMEM, "erase: out of memory");
        else {
            int64_t shape[2] = {1, (int64_t)en.ids.n};
            et_tensor *it = et_to(ps, et_from_data(ps, en.ids.v, ET_I32, 2, shape), ET_I64);
            elm_forward_opts fo;
            memset(&fo, 0, sizeof fo);
            fo.hidden_layer = -1;
            fo.no_logits = 1;
            fo.cache = en.kv;
            int prev = et_set_grad_enabled(0);
            et_tensor *h = NULL;
            st = it ? elm_model_forward_ex(e->m, ps, it, &fo, &h) : et_scope_check(ps);
            et_set_grad_enabled(prev);
            et_scope_free(ps);
        }
    }
    if (st != ELM_OK) {
        free(en.text);
        elm_obj_ids_free(&en.ids);
        elm_kv_cache_free(en.kv);
        return st;
    }
    t->v[t->n] = en;
    *out = en.kv ? &t->v[t->n] : NULL;
    t->n++;
    return ELM_OK;
}

/* ---- frozen passes ---- */

/* One sequence of a frozen pass: ids, of which the first pc are covered by
 * pre's K/V (pc 0, pre NULL: none). */
typedef struct frow {
    const ids_buf *ids;
    const pkv_entry *pre;
    size_t pc;
    int want_trunk;      /* its input of layer trunk_layer(e) is wanted (pc must be 0) */
} frow;

/* A frozen row over ids that reuses pre's K/V for the leading ids the two
 * have in common, leaving at least `need` ids (the positions used) to run. */
static frow frozen_row(const ids_buf *ids, const pkv_entry *pre, size_t need)
{
    frow r = {ids, NULL, 0, 0};
    if (pre && ids->n > need) {
        size_t lcp = 0, lim = ids->n - need;
        while (lcp < ids->n && lcp < pre->ids.n && ids->v[lcp] == pre->ids.v[lcp])
            lcp++;
        r.pc = lcp < lim ? lcp : lim;
        r.pre = r.pc > 0 ? pre : NULL;
    }
    return r;
}

/* One forward of the frozen base model over rows[0..n), gradients off,
 * right-padded to the longest part run (attention mask) — a real position
 * never attends to a later one, so padding changes nothing but the
 * kernels' blocking. Rows with a prefix attend to its K/V (stacked, padded
 * to the longest prefix part, masked) at their own positions. out[i] = the
 * final hidden state (after the final norm) of row i's ids pc .. n, [1, n -
 * pc, E] (a view of the batch); trunk[i] (rows with want_trunk) = the input
 * of layer tl for them, [1, n, E] (tl 0: none). */
static elm_status frozen_forward(elm_erase *e, et_scope *sc, const frow *rows, int n, int tl, et_tensor **out,
                                 et_tensor **trunk)
{
    const elm_llama_config *cf = &e->m->cfg;
    size_t T = 0, P = 0;
    int pad = 0;
    for (int i = 0; i < n; i++) {
        size_t q = rows[i].ids->n - rows[i].pc;
        T = q > T ? q : T;
        P = rows[i].pc > P ? rows[i].pc : P;
    }
    for (int i = 0; i < n; i++)
        pad |= rows[i].ids->n - rows[i].pc != T;
    const size_t nt = (size_t)n * T;
    int64_t *ids = calloc(nt, sizeof *ids), *mask = calloc(nt, sizeof *mask);
    int64_t *pos = P ? calloc(nt, sizeof *pos) : NULL, *cmask = P ? calloc((size_t)n * P, sizeof *cmask) : NULL;
    elm_status st = ids && mask && (!P || (pos && cmask)) ? ELM_OK : elm_err(ELM_E_NOMEM, "erase: out of memory");
    for (int i = 0; st == ELM_OK && i < n; i++) {
        const frow *r = &rows[i];
        for (size_t t = 0; t < T; t++) {
            int real = t < r->ids->n - r->pc;
            ids[(size_t)i * T + t] = real ? r->ids->v[r->pc + t] : 0;
            mask[(size_t)i * T + t] = real;
            if (pos)
                pos[(size_t)i * T + t] = (int64_t)(r->pc + t);
        }
        for (size_t j = 0; j < P; j++)
            cmask[(size_t)i * P + j] = j < r->pc;
    }
    elm_kv_cache *kc = NULL;
    if (st == ELM_OK && P)
        st = elm_kv_cache_new(e->m, &kc);
    if (st == ELM_OK && P) {
        /* per layer: the rows' prefix K and V, cut to their pc, padded with
         * zeros (masked) to P, stacked: [n, kv_heads, P, head_dim] */
        et_scope *ks = kc->scope;
        et_tensor **zr = calloc((size_t)n, sizeof *zr), **parts = calloc((size_t)n, sizeof *parts);
        if (!zr || !parts)
            st = elm_err(ELM_E_NOMEM, "erase: out of memory");
        for (int i = 0; st == ELM_OK && i < n; i++)
            if (rows[i].pc < P) {
                int64_t zs[4] = {1, cf->n_kv_heads, (int64_t)(P - rows[i].pc), cf->head_dim};
                zr[i] = et_zeros(ks, e->m->dtype, 4, zs, e->m->device);
            }
        for (int l = 0; st == ELM_OK && l < cf->n_layers; l++)
            for (int kv = 0; kv < 2; kv++) {
                for (int i = 0; i < n; i++) {
                    const frow *r = &rows[i];
                    et_tensor *src = NULL;
                    if (r->pc)
                        src = et_narrow(ks, kv ? r->pre->kv->v[l] : r->pre->kv->k[l], 2, 0, (int64_t)r->pc);
                    if (src && zr[i]) {
                        et_tensor *two[2] = {src, zr[i]};
                        parts[i] = et_cat(ks, two, 2, 2);
                    } else
                        parts[i] = src ? src : zr[i];
                }
                et_tensor *s = et_cat(ks, parts, n, 0);
                if (kv)
                    kc->v[l] = s;
                else
                    kc->k[l] = s;
            }
        if (st == ELM_OK) {
            int64_t cs[2] = {n, (int64_t)P};
            kc->mask = et_from_data(ks, cmask, ET_I64, 2, cs);
            kc->len = (int64_t)P;
            st = et_scope_check(ks);
        }
        free(zr);
        free(parts);
    }
    if (st == ELM_OK) {
        int64_t shape[2] = {n, (int64_t)T};
        et_tensor *it = et_from_data(sc, ids, ET_I64, 2, shape);
        et_tensor *mt = pad || P ? et_from_data(sc, mask, ET_I64, 2, shape) : NULL;
        et_tensor *pt = P ? et_from_data(sc, pos, ET_I64, 2, shape) : NULL;
        st = et_scope_check(sc);
        elm_forward_opts fo;
        memset(&fo, 0, sizeof fo);
        fo.no_logits = 1;
        fo.attn_mask = mt;
        fo.positions = pt;
        fo.cache = kc;
        et_tensor *th = NULL, *h = NULL;
        int want = 0;
        for (int i = 0; trunk && i < n; i++)
            want |= rows[i].want_trunk;
        fo.hidden_layer = tl > 0 && want ? tl - 1 : -1;
        fo.hidden_out = tl > 0 && want ? &th : NULL;
        if (st == ELM_OK)
            st = elm_model_forward_ex(e->m, sc, it, &fo, &h);
        for (int i = 0; st == ELM_OK && i < n; i++) {
            const int64_t q = (int64_t)(rows[i].ids->n - rows[i].pc);
            out[i] = et_narrow(sc, et_narrow(sc, h, 0, i, 1), 1, 0, q);
            if (th && rows[i].want_trunk && rows[i].pc == 0)
                trunk[i] = et_contiguous(sc, et_narrow(sc, et_narrow(sc, th, 0, i, 1), 1, 0, q));
            if (rows[i].pc)
                elm_objective_prefix_rows++;
        }
        if (st == ELM_OK)
            st = et_scope_check(sc);
    }
    elm_kv_cache_free(kc);
    free(ids);
    free(mask);
    free(pos);
    free(cmask);
    return st;
}

/* The frozen passes of rows[0..n): one batch (elm_objective_batch_frozen)
 * or one forward per row; see frozen_forward. trunk may be NULL. */
static elm_status frozen_rows(elm_erase *e, et_scope *sc, const frow *rows, int n, et_tensor **out,
                              et_tensor **trunk)
{
    const int tl = trunk ? trunk_layer(e) : 0;
    for (int i = 0; trunk && i < n; i++)
        trunk[i] = NULL;
    e->lora->training = 0;
    int prev = et_set_grad_enabled(0);
    elm_status st = ELM_OK;
    if (elm_objective_batch_frozen)
        st = frozen_forward(e, sc, rows, n, tl, out, trunk);
    else
        for (int i = 0; i < n && st == ELM_OK; i++)
            st = frozen_forward(e, sc, rows + i, 1, tl, out + i, trunk ? trunk + i : NULL);
    et_set_grad_enabled(prev);
    return st;
}

/* fp32 logits [len, V] of positions start .. start+len of batch row b of h
 * [B, T, E], as the model's forward computes them (linear in the compute
 * dtype, then fp32). The compute-dtype logits are dead once converted (with
 * autograd too: the conversion's backward needs nothing), so they are made
 * in a scope of their own; on failure the ops run again in sc, which then
 * records the error. */
static et_tensor *logits_rows(elm_erase *e, et_scope *sc, et_tensor *h, int64_t b, int64_t start, int64_t len)
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

/* *out = log_softmax(logits_rows(...) in float64 / tau) [len, V] of h
 * [1, T, E], made in a scope of its own: only the result is left in sc.
 * Divide (not multiply by 1/tau): bit-equal to the reference. */
static elm_status lsm_rows(elm_erase *e, et_scope *sc, et_tensor *h, int64_t start, int64_t len,
                           const et_tensor *tau, et_tensor **out)
{
    *out = NULL;
    et_scope *ts = et_scope_new();
    if (!ts)
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    et_tensor *l = logits_rows(e, ts, h, 0, start, len);
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
void elm_obj_release_freed(void)
{
#if defined(__GLIBC__)
    (void)malloc_trim(0);
#endif
}

static int64_t chunk_rows(void)
{
    return elm_objective_chunk_rows > 0 ? elm_objective_chunk_rows : 32;
}

/* The erase target for a text of N positions, built in chunks of rows in
 * scopes of their own; only the result is left in sc. From the frozen
 * final hidden states h[0] (the text, [1, N, E]), h[1] and h[2] (expert and
 * novice, [1, >= N, E]: their last N rows are the prefixed texts' last N
 * positions), or with action random (h NULL) from a draw. Sparse (0 <
 * top_k < V and not forced dense): *q = the k kept probabilities per row
 * [N, k] (float64, softmax over the top-k values of s: exactly the masked
 * row's softmax, whose other entries are 0) and *idx their vocabulary ids
 * [N, k] (I64, in torch.topk's order). Dense: *q = q [N, V] (float64),
 * *idx = NULL. */
static elm_status erase_target(elm_erase *e, et_scope *sc, int64_t N, et_tensor *const *h, et_tensor **q_out,
                               et_tensor **idx_out)
{
    const elm_erase_opts *o = &e->o;
    const int64_t V = e->m->cfg.n_vocab;
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
    et_tensor *g = NULL, *tau = NULL;
    int64_t off_e = 0, off_v = 0;
    if (st == ELM_OK && !h) {
        /* one draw of the whole [N, V] from the global generator, as the reference */
        int64_t shape[2] = {N, V};
        et_device cpu = {0, 0};
        g = et_zeros(fs, ET_F32, 2, shape, cpu);
        st = g ? et_normal_(g, 0.0, 1.0) : et_scope_check(fs);
    } else if (st == ELM_OK) {
        off_e = et_size(h[1], 1) - N;
        off_v = et_size(h[2], 1) - N;
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
            st = ds ? lsm_rows(e, ds, h[1], off_e + c0, len, tau, &E) : elm_err(ELM_E_NOMEM, "erase: out of memory");
            if (st == ELM_OK)
                st = lsm_rows(e, ds, h[2], off_v + c0, len, tau, &Vv);
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

/* Retain targets of a text of N positions from the frozen final hidden
 * state h [1, N, E], in chunks of rows: hard labels argmax logits_P [N]
 * (I64; no softmax needed), or soft q = softmax(logits_P) [N, V] (fp32).
 * Only the result is left in sc. */
static elm_status retain_target(elm_erase *e, et_scope *sc, int64_t N, et_tensor *h, et_tensor **out)
{
    *out = NULL;
    et_scope *fs = et_scope_new();
    if (!fs)
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    const int64_t C = chunk_rows(), nch = (N + C - 1) / C;
    et_tensor **parts = calloc((size_t)nch, sizeof *parts);
    elm_status st = parts ? ELM_OK : elm_err(ELM_E_NOMEM, "erase: out of memory");
    int prev = et_set_grad_enabled(0);
    for (int64_t c = 0; st == ELM_OK && c < nch; c++) {
        const int64_t c0 = c * C, len = N - c0 < C ? N - c0 : C;
        et_scope *cs = et_scope_new();
        if (!cs) {
            st = elm_err(ELM_E_NOMEM, "erase: out of memory");
            break;
        }
        et_tensor *lg = logits_rows(e, cs, h, 0, c0, len);
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

/* ---- trained passes ---- */

/* The loss of each of the fp32 logits rows lt [len, V], scored against
 * rows r0 .. r0+len of the target: [len]. Sparse rows: with lse =
 * logsumexp(lt), log_softmax(lt)[idx] = lt[idx] - lse, and the zero entries
 * of q add nothing, so -sum_k q32_k (lt[idx_k] - lse) is the dense soft
 * cross-entropy's value and gradient without an [N, V] target. */
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

/* One text with the whole [n, V] logits and one backward of its loss (the
 * straightforward form; elm_objective_chunk_loss = 0). */
static elm_status trained_whole(elm_erase *e, et_scope *sc, const tpass *p, double lambda, const char *term)
{
    et_tensor *lt = elm_obj_logits(e, sc, p->ids->v, p->ids->n, 1);
    if (p->r0 != 0 || p->N != (int64_t)p->ids->n)
        lt = et_narrow(sc, lt, 0, p->r0, p->N);
    et_tensor *loss;
    if (p->L.kind == ROWS_CE) {
        loss = et_cross_entropy(sc, lt, p->L.tgt, -100);
    } else if (p->L.kind == ROWS_SOFT) {
        loss = et_soft_cross_entropy(sc, lt, et_to(sc, p->L.q, ET_F32));
    } else {
        et_tensor *lse = et_logsumexp(sc, lt, -1, 1);
        et_tensor *ls = et_sub(sc, et_gather(sc, lt, -1, p->L.idx), lse);
        loss = et_mean_all(sc, et_neg(sc, et_sum(sc, et_mul(sc, et_to(sc, p->L.q, ET_F32), ls), -1, 0)));
    }
    if (p->add != 0)
        loss = et_add_scalar(sc, loss, p->add);
    return elm_obj_backprop(sc, loss, lambda, term, p->value);
}

/* [n, T, E]: the [1, len_i, E] tensors ts right-padded with zeros to T. */
static et_tensor *pad_stack(elm_erase *e, et_scope *sc, et_tensor *const *ts, int n, int64_t T)
{
    et_tensor **parts = calloc((size_t)n, sizeof *parts);
    if (!parts) {
        elm_err(ELM_E_NOMEM, "erase: out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        int64_t len = et_size(ts[i], 1);
        parts[i] = ts[i];
        if (len < T) {
            int64_t zs[3] = {1, T - len, et_size(ts[i], 2)};
            et_tensor *two[2] = {ts[i], et_zeros(sc, et_get_dtype(ts[i]), 3, zs, e->m->device)};
            parts[i] = two[1] ? et_cat(sc, two, 2, 1) : NULL;
        }
    }
    et_tensor *r = n == 1 ? parts[0] : et_cat(sc, parts, n, 0);
    free(parts);
    return r;
}

/* The texts p[0..n) through the adapted model as one right-padded batch
 * (attention mask), each scored on its own rows: the trunk runs once with
 * autograd to the final hidden state h [n, T, E] (from the first LoRA layer
 * when every text has a frozen trunk); lm_head, the fp32 logits and the
 * row losses are made chunk_rows rows at a time on hd, a detached copy of
 * h, and each chunk's share lambda * sum(rows / N_i) is back-propagated at
 * once into hd's gradient (only scored rows get one; padded positions are
 * never attended to by real ones, so their gradient is 0); then h is
 * back-propagated with it. Per row the gradient is the whole-logits loss's
 * (mean's backward is the same grad / N); each value is the mean of the same
 * per-row losses. A non-finite loss stops the back-propagation; its value
 * is then not finite and the step refused, as with the whole logits. */
elm_status elm_obj_trained_batch(elm_erase *e, et_scope *sc, const tpass *p, int n, double lambda, const char *term)
{
    if (n == 0)
        return ELM_OK;
    if (!elm_objective_chunk_loss) {
        for (int i = 0; i < n; i++)
            ELM_TRY(trained_whole(e, sc, &p[i], lambda, term));
        return ELM_OK;
    }
    size_t T = 0;
    int pad = 0;
    const int tl = trunk_layer(e);
    int shared = tl > 0;
    for (int i = 0; i < n; i++) {
        T = p[i].ids->n > T ? p[i].ids->n : T;
        shared &= p[i].trunk != NULL;
    }
    for (int i = 0; i < n; i++)
        pad |= p[i].ids->n != T;
    int64_t *ids = calloc((size_t)n * T, sizeof *ids), *mask = calloc((size_t)n * T, sizeof *mask);
    et_tensor **trunks = calloc((size_t)n, sizeof *trunks);
    et_tensor ***parts = calloc((size_t)n, sizeof *parts);
    elm_status st = ids && mask && trunks && parts ? ELM_OK : elm_err(ELM_E_NOMEM, "erase: out of memory");
    const int64_t C = chunk_rows();
    for (int i = 0; st == ELM_OK && i < n; i++) {
        for (size_t t = 0; t < p[i].ids->n; t++) {
            ids[(size_t)i * T + t] = p[i].ids->v[t];
            mask[(size_t)i * T + t] = 1;
        }
        trunks[i] = p[i].trunk;
        *p[i].value = NAN;
        parts[i] = calloc((size_t)((p[i].N + C - 1) / C + 1), sizeof **parts);
        if (!parts[i])
            st = elm_err(ELM_E_NOMEM, "erase: out of memory");
    }
    et_tensor *h = NULL, *hd = NULL;
    if (st == ELM_OK) {
        int64_t shape[2] = {n, (int64_t)T};
        et_tensor *it = et_from_data(sc, ids, ET_I64, 2, shape);
        et_tensor *mt = pad ? et_from_data(sc, mask, ET_I64, 2, shape) : NULL;
        elm_forward_opts fo;
        memset(&fo, 0, sizeof fo);
        fo.hidden_layer = -1;
        fo.no_logits = 1;
        fo.lora = e->lora;
        fo.attn_mask = mt;
        if (shared) {
            fo.hidden_in = pad_stack(e, sc, trunks, n, (int64_t)T);
            fo.start_layer = tl;
            elm_objective_trunk_passes += n;
        }
        st = et_scope_check(sc);
        if (st == ELM_OK && shared && !fo.hidden_in)
            st = elm_err(ELM_E_NOMEM, "erase: out of memory");
        e->lora->training = 1;
        int prev = et_set_grad_enabled(1);
        if (st == ELM_OK)
            st = elm_model_forward_ex(e->m, sc, it, &fo, &h);
        et_set_grad_enabled(prev);
        e->lora->training = 0;
        if (st == ELM_OK) {
            hd = et_detach(sc, h);
            st = et_scope_check(sc);
        }
        if (st == ELM_OK)
            st = et_set_requires_grad(hd, 1);
    }
    free(ids);
    free(mask);
    free(trunks);
    int finite = 1;
    int prev = et_set_grad_enabled(1);
    for (int i = 0; st == ELM_OK && i < n; i++) {
        const tpass *P = &p[i];
        int64_t one[1] = {1};
        et_tensor *nt = et_full(sc, (double)P->N, ET_F32, 1, one, e->m->device);
        st = et_scope_check(sc);
        const int64_t nch = (P->N + C - 1) / C;
        for (int64_t c = 0; st == ELM_OK && c < nch; c++) {
            const int64_t c0 = c * C, len = P->N - c0 < C ? P->N - c0 : C;
            et_scope *cs = et_scope_new();
            if (!cs) {
                st = elm_err(ELM_E_NOMEM, "erase: out of memory");
                break;
            }
            et_tensor *r = row_losses(cs, &P->L, logits_rows(e, cs, hd, i, P->r0 + c0, len), c0, len);
            parts[i][c] = et_share(sc, et_detach(cs, r));
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
        if (st == ELM_OK) {
            et_tensor *m = et_mean_all(sc, et_cat(sc, parts[i], (int)nch, 0));
            st = et_scope_check(sc);
            if (st == ELM_OK)
                st = et_item(m, P->value);
            if (st == ELM_OK && P->add != 0)
                *P->value += P->add;
        }
        if (st == ELM_OK && !isfinite(*P->value))
            st = elm_err(ELM_E_NUMERIC, "erase: %s loss is not finite (%g); step refused", term, *P->value);
    }
    et_set_grad_enabled(prev);
    for (int i = 0; parts && i < n; i++)
        free(parts[i]);
    free(parts);
    ELM_TRY(st);
    if (lambda == 0)
        return ELM_OK;
    et_tensor *g = et_grad(sc, hd);
    ELM_TRY(et_scope_check(sc));
    if (!g)
        return elm_err(ELM_E_INTERNAL, "erase: %s: no gradient reached the final hidden state", term);
    return et_backward_grad(h, g);
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

/* ---- erase.frozen_cache: the frozen passes' results on disk ---- */

/* Whether the erase target is stored: sparse top-k only (a dense one is
 * [N, V] float64 per text), not the random action (a fresh draw). */
static int fc_erase_on(const elm_erase *e)
{
    const elm_erase_opts *o = &e->o;
    return e->fcache && o->action != ELM_ACTION_RANDOM && o->top_k > 0 && o->top_k < e->m->cfg.n_vocab &&
           !elm_objective_dense_target;
}

/* Hard retain labels only (soft ones are [N, V] per text). */
static int fc_retain_on(const elm_erase *e)
{
    return e->fcache && !e->o.retain_soft;
}

/* t is dt with shape [d0] (d1 < 0) or [d0, d1]. */
static int fc_shape_ok(const et_tensor *t, et_dtype dt, int64_t d0, int64_t d1)
{
    if (!t || et_get_dtype(t) != dt || et_ndim(t) != (d1 < 0 ? 1 : 2) || et_size(t, 0) != d0)
        return 0;
    return d1 < 0 || et_size(t, 1) == d1;
}

/* A tensor read from the cache, on the model's device. */
static et_tensor *fc_to_device(elm_erase *e, et_scope *sc, et_tensor *t)
{
    return e->m->device.kind != 0 ? et_to_device(sc, t, e->m->device) : t;
}

/* What an erase target depends on besides the model: eta, its schedule,
 * tau, top-k, the action and the three id sequences. */
static elm_status fc_erase_key(elm_erase *e, const erase_item *I, elm_fcache_key *k)
{
    const elm_erase_opts *o = &e->o;
    ELM_TRY(elm_fcache_key_begin(e->fcache, "erase", k));
    elm_status st = elm_fcache_key_add_f64(k, o->eta);
    if (st == ELM_OK)
        st = elm_fcache_key_add_i64(k, o->eta_ramp);
    if (st == ELM_OK)
        st = elm_fcache_key_add_f64(k, o->tau);
    if (st == ELM_OK)
        st = elm_fcache_key_add_i64(k, o->top_k);
    if (st == ELM_OK)
        st = elm_fcache_key_add_i64(k, (int64_t)o->action);
    if (st == ELM_OK)
        st = elm_fcache_key_add_i32s(k, I->xi.v, I->xi.n);
    if (st == ELM_OK)
        st = elm_fcache_key_add_i32s(k, I->ex.v, I->ex.n);
    if (st == ELM_OK)
        st = elm_fcache_key_add_i32s(k, I->nv.v, I->nv.n);
    return st;
}

/* Store; a failure (disk full, ...) costs only the reuse: a warning. */
static void fc_put(elm_erase *e, const elm_fcache_key *k, et_tensor *const *t, int n)
{
    if (elm_fcache_put(e->fcache, k, t, n) != ELM_OK) {
        elm_log(ELM_LOG_WARN, "erase.frozen_cache: not stored: %s", elm_last_error());
        elm_err_clear();
    }
}

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
    const int fc = fc_retain_on(e);
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
            et_tensor *got = NULL;
            int hit = 0;
            st = elm_fcache_key_begin(e->fcache, "retain", &R->keys[b]);
            if (st == ELM_OK)
                st = elm_fcache_key_add_i32s(&R->keys[b], ids->v, ids->n);
            if (st == ELM_OK)
                st = elm_fcache_get(e->fcache, &R->keys[b], R->sc, &got, 1, &hit);
            if (st == ELM_OK && hit && fc_shape_ok(got, ET_I64, (int64_t)ids->n, -1)) {
                R->has[b] = 2;
                R->tgt[b] = fc_to_device(e, R->sc, got);
                st = et_scope_check(R->sc);
                continue;
            }
        }
        R->rows[R->n] = frozen_row(ids, NULL, 0);
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
            st = retain_target(e, R->sc, (int64_t)R->ids[b].n, h[f], &R->tgt[b]);
            if (st == ELM_OK && tr[f]) {
                R->trunk[b] = et_share(R->sc, tr[f]);
                st = et_scope_check(R->sc);
            }
            if (st == ELM_OK && fc_retain_on(e))
                fc_put(e, &R->keys[b], &R->tgt[b], 1);
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
    const int fc = st == ELM_OK && fc_erase_on(e);
    for (int b = 0; fc && st == ELM_OK && b < nb; b++) {
        erase_item *I = &it[b];
        if (!I->has)
            continue;
        et_tensor *got[2] = {NULL, NULL};
        int hit = 0;
        st = fc_erase_key(e, I, &I->key);
        if (st == ELM_OK)
            st = elm_fcache_get(e->fcache, &I->key, sc, got, 2, &hit);
        const int64_t N = (int64_t)I->xi.n;
        if (st == ELM_OK && hit && fc_shape_ok(got[0], ET_F64, N, o->top_k) &&
            fc_shape_ok(got[1], ET_I64, N, o->top_k)) {
            I->q = fc_to_device(e, sc, got[0]);
            I->idx = fc_to_device(e, sc, got[1]);
            I->cached = 1;
            st = et_scope_check(sc);
        }
    }
    for (int b = 0; st == ELM_OK && b < nb; b++)
        if (it[b].has && !it[b].cached && o->action != ELM_ACTION_RANDOM) {
            st = prefix_kv(e, it[b].exp, &it[b].pe);
            if (st == ELM_OK)
                st = prefix_kv(e, it[b].nov, &it[b].pv);
        }
    /* the targets: the frozen passes live and die in fs */
    if (st == ELM_OK) {
        int prev = et_set_grad_enabled(0);
        int n = 0;
        for (int b = 0; o->action != ELM_ACTION_RANDOM && b < nb; b++)
            if (it[b].has && !it[b].cached) {
                rows[n] = frozen_row(&it[b].xi, NULL, 0);
                rows[n].want_trunk = 1;
                rows[n + 1] = frozen_row(&it[b].ex, it[b].pe, it[b].xi.n);
                rows[n + 2] = frozen_row(&it[b].nv, it[b].pv, it[b].xi.n);
                n += 3;
            }
        const int ne = n;
        for (int i = 0; i < R->n; i++)
            rows[n++] = R->rows[i];
        et_scope *fs = et_scope_new();
        st = fs ? ELM_OK : elm_err(ELM_E_NOMEM, "erase: out of memory");
        if (st == ELM_OK && n > 0)
            st = frozen_rows(e, fs, rows, n, h, tr);
        if (st == ELM_OK && R->n > 0)
            st = retain_targets(e, R, h + ne, tr + ne);
        for (int b = 0, k = 0; st == ELM_OK && b < nb; b++) {
            if (!it[b].has || it[b].cached)
                continue;
            if (o->action == ELM_ACTION_RANDOM) {
                st = erase_target(e, sc, (int64_t)it[b].xi.n, NULL, &it[b].q, &it[b].idx);
                continue;
            }
            st = erase_target(e, sc, (int64_t)it[b].xi.n, h + k, &it[b].q, &it[b].idx);
            if (st == ELM_OK && tr[k]) {
                it[b].trunk = et_share(sc, tr[k]);
                st = et_scope_check(sc);
            }
            if (st == ELM_OK && fc) {
                et_tensor *two[2] = {it[b].q, it[b].idx};
                fc_put(e, &it[b].key, two, 2);
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
            P->L.tgt = erase_hard_label(e, sc, I->q, I->idx);
            st = et_scope_check(sc);
        } else {
            P->L.kind = I->idx ? ROWS_SPARSE : ROWS_SOFT;
            P->L.q = I->q;
            P->L.idx = I->idx;
            if (o->loss == ELM_LOSS_KL) {
                st = target_entropy(sc, I->q, &P->add);
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
            if (!G->ds[ELM_ROLE_CONSISTENCY] || G->n_pairs == 0)
                continue;
            size_t k = (size_t)(G->pos[ELM_ROLE_CONSISTENCY] % (int64_t)G->n_pairs);
            G->pos[ELM_ROLE_CONSISTENCY]++;
            size_t i = G->pair_idx[k];
            const elm_dataset *ds = G->ds[ELM_ROLE_CONSISTENCY];
            ids_buf pi, ci;
            st = elm_obj_tokenize(e, elm_dataset_prompt_at(ds, i), 1, &pi);
            if (st == ELM_OK) {
                st = elm_obj_tokenize(e, elm_dataset_continuation_at(ds, i), 0, &ci);
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
    pkv_free(e->pkv);
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
