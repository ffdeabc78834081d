/* The frozen passes of the ELM objective: the base model, gradients off,
 * over the texts of a micro-step batch (see erase/frozen_pass.h). */
#include "erase/frozen_pass.h"
#include "erase/objective.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

/* A frozen row over ids that reuses pre's K/V for the leading ids the two
 * have in common, leaving at least `need` ids (the positions used) to run. */
frow elm_obj_frozen_row(const ids_buf *ids, const pkv_entry *pre, size_t need)
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
                e->xc.prefix_rows++;
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

/* The frozen passes of rows[0..n): one batch (e->xo.batch_frozen)
 * or one forward per row; see frozen_forward. trunk may be NULL. */
elm_status elm_obj_frozen_rows(elm_erase *e, et_scope *sc, const frow *rows, int n, et_tensor **out,
                              et_tensor **trunk)
{
    const int tl = trunk ? elm_obj_trunk_layer(e) : 0;
    for (int i = 0; trunk && i < n; i++)
        trunk[i] = NULL;
    e->lora->training = 0;
    int prev = et_set_grad_enabled(0);
    elm_status st = ELM_OK;
    if (e->xo.batch_frozen)
        st = frozen_forward(e, sc, rows, n, tl, out, trunk);
    else
        for (int i = 0; i < n && st == ELM_OK; i++)
            st = frozen_forward(e, sc, rows + i, 1, tl, out + i, trunk ? trunk + i : NULL);
    et_set_grad_enabled(prev);
    return st;
}
