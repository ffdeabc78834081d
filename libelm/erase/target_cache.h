/* The erase and retain targets of the ELM objective in erase.frozen_cache
 * (erase/frozen_cache.h): when they are stored, their keys, lookup and
 * store. Internal to erase/. */
#ifndef ELM_ERASE_TARGET_CACHE_H
#define ELM_ERASE_TARGET_CACHE_H

#include "erase/frozen_cache.h"
#include "erase/objective_int.h"

/* Whether erase targets are stored: sparse top-k only (a dense one is
 * [N, V] float64 per text), not the random action (a fresh draw). */
int elm_obj_fc_erase_on(const elm_erase *e);
/* Whether retain labels are stored: hard ones only (soft ones are [N, V]
 * per text). */
int elm_obj_fc_retain_on(const elm_erase *e);
/* Look up the erase target of text xi with expert/novice ids ex, nv: *k =
 * its key (for a later elm_obj_fc_put; the caller frees it); on a hit of
 * the expected dtypes and shapes ([N, top_k] F64 and I64) *q, *idx = the
 * stored target on the model's device, in sc, and *found = 1. */
elm_status elm_obj_fc_erase_get(elm_erase *e, et_scope *sc, const ids_buf *xi, const ids_buf *ex,
                                const ids_buf *nv, elm_fcache_key *k, et_tensor **q, et_tensor **idx,
                                int *found);
/* The same for the hard retain labels of ids ([N] I64): *tgt, *found. */
elm_status elm_obj_fc_retain_get(elm_erase *e, et_scope *sc, const ids_buf *ids, elm_fcache_key *k,
                                 et_tensor **tgt, int *found);
/* Store t[0..n) under k; a failure (disk full, ...) costs only the reuse:
 * a warning. */
void elm_obj_fc_put(elm_erase *e, const elm_fcache_key *k, et_tensor *const *t, int n);

#endif
