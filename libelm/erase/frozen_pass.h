/* The frozen passes of the ELM objective: the base model with gradients
 * off over a batch of rows, reusing prefixes' K/V (erase/prefix_kv.h) and
 * leaving the final hidden states (and the trunk a trained pass may start
 * from). Internal to erase/. */
#ifndef ELM_ERASE_FROZEN_PASS_H
#define ELM_ERASE_FROZEN_PASS_H

#include "erase/objective_int.h"
#include "erase/prefix_kv.h"

/* One sequence of a frozen pass: ids, of which the first pc are covered by
 * pre's K/V (pc 0, pre NULL: none). */
typedef struct frow {
    const ids_buf *ids;
    const pkv_entry *pre;
    size_t pc;
    int want_trunk;      /* its input of layer elm_obj_trunk_layer(e) is wanted (pc must be 0) */
} frow;

/* A frozen row over ids that reuses pre's K/V for the leading ids the two
 * have in common, leaving at least `need` ids (the positions used) to run. */
frow elm_obj_frozen_row(const ids_buf *ids, const pkv_entry *pre, size_t need);
/* The frozen passes of rows[0..n): one right-padded batch or one forward
 * per row (erase/objective.h); out[i] = row i's final hidden state of ids
 * pc .. n, [1, n - pc, E]; trunk[i] (rows with want_trunk) = their input of
 * the first LoRA layer, [1, n, E], or NULL. trunk may be NULL. */
elm_status elm_obj_frozen_rows(elm_erase *e, et_scope *sc, const frow *rows, int n, et_tensor **out,
                               et_tensor **trunk);

#endif
