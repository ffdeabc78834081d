/* Internal switches of the ELM objective (erase/objective.c), for tests and
 * benchmarks only: both default to the fast path, and the slow ones compute
 * the same quantities (docs/erase.md) the straightforward way. */
#ifndef ELM_ERASE_OBJECTIVE_H
#define ELM_ERASE_OBJECTIVE_H

/* 1: the erase target is always built dense ([N, V] float64 q and a dense
 * soft cross-entropy), as when erase.top_k = 0. 0 (default): with
 * 0 < top_k < V only the k kept entries per row are built. */
extern int elm_objective_dense_target;
/* 1 (default): the frozen passes of a micro-step batch (x, expert and
 * novice for each erase target, and each retain text) run as one
 * right-padded batch; 0: one pass per sequence. */
extern int elm_objective_batch_frozen;
/* Rows of the vocabulary-sized frozen work done at a time (default 32);
 * also the rows of a trained pass's lm_head + loss with chunk_loss. */
extern int elm_objective_chunk_rows;
/* 1 (default): a trained pass (erase, retain, consistency, train) runs its
 * trunk to the final hidden state h, then lm_head, the fp32 logits and the
 * loss chunk_rows rows at a time on a detached copy of h, each chunk
 * back-propagated at once into that copy's gradient, which is then
 * back-propagated through the trunk: the [T, V] logits and their gradient
 * never exist whole. Same loss (mean over all rows) and gradients. 0: the
 * whole [T, V] logits and one backward of the loss. */
extern int elm_objective_chunk_loss;
/* 1 (default): with chunk_loss, the erase and retain trained passes start
 * at the first LoRA layer from the input of that layer computed by their
 * frozen pass over the same ids (the layers below have no adapter, so they
 * compute the same): those layers run once instead of twice. 0: every
 * trained pass runs all layers. */
extern int elm_objective_share_trunk;
/* Trained passes that started from a shared trunk so far (for tests). */
extern long elm_objective_trunk_passes;
/* Frozen rows that reused a prefix's K/V (erase.prefix_cache) so far (for tests). */
extern long elm_objective_prefix_rows;

#endif
