/* Erase-guided decoding (method §4): the frozen model continues the prompt
 * while two guidance streams — expert prefix + generated tokens and novice
 * prefix + generated tokens — push it away from what an expert would say:
 *
 *   score = lsm(P(p ⊕ y<t)) − γ · (lsm(P(c_exp' ⊕ y<t)) − lsm(P(c_nov' ⊕ y<t)))
 *
 * Each stream is its own batch-1 KV cache (no padding), all in fp32 logits;
 * the draw is argmax (greedy) or, as transformers' generate runs a custom
 * logits processor (the authors' ELMLogits) before its warpers, the score
 * through temperature → top-k → top-p (generate/sampler.c, the warpers plain
 * generation uses) and a multinomial draw. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "generate/generate.h"

typedef struct stream {
    elm_kv_cache *cache;
    int64_t pos;
} stream;

static et_tensor *feed(elm_model *m, et_scope *s, stream *st, const int32_t *ids, size_t n)
{
    int64_t *buf = malloc(n * sizeof *buf), *pos = malloc(n * sizeof *pos);
    if (!buf || !pos) {
        free(buf);
        free(pos);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        buf[i] = ids[i];
        pos[i] = st->pos + (int64_t)i;
    }
    int64_t shape[2] = {1, (int64_t)n};
    et_tensor *x = et_from_data(s, buf, ET_I64, 2, shape);
    et_tensor *px = et_from_data(s, pos, ET_I64, 2, shape);
    free(buf);
    free(pos);
    if (m->device.kind != 0) {
        x = et_to_device(s, x, m->device);
        px = et_to_device(s, px, m->device);
    }
    elm_forward_opts fo;
    memset(&fo, 0, sizeof fo);
    fo.cache = st->cache;
    fo.hidden_layer = -1;
    fo.last_only = 1;
    fo.positions = px;
    fo.use_attached = 0; /* the frozen base model generates */
    st->pos += (int64_t)n;
    et_tensor *logits = elm_model_forward(m, s, x, &fo); /* [1,1,V] */
    int64_t v = et_size(logits, -1);
    int64_t shape2[2] = {1, v};
    return et_log_softmax(s, et_reshape(s, logits, 2, shape2), 1);
}

elm_status elm_guided_ids(elm_model *m, const int32_t *p, size_t np, const int32_t *e, size_t ne,
                          const int32_t *v, size_t nv, const elm_guided_params *gp, int32_t **out,
                          size_t *n_out)
{
    elm_status st = ELM_OK;
    stream ss[3];
    memset(ss, 0, sizeof ss);
    et_scope *s = NULL;
    int32_t eos[8];
    size_t n_eos = gp->no_eos ? 0 : elm_gen_eos_ids(m, 0, eos, 8);
    int32_t *res = malloc(((size_t)(gp->n_new > 0 ? gp->n_new : 1)) * sizeof(int32_t));
    size_t nres = 0;
    *out = NULL;
    *n_out = 0;
    if (!res)
        return elm_err(ELM_E_NOMEM, "guided generation: out of memory");
    if (!np || !ne || !nv) {
        free(res);
        return elm_err(ELM_E_INVALID, "guided generation: empty prompt or prefix (%zu, %zu, %zu tokens)", np, ne, nv);
    }
    for (int k = 0; k < 3; k++)
        if ((st = elm_kv_cache_new(m, &ss[k].cache)) != ELM_OK)
            goto done;
    int prev = et_set_grad_enabled(0);
    const int32_t *in[3] = {p, e, v};
    size_t nin[3] = {np, ne, nv};
    int32_t tok = -1;
    for (int64_t t = 0; t < gp->n_new; t++) {
        et_scope_free(s);
        s = et_scope_new();
        if (!s) {
            st = elm_err(ELM_E_NOMEM, "guided generation: out of memory");
            break;
        }
        et_tensor *l[3];
        for (int k = 0; k < 3; k++)
            l[k] = t == 0 ? feed(m, s, &ss[k], in[k], nin[k]) : feed(m, s, &ss[k], &tok, 1);
        /* o − γ·(e − v) */
        et_tensor *score = et_add_scaled(s, l[0], et_sub(s, l[1], l[2]), -gp->guidance);
        int64_t id = 0;
        if ((st = et_scope_check(s)) != ELM_OK)
            break;
        if ((st = elm_sample_rows(s, score, gp->greedy ? 0.0 : gp->temperature, gp->top_k, gp->top_p, &id)) != ELM_OK)
            break;
        tok = (int32_t)id;
        int is_eos = 0;
        for (size_t k = 0; k < n_eos; k++)
            is_eos |= eos[k] == tok;
        if (is_eos)
            break;
        res[nres++] = tok;
    }
    et_set_grad_enabled(prev);
done:
    et_scope_free(s);
    for (int k = 0; k < 3; k++)
        elm_kv_cache_free(ss[k].cache);
    if (st != ELM_OK) {
        free(res);
        return st;
    }
    *out = res;
    *n_out = nres;
    return ELM_OK;
}
