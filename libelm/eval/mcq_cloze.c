/* Cloze multiple-choice scores (eval.mcq_scoring = cloze), as
 * lm-evaluation-harness scores a zero-shot multiple_choice task with
 * target_delimiter " " (ARC, HellaSwag, PIQA...):
 *
 *   context      "Question: {question.strip()}\nAnswer:"
 *   continuation " {choice}"            (the choice text as stored)
 *   ctx   = tok(context)                (no special tokens)
 *   cont  = tok(context + continuation)[len(ctx):]        (lm-eval's _encode_pair)
 *   loglik_j = sum over t of log P(cont[t] | ctx, cont[:t]), log-softmax in float64.
 *
 * The model input is ctx followed by cont, as in lm-eval, also where
 * tok(context + continuation) does not begin with ctx (a merge across the
 * boundary): lm-eval conditions on tok(context) in that case too, so every
 * choice of a question shares the context's forward pass and no choice needs
 * a pass of its own.
 *
 * The prediction (mcq.c) is lm-eval's acc_norm: argmax of loglik_j / len(choice_j),
 * len = characters of the choice text without the delimiter (Unicode code
 * points, Python's len(str); lm-eval's completion_len in
 * ConfigurableTask.process_results; its acc_bytes would use UTF-8 bytes),
 * and the unnormalised argmax is lm-eval's acc.
 *
 * Batching: eval.batch questions per step, longest context first. One forward
 * of the contexts (left padding, attention mask, positions cumsum(mask) - 1)
 * fills a KV cache and gives the first continuation token of every choice
 * (logits of the last position); the cache rows are then repeated once per
 * choice that has more tokens, and those choices' remaining tokens run as one
 * right-padded batch against the cache (positions n_ctx + t). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "eval/eval.h"
#include "eval/mcq_tok.h"
#include "tokenizer/tokenizer.h"

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

char *elm_mcq_cloze_context(const elm_mcq_set *set, size_t i)
{
    const char *q = elm_mcq_question(set, i);
    if (!q)
        return NULL;
    while (*q && is_space(*q))
        q++;
    size_t ql = strlen(q);
    while (ql && is_space(q[ql - 1]))
        ql--;
    static const char head[] = "Question: ", tail[] = "\nAnswer:";
    char *out = malloc(sizeof head - 1 + ql + sizeof tail);
    if (!out)
        return NULL;
    memcpy(out, head, sizeof head - 1);
    memcpy(out + sizeof head - 1, q, ql);
    memcpy(out + sizeof head - 1 + ql, tail, sizeof tail);
    return out;
}

/* The cloze form: context = "Question: ...\nAnswer:", continuation j = choice j's text. */
static elm_status tokenize(const elm_tokenizer *tok, const elm_mcq_set *set, size_t i, elm_mcq_tok *q)
{
    memset(q, 0, sizeof *q);
    size_t nch = elm_mcq_n_choices(set, i);
    char *ctx = elm_mcq_cloze_context(set, i);
    const char **conts = malloc((nch ? nch : 1) * sizeof *conts);
    elm_status st = ELM_OK;
    if (!ctx || !conts)
        st = elm_err(ELM_E_NOMEM, "mcq: out of memory");
    for (size_t j = 0; st == ELM_OK && j < nch; j++)
        conts[j] = elm_mcq_choice(set, i, j);
    if (st == ELM_OK)
        st = elm_mcq_tok_build(tok, ctx, conts, nch, "mcq", i, q);
    free(ctx);
    free(conts);
    return st;
}

static et_tensor *to_dev(et_scope *s, et_tensor *x, et_device dev) { return dev.kind == 0 ? x : et_to_device(s, x, dev); }

/* log P(tgt) at every row of logits [.., V]: gather(x) - logsumexp(x), float64. */
static et_tensor *token_logprobs(et_scope *s, et_tensor *logits, et_tensor *tgt, int dim)
{
    et_tensor *x = et_to(s, logits, ET_F64);
    return et_sub(s, et_gather(s, x, dim, tgt), et_logsumexp(s, x, dim, 1));
}

/* One step: questions idx[0..b) of qs; fills loglik/n_tokens rows. */
static elm_status score_batch(elm_model *m, elm_mcq_tok *qs, const size_t *idx, size_t b, size_t stride, double *loglik,
                              int32_t *n_tokens)
{
    size_t T = 0, W = 0, R = 0, L = 0;
    for (size_t k = 0; k < b; k++) {
        const elm_mcq_tok *q = &qs[idx[k]];
        T = q->n_ctx > T ? q->n_ctx : T;
        W = q->nch > W ? q->nch : W;
        for (size_t j = 0; j < q->nch; j++)
            if (q->n_cont[j] > 1) {
                R++;
                L = q->n_cont[j] - 1 > L ? q->n_cont[j] - 1 : L;
            }
    }
    int64_t pad = m->cfg.pad_id >= 0 ? m->cfg.pad_id : 0;
    elm_status st = ELM_OK;
    et_scope *s = et_scope_new();
    elm_kv_cache *cache = NULL;
    int64_t *ids = calloc(b * T, sizeof *ids), *mask = calloc(b * T, sizeof *mask), *pos = calloc(b * T, sizeof *pos);
    int64_t *first = calloc(b * W, sizeof *first);
    double *firstv = malloc(b * W * sizeof *firstv);
    int64_t *rows = calloc(R ? R : 1, sizeof *rows), *rids = calloc(R * L + 1, sizeof *rids),
            *rmask = calloc(R * L + 1, sizeof *rmask), *rpos = calloc(R * L + 1, sizeof *rpos),
            *rtgt = calloc(R * L + 1, sizeof *rtgt);
    double *rv = malloc((R * L + 1) * sizeof *rv);
    if (!s || !ids || !mask || !pos || !first || !firstv || !rows || !rids || !rmask || !rpos || !rtgt || !rv) {
        st = elm_err(ELM_E_NOMEM, "mcq: out of memory");
        goto done;
    }
    if ((st = elm_kv_cache_new(m, &cache)) != ELM_OK)
        goto done;

    /* the contexts, left-padded, through the cache */
    int any_pad = elm_mcq_pad_left(qs, idx, b, T, pad, ids, mask, pos);
    for (size_t k = 0; k < b; k++)
        for (size_t j = 0; j < qs[idx[k]].nch; j++)
            first[k * W + j] = qs[idx[k]].cont[j][0];
    int64_t shape[2] = {(int64_t)b, (int64_t)T}, fshape[2] = {(int64_t)b, (int64_t)W};
    elm_forward_opts fo;
    memset(&fo, 0, sizeof fo);
    fo.use_attached = 1;
    fo.hidden_layer = -1;
    fo.last_only = 1;
    fo.cache = cache;
    fo.attn_mask = any_pad ? to_dev(s, et_from_data(s, mask, ET_I64, 2, shape), m->device) : NULL;
    fo.positions = any_pad ? to_dev(s, et_from_data(s, pos, ET_I64, 2, shape), m->device) : NULL;
    et_tensor *logits = NULL;
    st = elm_model_forward_ex(m, s, to_dev(s, et_from_data(s, ids, ET_I64, 2, shape), m->device), &fo, &logits);
    if (st != ELM_OK)
        goto done;
    int64_t V = et_size(logits, -1);
    for (size_t i = 0; i < b * W; i++)
        if (first[i] < 0 || first[i] >= V) {
            st = elm_err(ELM_E_INTERNAL, "mcq: token id %lld outside the vocabulary (%lld)", (long long)first[i],
                         (long long)V);
            goto done;
        }
    int64_t lshape[2] = {(int64_t)b, V};
    et_tensor *g = token_logprobs(s, et_reshape(s, logits, 2, lshape),
                                  to_dev(s, et_from_data(s, first, ET_I64, 2, fshape), m->device), 1);
    if ((st = et_scope_check(s)) != ELM_OK || (st = et_to_host(g, firstv, ET_F64, b * W * sizeof(double))) != ELM_OK)
        goto done;
    for (size_t k = 0; k < b; k++) {
        const elm_mcq_tok *q = &qs[idx[k]];
        for (size_t j = 0; j < q->nch; j++) {
            loglik[idx[k] * stride + j] = firstv[k * W + j];
            n_tokens[idx[k] * stride + j] = (int32_t)q->n_cont[j];
        }
    }
    if (R == 0)
        goto done;

    /* the remaining continuation tokens, one row per choice, right-padded */
    size_t r = 0;
    for (size_t k = 0; k < b; k++) {
        const elm_mcq_tok *q = &qs[idx[k]];
        for (size_t j = 0; j < q->nch; j++) {
            if (q->n_cont[j] <= 1)
                continue;
            rows[r] = (int64_t)k;
            for (size_t t = 0; t < L; t++) {
                int real = t + 1 < q->n_cont[j];
                rids[r * L + t] = real ? q->cont[j][t] : pad;
                rtgt[r * L + t] = real ? q->cont[j][t + 1] : 0;
                rmask[r * L + t] = real;
                rpos[r * L + t] = (int64_t)(q->n_ctx + t);
                if (real && (rtgt[r * L + t] < 0 || rtgt[r * L + t] >= V)) {
                    st = elm_err(ELM_E_INTERNAL, "mcq: token id %lld outside the vocabulary (%lld)",
                                 (long long)rtgt[r * L + t], (long long)V);
                    goto done;
                }
            }
            r++;
        }
    }
    if ((st = elm_kv_cache_select(cache, rows, (int)R)) != ELM_OK)
        goto done;
    int64_t rshape[2] = {(int64_t)R, (int64_t)L}, tshape[3] = {(int64_t)R, (int64_t)L, 1};
    memset(&fo, 0, sizeof fo);
    fo.use_attached = 1;
    fo.hidden_layer = -1;
    fo.cache = cache;
    fo.attn_mask = to_dev(s, et_from_data(s, rmask, ET_I64, 2, rshape), m->device);
    fo.positions = to_dev(s, et_from_data(s, rpos, ET_I64, 2, rshape), m->device);
    st = elm_model_forward_ex(m, s, to_dev(s, et_from_data(s, rids, ET_I64, 2, rshape), m->device), &fo, &logits);
    if (st != ELM_OK)
        goto done;
    g = token_logprobs(s, logits, to_dev(s, et_from_data(s, rtgt, ET_I64, 3, tshape), m->device), 2);
    if ((st = et_scope_check(s)) != ELM_OK || (st = et_to_host(g, rv, ET_F64, R * L * sizeof(double))) != ELM_OK)
        goto done;
    r = 0;
    for (size_t k = 0; k < b; k++) {
        const elm_mcq_tok *q = &qs[idx[k]];
        for (size_t j = 0; j < q->nch; j++) {
            if (q->n_cont[j] <= 1)
                continue;
            double sum = 0;
            for (size_t t = 0; t + 1 < q->n_cont[j]; t++)
                sum += rv[r * L + t];
            loglik[idx[k] * stride + j] += sum;
            r++;
        }
    }
done:
    elm_kv_cache_free(cache);
    et_scope_free(s);
    free(ids);
    free(mask);
    free(pos);
    free(first);
    free(firstv);
    free(rows);
    free(rids);
    free(rmask);
    free(rpos);
    free(rtgt);
    free(rv);
    return st;
}

elm_status elm_mcq_cloze_scores(elm_model *m, const elm_mcq_set *set, size_t n, size_t stride, int64_t batch,
                                elm_progress_fn progress, void *user, double t0, double *loglik, int32_t *n_tokens)
{
    if (batch < 1)
        return elm_err(ELM_E_INVALID, "eval.batch must be >= 1 (got %lld)", (long long)batch);
    elm_mcq_tok *qs = calloc(n ? n : 1, sizeof *qs);
    size_t *order = calloc(n ? n : 1, sizeof *order);
    elm_status st = ELM_OK;
    if (!qs || !order) {
        st = elm_err(ELM_E_NOMEM, "mcq: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n && st == ELM_OK; i++)
        st = tokenize(m->tok, set, i, &qs[i]);
    if (st != ELM_OK)
        goto done;
    if ((st = elm_mcq_order_by_len(qs, n, order)) != ELM_OK)
        goto done;
    for (size_t b0 = 0; b0 < n && st == ELM_OK; b0 += (size_t)batch) {
        size_t b = n - b0 < (size_t)batch ? n - b0 : (size_t)batch;
        st = score_batch(m, qs, order + b0, b, stride, loglik, n_tokens);
        if (st == ELM_OK)
            st = elm_mcq_report(progress, user, b0 + b, n, t0);
    }
done:
    for (size_t i = 0; qs && i < n; i++)
        elm_mcq_tok_free(&qs[i]);
    free(qs);
    free(order);
    return st;
}
