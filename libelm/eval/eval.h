/* Evaluation inside libelm: multiple choice (mcq.c; its cloze scores in
 * mcq_cloze.c), perplexity and reverse perplexity (ppl.c). Used by api/eval_api.c. */
#ifndef ELM_EVAL_EVAL_H
#define ELM_EVAL_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "elm.h"
#include "eval/eval_opts.h"
#include "io/mcq.h"
#include "model/model.h"

/* The prompt of question i (lm-eval's zero-shot form):
 *   ["The following are multiple choice questions (with answers) about {subject}.\n\n"]
 *   "{question.strip()}\nA. {c0}\nB. {c1}...\nAnswer:"
 * Ownership: free(). */
char *elm_mcq_prompt(const elm_mcq_set *set, size_t i, const char *subject);

/* Multiple choice over a loaded set, with o's mcq_subject, mcq_scoring, limit
 * and batch. If scores is
 * non-NULL it receives a malloc'd copy of the result's n × stride loglik
 * matrix (row stride *stride): per-choice scores (log-likelihoods, or logits
 * for letter_logits; NaN past a row's choices). */
elm_status elm_mcq_eval(elm_model *m, const elm_mcq_set *set, const elm_eval_opts *o, elm_progress_fn progress,
                        void *user, elm_mcq_result **out, double **scores, size_t *stride);

/* The cloze context of question i: "Question: {question.strip()}\nAnswer:".
 * Ownership: free(). */
char *elm_mcq_cloze_context(const elm_mcq_set *set, size_t i);

/* Cloze scores (mcq_cloze.c) of questions [0, n) of set: loglik[i * stride + j]
 * = sum of log P(continuation tokens of " {choice j}"), n_tokens[i * stride + j]
 * = their count; other cells are left alone. eval.batch questions per step,
 * all choices of a question against one forward pass of its context.
 * Progress through elm_mcq_report (t0: the evaluation's start, monotonic). */
elm_status elm_mcq_cloze_scores(elm_model *m, const elm_mcq_set *set, size_t n, size_t stride, int64_t batch,
                                elm_progress_fn progress, void *user, double t0, double *loglik, int32_t *n_tokens);

/* Progress "eval" done/total (seconds since t0); ELM_E_CANCELLED when the
 * callback asks to stop. ELM_OK when progress is NULL. */
elm_status elm_mcq_report(elm_progress_fn progress, void *user, size_t done, size_t total, double t0);

/* 95% Wilson score interval for k successes out of n. */
void elm_wilson95(size_t k, size_t n, double *lo, double *hi);

/* Sum of next-token NLLs of seqs[i][t] for t in [max(1, from[i]), lens[i]),
 * each sequence on its own, with HF's sliding window (window tokens, moved
 * by stride; every scored token counted once, with the context its window
 * gives it). Windows are batched (right padding; up to `batch` windows and
 * about 1024 tokens per forward). The attached adapter is used. */
elm_status elm_nll_windows(elm_model *m, const int32_t *const *seqs, const size_t *lens, const size_t *from,
                           size_t n, int64_t window, int64_t stride, int64_t batch, elm_progress_fn progress,
                           void *user, double *nll_sum, int64_t *n_tokens);

/* Perplexity of a dataset's texts (o: window, stride, batch, limit), and the
 * reverse perplexity of gen's answers (o->gen) to prompts, scored by scorer. */
elm_status elm_ppl_run(elm_model *m, elm_dataset *ds, const elm_eval_opts *o, elm_progress_fn progress, void *user,
                       elm_ppl_result *out);
elm_status elm_rppl_run(elm_model *gen, elm_model *scorer, elm_dataset *prompts, const elm_eval_opts *o,
                        elm_progress_fn progress, void *user, elm_ppl_result *out);

#endif
