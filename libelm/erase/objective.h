/* Internal switches of the ELM objective (erase/objective.c), for tests and
 * benchmarks only: both default to the fast path, and the slow ones compute
 * the same quantities (docs/erase.md) the straightforward way. */
#ifndef ELM_ERASE_OBJECTIVE_H
#define ELM_ERASE_OBJECTIVE_H

/* 1: the erase target is always built dense ([N, V] float64 q and a dense
 * soft cross-entropy), as when erase.top_k = 0. 0 (default): with
 * 0 < top_k < V only the k kept entries per row are built. */
extern int elm_objective_dense_target;
/* 1 (default): the three frozen passes of the erase target (x, expert,
 * novice) run as one right-padded batch; 0: three separate passes. */
extern int elm_objective_batch_frozen;
/* Rows of the vocabulary-sized frozen work done at a time (default 64). */
extern int elm_objective_chunk_rows;

#endif
