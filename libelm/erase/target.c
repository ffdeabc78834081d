/* The targets of the ELM objective's trained passes, from the frozen
 * passes' final hidden states (see erase/target.h). */
#include "erase/target.h"
#include "erase/objective.h"

#include "core/error.h"

#include <math.h>
#include <stdlib.h>

/* *out = log_softmax(elm_obj_logits_rows(...) in float64 / tau) [len, V] of h
 * [1, T, E], made in a scope of its own: only the result is left in sc.
 * Divide (not multiply by 1/tau): bit-equal to the reference. */
static elm_status lsm_rows(elm_erase *e, et_scope *sc, et_tensor *h, int64_t start, int64_t len,
                           const et_tensor *tau, et_tensor **out)
{
    *out = NULL;
    et_scope *ts = et_scope_new();
    if (!ts)
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    et_tensor *l = elm_obj_logits_rows(e, ts, h, 0, start, len);
    et_tensor *r = et_log_softmax(ts, et_div(ts, et_to(ts, l, ET_F64), tau), -1);
    elm_status st = et_scope_check(ts);
    if (st == ELM_OK) {
        *out = et_share(sc, r);
        st = et_scope_check(sc);
    }
    et_scope_free(ts);
    return st;
}

/* The plausibility mask of o = log_softmax(logits / tau) [len, V] (float64):
 * *mask = o < max_v o + log(alpha) per row (bool), the tokens the frozen
 * model itself finds less than alpha times as likely as its best one —
 * contrastive decoding's adaptive plausibility constraint (Li et al. 2023),
 * applied to the guided scores so that the target moves probability among
 * tokens the model would write, never onto tokens it would not. The row's
 * best token always stays, so no row is all -inf. */
static elm_status implausible_mask(et_scope *sc, et_tensor *o, double alpha, et_tensor **mask)
{
    et_tensor *floor = et_add_scalar(sc, et_amax(sc, o, -1, 1), log(alpha));
    *mask = et_lt(sc, o, floor);
    return et_scope_check(sc);
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
elm_status elm_obj_erase_target(elm_erase *e, et_scope *sc, int64_t N, et_tensor *const *h, et_tensor **q_out,
                               et_tensor **idx_out)
{
    const elm_erase_opts *o = &e->o;
    const int64_t V = e->m->cfg.n_vocab;
    const int topk = o->top_k > 0 && o->top_k < V;
    const int sparse = topk && !e->xo.dense_target;
    *q_out = *idx_out = NULL;
    et_scope *fs = et_scope_new();
    if (!fs)
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    const int64_t C = elm_obj_chunk_rows(e);
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
            et_tensor *implausible = NULL;
            if (st == ELM_OK && o->plausibility > 0)
                st = implausible_mask(cs, s, o->plausibility, &implausible);
            if (st == ELM_OK)
                st = et_add_(s, d, o->action == ELM_ACTION_ERASE ? -1.0 : 1.0);
            if (st == ELM_OK && implausible) {
                s = et_masked_fill(cs, s, implausible, -INFINITY);
                st = et_scope_check(cs);
            }
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
elm_status elm_obj_retain_target(elm_erase *e, et_scope *sc, int64_t N, et_tensor *h, et_tensor **out)
{
    *out = NULL;
    et_scope *fs = et_scope_new();
    if (!fs)
        return elm_err(ELM_E_NOMEM, "erase: out of memory");
    const int64_t C = elm_obj_chunk_rows(e), nch = (N + C - 1) / C;
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
        et_tensor *lg = elm_obj_logits_rows(e, cs, h, 0, c0, len);
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
et_tensor *elm_obj_erase_hard_label(elm_erase *e, et_scope *sc, et_tensor *q, et_tensor *idx)
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
elm_status elm_obj_target_entropy(et_scope *sc, et_tensor *q, double *h)
{
    *h = 0;
    int prev = et_set_grad_enabled(0);
    et_tensor *lq = et_masked_fill(sc, et_log(sc, q), et_eq_scalar(sc, q, 0.0), 0.0);
    et_tensor *H = et_mean_all(sc, et_neg(sc, et_sum(sc, et_mul(sc, q, lq), -1, 0)));
    et_set_grad_enabled(prev);
    elm_status st = et_scope_check(sc);
    return st == ELM_OK ? et_item(H, h) : st;
}
