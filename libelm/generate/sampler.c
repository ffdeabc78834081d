/* HF-style logits warpers (temperature → top-k → top-p) and the draw,
 * written with the same tensor operations transformers uses so that a seeded
 * run draws from the same distribution the same way. */
#include <math.h>

#include "core/error.h"
#include "generate/generate.h"

static et_tensor *scalar_like(et_scope *s, const et_tensor *t, double v)
{
    int64_t one = 1;
    return et_full(s, v, et_get_dtype(t), 1, &one, et_get_device(t));
}

elm_status elm_sample_rows(et_scope *s, const et_tensor *logits, double temperature, int64_t top_k,
                           double top_p, int64_t *out)
{
    int64_t B = et_size(logits, 0), V = et_size(logits, 1);
    et_tensor *idx;
    if (temperature <= 0) {
        idx = et_argmax(s, logits, 1, 0);
    } else {
        /* transformers divides (scores / temperature); so do we, for equal rounding */
        et_tensor *sc = et_div(s, logits, scalar_like(s, logits, temperature));
        if (top_k > 0) {
            int64_t k = top_k < V ? top_k : V;
            et_tensor *vals = NULL, *ids = NULL;
            ELM_TRY(et_topk(s, sc, k, 1, &vals, &ids));
            et_tensor *kth = et_narrow(s, vals, 1, k - 1, 1);
            sc = et_masked_fill(s, sc, et_lt(s, sc, kth), -INFINITY);
        }
        if (top_p < 1.0) {
            et_tensor *sv = NULL, *si = NULL;
            ELM_TRY(et_sort(s, sc, 1, 0, &sv, &si));
            et_tensor *cum = et_cumsum(s, et_softmax(s, sv, 1), 1);
            /* keep where cum > 1 - top_p (HF removes cum <= 1 - top_p) */
            et_tensor *keep = et_lt(s, scalar_like(s, cum, 1.0 - top_p), cum);
            et_tensor *rem = et_where(s, keep, scalar_like(s, cum, 0.0), scalar_like(s, cum, 1.0));
            /* min_tokens_to_keep = 1: never remove the last (largest) sorted entry */
            et_tensor *pos = et_arange(s, 0, V, ET_F32, et_get_device(cum));
            et_tensor *notlast = et_to(s, et_lt(s, pos, scalar_like(s, pos, (double)(V - 1))), et_get_dtype(cum));
            rem = et_mul(s, rem, notlast);
            et_tensor *back = et_scatter(s, rem, 1, si, rem);
            sc = et_masked_fill(s, sc, et_eq_scalar(s, back, 1.0), -INFINITY);
        }
        idx = et_multinomial(s, et_softmax(s, sc, 1));
    }
    ELM_TRY(et_scope_check(s));
    if (et_numel(idx) != B)
        return elm_err(ELM_E_INTERNAL, "sampler: drew %lld ids for %lld rows", (long long)et_numel(idx),
                       (long long)B);
    return et_to_host(idx, out, ET_I64, (size_t)B * sizeof(int64_t));
}

void elm_rng_seed(elm_rng *r, uint64_t seed) { r->s = seed; }

uint64_t elm_rng_next(elm_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int64_t elm_rng_range(elm_rng *r, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = (uint64_t)(hi - lo) + 1;
    return lo + (int64_t)(elm_rng_next(r) % span);
}
