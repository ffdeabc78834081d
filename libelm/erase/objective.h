/* Internal switches of the ELM objective (erase/objective.c and its parts),
 * for tests and benchmarks only, and its counters. Per session: each
 * elm_erase carries its own (e->xo, e->xc), filled with the defaults at
 * creation, so sessions of one process never see each other's. The
 * defaults are the fast paths; the slow ones compute the same quantities
 * (docs/erase.md) the straightforward way. */
#ifndef ELM_ERASE_OBJECTIVE_H
#define ELM_ERASE_OBJECTIVE_H

typedef struct elm_objective_opts {
    /* 1: the erase target is always built dense ([N, V] float64 q and a
     * dense soft cross-entropy), as when erase.top_k = 0. 0 (default): with
     * 0 < top_k < V only the k kept entries per row are built. */
    int dense_target;
    /* 1 (default): the frozen passes of a micro-step batch (x, expert and
     * novice for each erase target, and each retain text) run as one
     * right-padded batch; 0: one pass per sequence. */
    int batch_frozen;
    /* Rows of the vocabulary-sized frozen work done at a time (default 32;
     * <= 0 reads as 32); also the rows of a trained pass's lm_head + loss
     * with chunk_loss. */
    int chunk_rows;
    /* 1 (default): a trained pass (erase, retain, consistency, train) runs
     * its trunk to the final hidden state h, then lm_head, the fp32 logits
     * and the loss chunk_rows rows at a time on a detached copy of h, each
     * chunk back-propagated at once into that copy's gradient, which is
     * then back-propagated through the trunk: the [T, V] logits and their
     * gradient never exist whole. Same loss (mean over all rows) and
     * gradients. 0: the whole [T, V] logits and one backward of the loss. */
    int chunk_loss;
    /* 1 (default): with chunk_loss, the erase and retain trained passes
     * start at the first LoRA layer from the input of that layer computed
     * by their frozen pass over the same ids (the layers below have no
     * adapter, so they compute the same): those layers run once instead of
     * twice. 0: every trained pass runs all layers. */
    int share_trunk;
} elm_objective_opts;

/* Counts of a session's objective since its creation (for tests). A
 * session is used by one thread at a time, so plain counters suffice. */
typedef struct elm_objective_counters {
    long trunk_passes; /* trained passes that started from a shared trunk */
    long prefix_rows;  /* frozen rows that reused a prefix's K/V (erase.prefix_cache) */
} elm_objective_counters;

/* The defaults: dense_target 0, batch_frozen 1, chunk_rows 32, chunk_loss
 * 1, share_trunk 1. */
void elm_objective_opts_default(elm_objective_opts *o);

struct elm_erase;
/* Set session e's switches; takes effect from the next micro-step. */
void elm_erase_set_objective_opts(struct elm_erase *e, const elm_objective_opts *o);

#endif
