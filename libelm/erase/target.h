/* The targets of the ELM objective's trained passes, built from the frozen
 * passes' final hidden states in chunks of rows: the erase target (sparse
 * top-k or dense q), its hard label and entropy, and the retain target.
 * Internal to erase/. */
#ifndef ELM_ERASE_TARGET_H
#define ELM_ERASE_TARGET_H

#include "erase/objective_int.h"

/* The erase target for a text of N positions from the frozen final hidden
 * states h[0..3) (text, expert, novice), or with action random (h NULL)
 * from a draw. Sparse: *q [N, k] float64 and *idx [N, k] I64; dense: *q
 * [N, V] float64, *idx = NULL. Only the result is left in sc. */
elm_status elm_obj_erase_target(elm_erase *e, et_scope *sc, int64_t N, et_tensor *const *h, et_tensor **q_out,
                                et_tensor **idx_out);
/* Retain targets of a text of N positions from the frozen final hidden
 * state h [1, N, E]: hard labels [N] (I64) or soft q [N, V] (fp32). */
elm_status elm_obj_retain_target(elm_erase *e, et_scope *sc, int64_t N, et_tensor *h, et_tensor **out);
/* The hard erase label [N] (I64): argmax of the target (q, idx). */
et_tensor *elm_obj_erase_hard_label(elm_erase *e, et_scope *sc, et_tensor *q, et_tensor *idx);
/* *h = the target's mean entropy -mean_t sum q log q (0 log 0 = 0). */
elm_status elm_obj_target_entropy(et_scope *sc, et_tensor *q, double *h);

#endif
