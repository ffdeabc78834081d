/* The erase and retain targets in erase.frozen_cache (see
 * erase/target_cache.h). */
#include "erase/target_cache.h"
#include "erase/objective.h"

#include "core/error.h"
#include "core/log.h"

/* Whether the erase target is stored: sparse top-k only (a dense one is
 * [N, V] float64 per text), not the random action (a fresh draw). */
int elm_obj_fc_erase_on(const elm_erase *e)
{
    const elm_erase_opts *o = &e->o;
    return e->fcache && o->action != ELM_ACTION_RANDOM && o->top_k > 0 && o->top_k < e->m->cfg.n_vocab &&
           !e->xo.dense_target;
}

/* Hard retain labels only (soft ones are [N, V] per text). */
int elm_obj_fc_retain_on(const elm_erase *e)
{
    return e->fcache && !e->o.retain_soft;
}

/* t is dt with shape [d0] (d1 < 0) or [d0, d1]. */
static int fc_shape_ok(const et_tensor *t, et_dtype dt, int64_t d0, int64_t d1)
{
    if (!t || et_get_dtype(t) != dt || et_ndim(t) != (d1 < 0 ? 1 : 2) || et_size(t, 0) != d0)
        return 0;
    return d1 < 0 || et_size(t, 1) == d1;
}

/* A tensor read from the cache, on the model's device. */
static et_tensor *fc_to_device(elm_erase *e, et_scope *sc, et_tensor *t)
{
    return e->m->device.kind != 0 ? et_to_device(sc, t, e->m->device) : t;
}

/* What an erase target depends on besides the model: eta, its schedule,
 * tau, top-k, the plausibility mask, the action and the three id sequences. */
static elm_status fc_erase_key(elm_erase *e, const ids_buf *xi, const ids_buf *ex, const ids_buf *nv,
                               elm_fcache_key *k)
{
    const elm_erase_opts *o = &e->o;
    ELM_TRY(elm_fcache_key_begin(e->fcache, "erase", k));
    elm_status st = elm_fcache_key_add_f64(k, o->eta);
    if (st == ELM_OK)
        st = elm_fcache_key_add_i64(k, o->eta_ramp);
    if (st == ELM_OK)
        st = elm_fcache_key_add_f64(k, o->tau);
    if (st == ELM_OK)
        st = elm_fcache_key_add_i64(k, o->top_k);
    if (st == ELM_OK && o->plausibility > 0) /* absent when off: earlier caches stay valid */
        st = elm_fcache_key_add_f64(k, o->plausibility);
    if (st == ELM_OK)
        st = elm_fcache_key_add_i64(k, (int64_t)o->action);
    if (st == ELM_OK)
        st = elm_fcache_key_add_i32s(k, xi->v, xi->n);
    if (st == ELM_OK)
        st = elm_fcache_key_add_i32s(k, ex->v, ex->n);
    if (st == ELM_OK)
        st = elm_fcache_key_add_i32s(k, nv->v, nv->n);
    return st;
}

elm_status elm_obj_fc_erase_get(elm_erase *e, et_scope *sc, const ids_buf *xi, const ids_buf *ex,
                                const ids_buf *nv, elm_fcache_key *k, et_tensor **q, et_tensor **idx,
                                int *found)
{
    const elm_erase_opts *o = &e->o;
    et_tensor *got[2] = {NULL, NULL};
    int hit = 0;
    *found = 0;
    elm_status st = fc_erase_key(e, xi, ex, nv, k);
    if (st == ELM_OK)
        st = elm_fcache_get(e->fcache, k, sc, got, 2, &hit);
    const int64_t N = (int64_t)xi->n;
    if (st == ELM_OK && hit && fc_shape_ok(got[0], ET_F64, N, o->top_k) &&
        fc_shape_ok(got[1], ET_I64, N, o->top_k)) {
        *q = fc_to_device(e, sc, got[0]);
        *idx = fc_to_device(e, sc, got[1]);
        *found = 1;
        st = et_scope_check(sc);
    }
    return st;
}

elm_status elm_obj_fc_retain_get(elm_erase *e, et_scope *sc, const ids_buf *ids, elm_fcache_key *k,
                                 et_tensor **tgt, int *found)
{
    et_tensor *got = NULL;
    int hit = 0;
    *found = 0;
    elm_status st = elm_fcache_key_begin(e->fcache, "retain", k);
    if (st == ELM_OK)
        st = elm_fcache_key_add_i32s(k, ids->v, ids->n);
    if (st == ELM_OK)
        st = elm_fcache_get(e->fcache, k, sc, &got, 1, &hit);
    if (st == ELM_OK && hit && fc_shape_ok(got, ET_I64, (int64_t)ids->n, -1)) {
        *tgt = fc_to_device(e, sc, got);
        *found = 1;
        st = et_scope_check(sc);
    }
    return st;
}

/* Store; a failure (disk full, ...) costs only the reuse: a warning. */
void elm_obj_fc_put(elm_erase *e, const elm_fcache_key *k, et_tensor *const *t, int n)
{
    if (elm_fcache_put(e->fcache, k, t, n) != ELM_OK) {
        elm_log(ELM_LOG_WARN, "erase.frozen_cache: not stored: %s", elm_last_error());
        elm_err_clear();
    }
}
