/* The pieces of the ELM objective (erase/objective.c) shared by its parts
 * (prefix_kv.c, frozen_pass.c, target.c, trained_pass.c, target_cache.c)
 * and reused by the baseline objectives (erase/baselines.c): token buffers,
 * data positions, lm_head rows, the trained passes (trained_pass.c) and
 * the loss back-propagation. Internal to erase/. */
#ifndef ELM_ERASE_OBJECTIVE_INT_H
#define ELM_ERASE_OBJECTIVE_INT_H

#include "erase/session.h"

typedef struct ids_buf {
    int32_t *v;
    size_t n;
} ids_buf;

void elm_obj_ids_free(ids_buf *b);
/* tok(text) (with the tokenizer's special tokens when `special`). */
elm_status elm_obj_tokenize(elm_erase *e, const char *text, int special, ids_buf *out);
/* Keep the first n ids. */
void elm_obj_ids_cut(ids_buf *b, size_t n);
/* [n] I64 on the model's device. NULL on error (recorded in sc). */
et_tensor *elm_obj_i64(elm_erase *e, et_scope *sc, const int32_t *v, size_t n);
/* Logits [n, V] (fp32) of ids; trained: with the session's adapter (dropout
 * on) and autograd, else the frozen base model with gradients off. */
et_tensor *elm_obj_logits(elm_erase *e, et_scope *sc, const int32_t *ids, size_t n, int trained);
/* lambda * loss backward; *value gets the loss. Non-finite: ELM_E_NUMERIC. */
elm_status elm_obj_backprop(et_scope *sc, et_tensor *loss, double lambda, const char *term, double *value);
/* The next record of group g's `role` dataset (cycled); *index its index. */
const char *elm_obj_next_text(elm_erase *e, int g, elm_role role, int64_t *index);
/* The group of micro-step e->micro + b (erase.mix). */
int elm_obj_group_of(const elm_erase *e, int b);
/* Hand the pages of a finished term's freed tensors back to the system. */
void elm_obj_release_freed(void);
/* fp32 logits [len, V] of positions start .. start+len of batch row b of h
 * [B, T, E] (lm_head in the compute dtype, then fp32); only the result is
 * left in sc. */
et_tensor *elm_obj_logits_rows(elm_erase *e, et_scope *sc, et_tensor *h, int64_t b, int64_t start, int64_t len);
/* Rows of the vocabulary-sized work done at a time (erase/objective.h). */
int64_t elm_obj_chunk_rows(const elm_erase *e);
/* The decoder layer whose input a trained pass may take from a frozen pass
 * over the same ids: the first layer with LoRA; 0 when nothing is shared. */
int elm_obj_trunk_layer(const elm_erase *e);

/* ---- trained passes ---- */

/* What a trained pass's logits rows are scored against, row by row. */
typedef enum row_kind {
    ROWS_CE,     /* cross-entropy to I64 labels tgt [N] */
    ROWS_SOFT,   /* -sum_v q log_softmax, q [N, V] (any float dtype; used in fp32) */
    ROWS_SPARSE  /* the same with only q's k kept entries: q [N, k], idx [N, k] */
} row_kind;

typedef struct row_target {
    row_kind kind;
    et_tensor *tgt, *q, *idx;
} row_target;

/* One text of a trained pass: the adapted model (dropout on) over ids,
 * scored on its logits rows r0 .. r0+N against L; loss = the mean over the
 * N rows plus the constant add, stored in *value. */
typedef struct tpass {
    const ids_buf *ids;
    et_tensor *trunk;    /* its input of the first LoRA layer from a frozen pass ([1, n, E]), or NULL */
    int64_t r0, N;
    row_target L;
    double add;
    double *value;
} tpass;

/* The texts p[0..n) through the adapted model as one right-padded batch,
 * each text's mean row loss times lambda back-propagated (gradients
 * accumulate); *p[i].value = that mean (+ add). trained_pass.c documents how. */
elm_status elm_obj_trained_batch(elm_erase *e, et_scope *sc, const tpass *p, int n, double lambda,
                                 const char *term);

/* ---- erase/baselines.c: erase.objective rmu, grad_diff, npo ---- */

/* Checks of the options at session creation (bad combinations are
 * ELM_E_INVALID naming the key) and the objective's fixed state (RMU's u). */
elm_status elm_baseline_init(elm_erase *e);
void elm_baseline_release(elm_erase *e);
/* Micro-steps e->micro .. e->micro+nb-1 of a baseline objective (r set to
 * NaN / 0 by the caller); does not advance e->micro. */
elm_status elm_baseline_micro_batch(elm_erase *e, int nb, elm_micro_result *r);

#endif
