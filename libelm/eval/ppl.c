/* Perplexity and reverse perplexity.
 *
 * What is scored (elm_eval_perplexity): each text of the dataset on its own,
 * tokenized with the tokenizer's special tokens (BOS where the tokenizer's
 * post-processor adds one); every token after the first is scored given the
 * tokens before it inside its window. Windows follow the HF perplexity guide:
 * windows of eval.window tokens (0: the model's context) starting every
 * eval.stride tokens (0: window / 2), each scoring only the tokens the
 * previous window did not score. perplexity = exp(total NLL / scored tokens)
 * over the whole dataset (token-weighted, not a mean of per-text values).
 *
 * Reverse perplexity (elm_eval_reverse_perplexity): the generator continues
 * each text of `prompts` (gen.* keys; gen.chat wraps the prompt for the
 * generator only); the scorer tokenizes the prompt with its specials and the
 * generated text without, concatenates the two, and only the generated
 * tokens count. Empty generations add nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/struct_size.h"
#include "core/progress.h"
#include "eval/eval.h"
#include "generate/generate.h"
#include "io/dataset.h"
#include "tokenizer/tokenizer.h"

#define TOKEN_BUDGET 1024 /* padded tokens per forward pass (bounds the [B,T,V] logits) */

typedef struct win {
    size_t seq;
    size_t begin, end; /* tokens [begin, end) */
    size_t lo;         /* score tokens [lo, end) */
} win;

static int win_cmp(const void *a, const void *b)
{
    const win *x = a, *y = b;
    size_t lx = x->end - x->begin, ly = y->end - y->begin;
    if (lx != ly)
        return lx < ly ? 1 : -1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq ? 1 : (x->begin < y->begin ? -1 : 1));
}

static et_tensor *to_dev(et_scope *s, et_tensor *x, et_device dev) { return dev.kind == 0 ? x : et_to_device(s, x, dev); }

elm_status elm_nll_windows(elm_model *m, const int32_t *const *seqs, const size_t *lens, const size_t *from,
                           size_t n, int64_t window, int64_t stride, int64_t batch, elm_progress_fn progress,
                           void *user, double *nll_sum, int64_t *n_tokens)
{
    elm_status st = ELM_OK;
    double t0 = elm_clock_s();
    *nll_sum = 0;
    *n_tokens = 0;
    if (window <= 0)
        window = m->cfg.n_ctx > 0 ? m->cfg.n_ctx : 2048;
    if (stride <= 0)
        stride = window / 2 > 0 ? window / 2 : 1;
    if (stride > window)
        return elm_err(ELM_E_INVALID, "eval.stride (%lld) is larger than eval.window (%lld)", (long long)stride,
                       (long long)window);
    /* the windows of every sequence */
    size_t nw = 0, cap = 64;
    win *w = malloc(cap * sizeof *w);
    if (!w)
        return elm_err(ELM_E_NOMEM, "perplexity: out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t L = lens[i], prev_end = 0;
        for (size_t begin = 0; begin < L; begin += (size_t)stride) {
            size_t end = begin + (size_t)window < L ? begin + (size_t)window : L;
            size_t lo = prev_end > begin + 1 ? prev_end : begin + 1;
            if (from && from[i] > lo)
                lo = from[i];
            if (lo < end) {
                if (nw == cap) {
                    win *w2 = realloc(w, (cap *= 2) * sizeof *w);
                    if (!w2) {
                        free(w);
                        return elm_err(ELM_E_NOMEM, "perplexity: out of memory");
                    }
                    w = w2;
                }
                w[nw++] = (win){i, begin, end, lo};
            }
            prev_end = end;
            if (end == L)
                break;
        }
    }
    qsort(w, nw, sizeof *w, win_cmp);
    int prev = et_set_grad_enabled(0);
    double sum = 0;
    int64_t count = 0;
    for (size_t k0 = 0; k0 < nw && st == ELM_OK;) {
        size_t T = w[k0].end - w[k0].begin, b = 1;
        while (k0 + b < nw && (int64_t)b < batch && (b + 1) * T <= TOKEN_BUDGET)
            b++;
        int64_t *ids = calloc(b * T, sizeof *ids), *tgt = calloc(b * T, sizeof *tgt);
        float *vals = malloc(b * T * sizeof *vals);
        et_scope *s = et_scope_new();
        if (!ids || !tgt || !vals || !s) {
            st = elm_err(ELM_E_NOMEM, "perplexity: out of memory");
        } else {
            /* right padding: causal attention keeps padding out of real positions */
            for (size_t r = 0; r < b; r++) {
                const win *x = &w[k0 + r];
                size_t len = x->end - x->begin;
                for (size_t t = 0; t < len; t++) {
                    ids[r * T + t] = seqs[x->seq][x->begin + t];
                    tgt[r * T + t] = t + 1 < len ? seqs[x->seq][x->begin + t + 1] : 0;
                }
            }
            int64_t shape[2] = {(int64_t)b, (int64_t)T}, shape3[3] = {(int64_t)b, (int64_t)T, 1};
            elm_forward_opts fo;
            memset(&fo, 0, sizeof fo);
            fo.use_attached = 1;
            fo.hidden_layer = -1;
            et_tensor *logits = elm_model_forward(m, s, to_dev(s, et_from_data(s, ids, ET_I64, 2, shape), m->device), &fo);
            et_tensor *g = et_gather(s, et_log_softmax(s, logits, 2), 2,
                                     to_dev(s, et_from_data(s, tgt, ET_I64, 3, shape3), m->device));
            st = et_scope_check(s);
            if (st == ELM_OK)
                st = et_to_host(g, vals, ET_F32, b * T * sizeof(float));
            for (size_t r = 0; r < b && st == ELM_OK; r++) {
                const win *x = &w[k0 + r];
                /* token t (absolute) is predicted at window position t - begin - 1 */
                for (size_t t = x->lo; t < x->end; t++) {
                    sum -= (double)vals[r * T + (t - x->begin - 1)];
                    count++;
                }
            }
        }
        et_scope_free(s);
        free(ids);
        free(tgt);
        free(vals);
        k0 += b;
        if (st == ELM_OK && elm_progress_report(progress, user, "eval", k0, nw, t0, NULL))
            st = elm_err(ELM_E_CANCELLED, "perplexity: cancelled after %zu of %zu windows", k0, nw);
    }
    et_set_grad_enabled(prev);
    free(w);
    if (st != ELM_OK)
        return st;
    *nll_sum = sum;
    *n_tokens = count;
    return ELM_OK;
}

static void fill_result(elm_ppl_result *out, double sum, int64_t count, double seconds)
{
    elm_ppl_result full;
    memset(&full, 0, sizeof full);
    full.nll = count ? sum / (double)count : 0;
    full.perplexity = count ? exp(full.nll) : NAN;
    full.n_tokens = count;
    full.seconds = seconds;
    elm_struct_fill(out, &full, sizeof full);
}

static elm_status texts_of(elm_dataset *ds, int64_t limit, size_t *n)
{
    if (elm_dataset_kind_of(ds) == ELM_DATASET_PAIRS)
        return elm_err(ELM_E_INVALID, "%s: perplexity needs a dataset of texts, not pairs", elm_dataset_path(ds));
    *n = elm_dataset_count(ds);
    if (limit > 0 && (size_t)limit < *n)
        *n = (size_t)limit;
    return ELM_OK;
}

elm_status elm_ppl_run(elm_model *m, elm_dataset *ds, const elm_eval_opts *o, elm_progress_fn progress, void *user,
                       elm_ppl_result *out)
{
    int64_t window = o->window, stride = o->stride, batch = o->batch;
    size_t n;
    double t0 = elm_clock_s();
    ELM_TRY(texts_of(ds, o->limit, &n));
    if (!m->tok)
        return elm_err(ELM_E_STATE, "%s: the model has no tokenizer", m->path ? m->path : "model");
    int32_t **ids = calloc(n ? n : 1, sizeof *ids);
    size_t *lens = calloc(n ? n : 1, sizeof *lens);
    elm_status st = ids && lens ? ELM_OK : elm_err(ELM_E_NOMEM, "perplexity: out of memory");
    for (size_t i = 0; i < n && st == ELM_OK; i++) {
        const char *t = elm_dataset_text_at(ds, i);
        st = elm_tok_encode(m->tok, t, strlen(t), ELM_TOKENIZE_ADD_SPECIAL, &ids[i], &lens[i]);
    }
    double sum = 0;
    int64_t count = 0;
    if (st == ELM_OK)
        st = elm_nll_windows(m, (const int32_t *const *)ids, lens, NULL, n, window, stride, batch, progress, user, &sum,
                             &count);
    for (size_t i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
    free(lens);
    if (st == ELM_OK)
        fill_result(out, sum, count, elm_clock_s() - t0);
    return st;
}

elm_status elm_rppl_run(elm_model *gen, elm_model *scorer, elm_dataset *prompts, const elm_eval_opts *o,
                        elm_progress_fn progress, void *user, elm_ppl_result *out)
{
    int64_t window = o->window, stride = o->stride, batch = o->batch;
    size_t n;
    const elm_gen_params *gp = &o->gen;
    double t0 = elm_clock_s();
    ELM_TRY(texts_of(prompts, o->limit, &n));
    if (!gen->tok || !scorer->tok)
        return elm_err(ELM_E_STATE, "reverse perplexity: the generator and the scorer both need a tokenizer");
    int32_t **ids = calloc(n ? n : 1, sizeof *ids);
    size_t *lens = calloc(n ? n : 1, sizeof *lens), *from = calloc(n ? n : 1, sizeof *from);
    elm_status st = ids && lens && from ? ELM_OK : elm_err(ELM_E_NOMEM, "reverse perplexity: out of memory");
    for (size_t b0 = 0; b0 < n && st == ELM_OK; b0 += (size_t)batch) {
        size_t b = n - b0 < (size_t)batch ? n - b0 : (size_t)batch;
        int32_t *pids[4096];
        size_t plen[4096];
        elm_gen_result res[4096];
        memset(pids, 0, sizeof(pids[0]) * b);
        memset(res, 0, sizeof(res[0]) * b);
        for (size_t k = 0; k < b && st == ELM_OK; k++)
            st = elm_gen_tokenize_prompt(gen, elm_dataset_text_at(prompts, b0 + k), gp, &pids[k], &plen[k]);
        if (st == ELM_OK)
            st = elm_gen_ids(gen, (const int32_t *const *)pids, plen, b, gp, NULL, NULL, res);
        for (size_t k = 0; k < b; k++)
            free(pids[k]);
        for (size_t k = 0; k < b && st == ELM_OK; k++) {
            const char *p = elm_dataset_text_at(prompts, b0 + k);
            int32_t *a = NULL, *g = NULL;
            size_t na = 0, ng = 0;
            st = elm_tok_encode(scorer->tok, p, strlen(p), ELM_TOKENIZE_ADD_SPECIAL, &a, &na);
            if (st == ELM_OK)
                st = elm_tok_encode(scorer->tok, res[k].text, strlen(res[k].text), 0, &g, &ng);
            if (st == ELM_OK) {
                ids[b0 + k] = malloc((na + ng + 1) * sizeof(int32_t));
                if (!ids[b0 + k]) {
                    st = elm_err(ELM_E_NOMEM, "reverse perplexity: out of memory");
                } else {
                    memcpy(ids[b0 + k], a, na * sizeof(int32_t));
                    if (ng)
                        memcpy(ids[b0 + k] + na, g, ng * sizeof(int32_t));
                    lens[b0 + k] = ng ? na + ng : 0; /* nothing generated: nothing to score */
                    from[b0 + k] = na;
                }
            }
            free(a);
            free(g);
        }
        for (size_t k = 0; k < b; k++)
            elm_gen_result_clear(&res[k]);
        if (st == ELM_OK && elm_progress_report(progress, user, "generate", b0 + b, n, t0, NULL))
            st = elm_err(ELM_E_CANCELLED, "reverse perplexity: cancelled after %zu of %zu prompts", b0 + b, n);
    }
    double sum = 0;
    int64_t count = 0;
    if (st == ELM_OK)
        st = elm_nll_windows(scorer, (const int32_t *const *)ids, lens, from, n, window, stride, batch, progress, user,
                             &sum, &count);
    for (size_t i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
    free(lens);
    free(from);
    if (st == ELM_OK)
        fill_result(out, sum, count, elm_clock_s() - t0);
    return st;
}
