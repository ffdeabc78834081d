#ifndef ELM_EVAL_MCQ_TOK_H
#define ELM_EVAL_MCQ_TOK_H
/* One multiple-choice question tokenized for scoring, and the batching both
 * scorings share (mcq.c: the letter forms; mcq_cloze.c: the choice texts):
 * the context's ids, and per choice the ids that context + " " + continuation
 * adds after the context's own (tokenized whole, so merges across the space
 * are what the model sees). */
#include <stddef.h>
#include <stdint.h>

#include "elm.h"
#include "tokenizer/tokenizer.h"

typedef struct elm_mcq_tok {
    int32_t *ctx;
    size_t n_ctx;
    size_t nch;
    int32_t **cont; /* per choice, n_cont[j] ids */
    size_t *n_cont;
} elm_mcq_tok;

/* Tokenize ctx and each ctx + " " + conts[j]. Errors name `where` (a file or
 * "mcq"), question i and the choice. On error q holds what was made; free it. */
elm_status elm_mcq_tok_build(const elm_tokenizer *tok, const char *ctx, const char *const *conts, size_t nch,
                             const char *where, size_t i, elm_mcq_tok *q);
void elm_mcq_tok_free(elm_mcq_tok *q);

/* order[0..n): question indices, longest context first, ties by index. */
elm_status elm_mcq_order_by_len(const elm_mcq_tok *qs, size_t n, size_t *order);

/* Rows k < b of [b, T] ids/mask/pos: question idx[k]'s context left-padded to T
 * (pad id, mask 0, position 1 on pads; positions 0.. on the real ids). Returns
 * 1 when any row is padded. */
int elm_mcq_pad_left(const elm_mcq_tok *qs, const size_t *idx, size_t b, size_t T, int64_t pad, int64_t *ids,
                     int64_t *mask, int64_t *pos);
#endif
