/* Multiple-choice accuracy as lm-evaluation-harness scores WMDP/MMLU
 * zero-shot: context = the prompt of elm_mcq_prompt, continuation j =
 * " {letter_j}"; the context is tokenized alone and continuation tokens are
 * those of tok(context + continuation) after the first len(tok(context))
 * (lm-eval's _encode_pair; no special tokens, lm-eval's default for causal
 * LMs); score j = sum of log P(continuation tokens). A single-token
 * continuation (" A" is one token in the Llama/Mistral/Qwen/SmolLM2
 * vocabularies) is scored from one forward pass of the context shared by all
 * choices; longer ones get their own pass.
 *
 * eval.mcq_scoring letter_logits (the ELM reference's variant): the choice
 * whose first continuation token has the largest logit at the context's last
 * position; the scores reported are those logits.
 *
 * eval.mcq_scoring cloze (lm-eval's acc_norm; the scores come from
 * mcq_cloze.c): each choice's own text scored as the continuation of
 * "Question: ...\nAnswer:"; the prediction is the argmax of log-likelihood per
 * character of the choice, predicted_unnormalized the plain argmax.
 *
 * Contexts are batched eval.batch at a time, longest first, left-padded with
 * an attention mask and positions cumsum(mask) - 1, logits of the last
 * position only, log-softmax in float64. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/utf8.h"
#include "eval/mcq_tok.h"
#include "eval/eval.h"
#include "tokenizer/tokenizer.h"

static const char LETTERS[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

void elm_wilson95(size_t k, size_t n, double *lo, double *hi)
{
    if (n == 0) {
        *lo = 0;
        *hi = 1;
        return;
    }
    const double z = 1.959963984540054;
    double p = (double)k / (double)n, nn = (double)n, z2 = z * z;
    double den = 1 + z2 / nn;
    double c = (p + z2 / (2 * nn)) / den;
    double h = z * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / den;
    *lo = k == 0 || c - h < 0 ? 0 : c - h; /* exact ends: no rounding residue */
    *hi = k == n || c + h > 1 ? 1 : c + h;
}

elm_status elm_mcq_report(elm_progress_fn progress, void *user, size_t done, size_t total, double t0)
{
    if (elm_progress_report(progress, user, "eval", done, total, t0, NULL))
        return elm_err(ELM_E_CANCELLED, "mcq: cancelled after %zu of %zu questions", done, total);
    return ELM_OK;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

char *elm_mcq_prompt(const elm_mcq_set *set, size_t i, const char *subject)
{
    const char *q = elm_mcq_question(set, i);
    size_t nch = elm_mcq_n_choices(set, i);
    if (!q)
        return NULL;
    while (*q && is_space(*q))
        q++;
    size_t ql = strlen(q);
    while (ql && is_space(q[ql - 1]))
        ql--;
    const char *head1 = "The following are multiple choice questions (with answers) about ";
    size_t cap = ql + 64 + (subject && subject[0] ? strlen(head1) + strlen(subject) + 4 : 0);
    for (size_t j = 0; j < nch; j++)
        cap += strlen(elm_mcq_choice(set, i, j)) + 5;
    char *out = malloc(cap), *w = out;
    if (!out)
        return NULL;
    if (subject && subject[0])
        w += sprintf(w, "%s%s.\n\n", head1, subject);
    memcpy(w, q, ql);
    w += ql;
    for (size_t j = 0; j < nch && j < 26; j++)
        w += sprintf(w, "\n%c. %s", LETTERS[j], elm_mcq_choice(set, i, j));
    strcpy(w, "\nAnswer:");
    return out;
}

/* The letter forms: context = the prompt, continuation j = its letter. */
static elm_status tokenize_question(const elm_tokenizer *tok, const elm_mcq_set *set, size_t i, const char *subject,
                                    elm_mcq_tok *t, const char *path)
{
    memset(t, 0, sizeof *t);
    size_t nch = elm_mcq_n_choices(set, i);
    if (nch > 26)
        return elm_err(ELM_E_UNSUPPORTED, "%s: question %zu has %zu choices (at most 26 letters)", path, i, nch);
    char *ctx = elm_mcq_prompt(set, i, subject);
    if (!ctx)
        return elm_err(ELM_E_NOMEM, "mcq: out of memory");
    char letters[26][2];
    const char *conts[26];
    for (size_t j = 0; j < nch; j++) {
        letters[j][0] = LETTERS[j];
        letters[j][1] = 0;
        conts[j] = letters[j];
    }
    elm_status st = elm_mcq_tok_build(tok, ctx, conts, nch, path, i, t);
    free(ctx);
    return st;
}

static et_tensor *to_dev(et_scope *s, et_tensor *x, et_device dev) { return dev.kind == 0 ? x : et_to_device(s, x, dev); }

/* Scores of continuation tokens at the last position of each context in the
 * batch `idx[0..b)`: rows of host doubles [b, V] (log-softmax or raw logits). */
static elm_status last_position(elm_model *m, elm_mcq_tok *qt, const size_t *idx, size_t b, int raw, double **out_rows,
                                int64_t *V_out)
{
    size_t T = 0;
    for (size_t k = 0; k < b; k++)
        if (qt[idx[k]].n_ctx > T)
            T = qt[idx[k]].n_ctx;
    int64_t *ids = calloc(b * T, sizeof *ids), *mask = calloc(b * T, sizeof *mask), *pos = calloc(b * T, sizeof *pos);
    et_scope *s = et_scope_new();
    elm_status st = ELM_OK;
    if (!ids || !mask || !pos || !s) {
        st = elm_err(ELM_E_NOMEM, "mcq: out of memory");
        goto done;
    }
    int64_t pad = m->cfg.pad_id >= 0 ? m->cfg.pad_id : 0;
    int any_pad = elm_mcq_pad_left(qt, idx, b, T, pad, ids, mask, pos);
    int64_t shape[2] = {(int64_t)b, (int64_t)T};
    elm_forward_opts fo;
    memset(&fo, 0, sizeof fo);
    fo.use_attached = 1;
    fo.hidden_layer = -1;
    fo.last_only = 1;
    fo.attn_mask = any_pad ? to_dev(s, et_from_data(s, mask, ET_I64, 2, shape), m->device) : NULL;
    fo.positions = any_pad ? to_dev(s, et_from_data(s, pos, ET_I64, 2, shape), m->device) : NULL;
    et_tensor *x = to_dev(s, et_from_data(s, ids, ET_I64, 2, shape), m->device);
    et_tensor *logits = elm_model_forward(m, s, x, &fo);
    int64_t V = et_size(logits, -1);
    int64_t shape2[2] = {(int64_t)b, V};
    et_tensor *l64 = et_to(s, et_reshape(s, logits, 2, shape2), ET_F64);
    et_tensor *res = raw ? l64 : et_log_softmax(s, l64, 1);
    if ((st = et_scope_check(s)) != ELM_OK)
        goto done;
    *out_rows = malloc((size_t)b * (size_t)V * sizeof(double));
    if (!*out_rows) {
        st = elm_err(ELM_E_NOMEM, "mcq: out of memory");
        goto done;
    }
    *V_out = V;
    st = et_to_host(res, *out_rows, ET_F64, (size_t)b * (size_t)V * sizeof(double));
    if (st != ELM_OK) {
        free(*out_rows);
        *out_rows = NULL;
    }
done:
    et_scope_free(s);
    free(ids);
    free(mask);
    free(pos);
    return st;
}

/* Log-likelihood of a multi-token continuation: one forward of ctx ⊕ cont[:-1]. */
static elm_status full_loglik(elm_model *m, const elm_mcq_tok *q, size_t j, double *out)
{
    size_t k = q->n_cont[j], T = q->n_ctx + k - 1;
    int64_t *ids = malloc(T * sizeof *ids), *tgt = malloc(T * sizeof *tgt);
    et_scope *s = et_scope_new();
    elm_status st = ELM_OK;
    double *vals = malloc(T * sizeof *vals);
    if (!ids || !tgt || !s || !vals) {
        st = elm_err(ELM_E_NOMEM, "mcq: out of memory");
        goto done;
    }
    for (size_t t = 0; t < T; t++) {
        ids[t] = t < q->n_ctx ? q->ctx[t] : q->cont[j][t - q->n_ctx];
        size_t nt = t + 1; /* the token position t predicts */
        tgt[t] = nt < q->n_ctx ? q->ctx[nt] : q->cont[j][nt - q->n_ctx];
    }
    int64_t shape[2] = {1, (int64_t)T}, shape3[3] = {1, (int64_t)T, 1};
    elm_forward_opts fo;
    memset(&fo, 0, sizeof fo);
    fo.use_attached = 1;
    fo.hidden_layer = -1;
    et_tensor *logits = elm_model_forward(m, s, to_dev(s, et_from_data(s, ids, ET_I64, 2, shape), m->device), &fo);
    et_tensor *lsm = et_log_softmax(s, et_to(s, logits, ET_F64), 2);
    et_tensor *g = et_gather(s, lsm, 2, to_dev(s, et_from_data(s, tgt, ET_I64, 3, shape3), m->device));
    if ((st = et_scope_check(s)) != ELM_OK)
        goto done;
    if ((st = et_to_host(g, vals, ET_F64, T * sizeof(double))) != ELM_OK)
        goto done;
    double sum = 0;
    for (size_t t = q->n_ctx - 1; t < T; t++)
        sum += vals[t];
    *out = sum;
done:
    et_scope_free(s);
    free(ids);
    free(tgt);
    free(vals);
    return st;
}

/* Scores of the letter forms (loglik, letter_logits) into sc / ntok. */
static elm_status letter_scores(elm_model *m, const elm_mcq_set *set, size_t n, size_t W, const char *subject,
                                int raw, int64_t batch, elm_progress_fn progress, void *user, double t0, double *sc,
                                int32_t *ntok)
{
    elm_status st = ELM_OK;
    elm_mcq_tok *qt = calloc(n ? n : 1, sizeof *qt);
    size_t *order = calloc(n ? n : 1, sizeof *order);
    if (!qt || !order) {
        st = elm_err(ELM_E_NOMEM, "mcq: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n && st == ELM_OK; i++)
        st = tokenize_question(m->tok, set, i, subject, &qt[i], "mcq");
    if (st != ELM_OK || (st = elm_mcq_order_by_len(qt, n, order)) != ELM_OK)
        goto done;
    size_t done_q = 0;
    for (size_t b0 = 0; b0 < n && st == ELM_OK; b0 += (size_t)batch) {
        size_t b = n - b0 < (size_t)batch ? n - b0 : (size_t)batch;
        double *rows = NULL;
        int64_t V = 0;
        if ((st = last_position(m, qt, order + b0, b, raw, &rows, &V)) != ELM_OK)
            break;
        for (size_t k = 0; k < b; k++) {
            size_t i = order[b0 + k];
            for (size_t j = 0; j < qt[i].nch; j++) {
                int32_t id = qt[i].cont[j][0];
                if (id < 0 || id >= V) {
                    st = elm_err(ELM_E_INTERNAL, "mcq: token id %d outside the vocabulary (%lld)", id, (long long)V);
                    break;
                }
                ntok[i * W + j] = raw ? 1 : (int32_t)qt[i].n_cont[j];
                if (raw || qt[i].n_cont[j] == 1)
                    sc[i * W + j] = rows[k * (size_t)V + (size_t)id];
            }
        }
        free(rows);
        for (size_t k = 0; k < b && st == ELM_OK && !raw; k++) {
            size_t i = order[b0 + k];
            for (size_t j = 0; j < qt[i].nch && st == ELM_OK; j++)
                if (qt[i].n_cont[j] > 1)
                    st = full_loglik(m, &qt[i], j, &sc[i * W + j]);
        }
        done_q += b;
        if (st == ELM_OK)
            st = elm_mcq_report(progress, user, done_q, n, t0);
    }
done:
    for (size_t i = 0; qt && i < n; i++)
        elm_mcq_tok_free(&qt[i]);
    free(qt);
    free(order);
    return st;
}

/* argmax of row[j] / (div ? div[j] : 1) over j < nch; *margin = best - second. */
static int argmax_row(const double *row, const double *div, size_t nch, double *margin)
{
    int best = 0;
    double b1 = -INFINITY, b2 = -INFINITY;
    for (size_t j = 0; j < nch; j++) {
        double v = div ? row[j] / div[j] : row[j];
        if (v > b1) {
            b2 = b1;
            b1 = v;
            best = (int)j;
        } else if (v > b2) {
            b2 = v;
        }
    }
    if (margin)
        *margin = nch > 1 ? b1 - b2 : 0;
    return best;
}

elm_status elm_mcq_eval(elm_model *m, const elm_mcq_set *set, const elm_eval_opts *o, elm_progress_fn progress,
                        void *user, elm_mcq_result **out, double **scores_out, size_t *stride_out)
{
    const char *subject = o->mcq_subject;
    int64_t limit = o->limit, batch = o->batch;
    elm_status st = ELM_OK;
    double t0 = elm_clock_s();
    *out = NULL;
    if (scores_out)
        *scores_out = NULL;
    int raw = o->mcq_scoring == ELM_MCQ_SCORING_LETTER_LOGITS, cloze = o->mcq_scoring == ELM_MCQ_SCORING_CLOZE;
    if (batch < 1)
        return elm_err(ELM_E_INVALID, "eval.batch: must be >= 1 (got %lld)", (long long)batch);
    if (!m->tok)
        return elm_err(ELM_E_STATE, "%s: the model has no tokenizer", m->path ? m->path : "model");
    size_t n = elm_mcq_count(set);
    if (limit > 0 && (size_t)limit < n)
        n = (size_t)limit;
    size_t W = 0;
    for (size_t i = 0; i < n; i++)
        if (elm_mcq_n_choices(set, i) > W)
            W = elm_mcq_n_choices(set, i);
    size_t cells = (n ? n : 1) * (W ? W : 1);
    double *sc = malloc(cells * sizeof *sc), *chars = malloc((W ? W : 1) * sizeof *chars);
    int32_t *ntok = calloc(cells, sizeof *ntok);
    elm_mcq_result *r = calloc(1, sizeof *r);
    if (!sc || !chars || !ntok || !r) {
        st = elm_err(ELM_E_NOMEM, "mcq: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n * W; i++)
        sc[i] = NAN;

    int prev = et_set_grad_enabled(0);
    if (cloze)
        st = elm_mcq_cloze_scores(m, set, n, W, batch, progress, user, t0, sc, ntok);
    else
        st = letter_scores(m, set, n, W, subject, raw, batch, progress, user, t0, sc, ntok);
    et_set_grad_enabled(prev);
    if (st != ELM_OK)
        goto fail;

    r->size = sizeof *r;
    r->n = n;
    r->stride = W;
    size_t nn = n ? n : 1;
    r->predicted = malloc(nn * sizeof(int32_t));
    r->predicted_unnormalized = malloc(nn * sizeof(int32_t));
    r->answers = malloc(nn * sizeof(int32_t));
    r->margins = malloc(nn * sizeof(double));
    if (!r->predicted || !r->predicted_unnormalized || !r->answers || !r->margins) {
        st = elm_err(ELM_E_NOMEM, "mcq: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        size_t nch = elm_mcq_n_choices(set, i);
        for (size_t j = 0; cloze && j < nch; j++) {
            const char *ch = elm_mcq_choice(set, i, j);
            size_t c = elm_utf8_count(ch, strlen(ch));
            chars[j] = c ? (double)c : 1.0; /* an empty choice: its sum (lm-eval would divide by 0) */
        }
        r->predicted[i] = argmax_row(sc + i * W, cloze ? chars : NULL, nch, &r->margins[i]);
        r->predicted_unnormalized[i] = cloze ? argmax_row(sc + i * W, NULL, nch, NULL) : r->predicted[i];
        r->answers[i] = elm_mcq_answer(set, i);
        r->n_correct += r->predicted[i] == r->answers[i];
        r->n_correct_unnormalized += r->predicted_unnormalized[i] == r->answers[i];
    }
    r->accuracy = n ? (double)r->n_correct / (double)n : 0;
    r->accuracy_unnormalized = n ? (double)r->n_correct_unnormalized / (double)n : 0;
    elm_wilson95(r->n_correct, n, &r->ci_low, &r->ci_high);
    if (scores_out) {
        double *copy = malloc(cells * sizeof *copy);
        if (!copy) {
            st = elm_err(ELM_E_NOMEM, "mcq: out of memory");
            goto fail;
        }
        memcpy(copy, sc, cells * sizeof *copy);
        *scores_out = copy;
        *stride_out = W;
    }
    r->loglik = sc;
    r->n_tokens = ntok;
    sc = NULL;
    ntok = NULL;
    r->seconds = elm_clock_s() - t0;
    *out = r;
    r = NULL;
fail:
    free(sc);
    free(ntok);
    free(chars);
    if (r) {
        free(r->predicted);
        free(r->predicted_unnormalized);
        free(r->answers);
        free(r->margins);
        free(r);
    }
    return st;
}
