/* Evaluation inside libelm: multiple choice (mcq.c), perplexity and reverse
 * perplexity (ppl.c). Used by api/eval_api.c. */
#ifndef ELM_EVAL_EVAL_H
#define ELM_EVAL_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "elm.h"
#include "io/mcq.h"
#include "model/model.h"

/* The prompt of question i (lm-eval's zero-shot form):
 *   ["The following are multiple choice questions (with answers) about {subject}.\n\n"]
 *   "{question.strip()}\nA. {c0}\nB. {c1}...\nAnswer:"
 * Ownership: free(). */
char *elm_mcq_prompt(const elm_mcq_set *set, size_t i, const char *subject);

/* Multiple choice over a loaded set. Keys: eval.mcq_subject, eval.mcq_scoring,
 * eval.limit, eval.batch. If scores is non-NULL it receives a malloc'd
 * n × max_choices matrix (row stride *stride) of per-choice scores
 * (log-likelihoods, or logits for letter_logits; NaN past a row's choices). */
elm_status elm_mcq_eval(elm_model *m, const elm_mcq_set *set, const elm_config *cfg, elm_progress_fn progress,
                        void *user, elm_mcq_result **out, double **scores, size_t *stride);

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

elm_status elm_ppl_run(elm_model *m, elm_dataset *ds, const elm_config *cfg, elm_progress_fn progress, void *user,
                       elm_ppl_result *out);
elm_status elm_rppl_run(elm_model *gen, elm_model *scorer, elm_dataset *prompts, const elm_config *cfg,
                        elm_progress_fn progress, void *user, elm_ppl_result *out);

#endif
