#include "eval/mcq_tok.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

void elm_mcq_tok_free(elm_mcq_tok *q)
{
    if (!q)
        return;
    free(q->ctx);
    for (size_t j = 0; q->cont && j < q->nch; j++)
        free(q->cont[j]);
    free(q->cont);
    free(q->n_cont);
    memset(q, 0, sizeof *q);
}

elm_status elm_mcq_tok_build(const elm_tokenizer *tok, const char *ctx, const char *const *conts, size_t nch,
                             const char *where, size_t i, elm_mcq_tok *q)
{
    memset(q, 0, sizeof *q);
    size_t cl = strlen(ctx);
    q->nch = nch;
    q->cont = calloc(nch ? nch : 1, sizeof *q->cont);
    q->n_cont = calloc(nch ? nch : 1, sizeof *q->n_cont);
    if (!q->cont || !q->n_cont)
        return elm_err(ELM_E_NOMEM, "mcq: out of memory");
    elm_status st = elm_tok_encode(tok, ctx, cl, 0, &q->ctx, &q->n_ctx);
    if (st != ELM_OK)
        return st;
    if (q->n_ctx == 0)
        return elm_err(ELM_E_FORMAT, "%s: question %zu: the context tokenizes to nothing", where, i);
    char *whole = NULL;
    for (size_t j = 0; j < nch && st == ELM_OK; j++) {
        size_t len = strlen(conts[j]);
        char *w2 = realloc(whole, cl + len + 2);
        if (!w2) {
            st = elm_err(ELM_E_NOMEM, "mcq: out of memory");
            break;
        }
        whole = w2;
        memcpy(whole, ctx, cl);
        whole[cl] = ' ';
        memcpy(whole + cl + 1, conts[j], len + 1);
        int32_t *w = NULL;
        size_t nw = 0;
        if ((st = elm_tok_encode(tok, whole, cl + 1 + len, 0, &w, &nw)) != ELM_OK)
            break;
        if (nw <= q->n_ctx) {
            free(w);
            st = elm_err(ELM_E_FORMAT, "%s: question %zu, choice %zu: continuation ' %s' adds no token after the context",
                         where, i, j, conts[j]);
            break;
        }
        q->n_cont[j] = nw - q->n_ctx;
        memmove(w, w + q->n_ctx, q->n_cont[j] * sizeof *w); /* keep whole[n_ctx:] at the front */
        q->cont[j] = w;
    }
    free(whole);
    return st;
}

typedef struct len_key {
    size_t n_ctx, idx;
} len_key;

/* qsort's comparator sees only the pair: each key carries its length (no shared state). */
static int by_len_desc(const void *a, const void *b)
{
    const len_key *x = a, *y = b;
    if (x->n_ctx != y->n_ctx)
        return x->n_ctx < y->n_ctx ? 1 : -1;
    return x->idx < y->idx ? -1 : 1;
}

elm_status elm_mcq_order_by_len(const elm_mcq_tok *qs, size_t n, size_t *order)
{
    len_key *k = malloc((n ? n : 1) * sizeof *k);
    if (!k)
        return elm_err(ELM_E_NOMEM, "mcq: out of memory");
    for (size_t i = 0; i < n; i++)
        k[i] = (len_key){qs[i].n_ctx, i};
    qsort(k, n, sizeof *k, by_len_desc);
    for (size_t i = 0; i < n; i++)
        order[i] = k[i].idx;
    free(k);
    return ELM_OK;
}

int elm_mcq_pad_left(const elm_mcq_tok *qs, const size_t *idx, size_t b, size_t T, int64_t pad, int64_t *ids,
                     int64_t *mask, int64_t *pos)
{
    int any_pad = 0;
    for (size_t k = 0; k < b; k++) {
        const elm_mcq_tok *q = &qs[idx[k]];
        size_t off = T - q->n_ctx;
        any_pad |= off != 0;
        for (size_t t = 0; t < T; t++) {
            int real = t >= off;
            ids[k * T + t] = real ? q->ctx[t - off] : pad;
            mask[k * T + t] = real;
            pos[k * T + t] = real ? (int64_t)(t - off) : 1;
        }
    }
    return any_pad;
}
