/* The trained passes of the objectives: the adapted model over a batch of
 * texts, each scored on its own logits rows (see erase/objective_int.h). */
#include "erase/objective_int.h"
#include "erase/objective.h"

#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
 * straightforward form; e->xo.chunk_loss = 0). */
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
    if (!e->xo.chunk_loss) {
        for (int i = 0; i < n; i++)
            ELM_TRY(trained_whole(e, sc, &p[i], lambda, term));
        return ELM_OK;
    }
    size_t T = 0;
    int pad = 0;
    const int tl = elm_obj_trunk_layer(e);
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
    const int64_t C = elm_obj_chunk_rows(e);
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
            e->xc.trunk_passes += n;
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
            et_tensor *r = row_losses(cs, &P->L, elm_obj_logits_rows(e, cs, hd, i, P->r0 + c0, len), c0, len);
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
