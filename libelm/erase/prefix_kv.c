/* Frozen K/V of the expert/novice prefixes (erase.prefix_cache): see
 * erase/prefix_kv.h. */
#include "erase/prefix_kv.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

/* A prefixed text's first tokens are its prefix's (exactly so with
 * erase.alignment = separate; with concat, as far as the tokenizations
 * agree): their keys and values in every layer depend on those tokens only,
 * so they are computed once per prefix and the frozen passes run only the
 * rest, attending to them through a KV cache. */

#define PKV_MAX 512

void elm_obj_pkv_free(struct elm_prefix_table *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n; i++) {
        free(t->v[i].text);
        elm_obj_ids_free(&t->v[i].ids);
        elm_kv_cache_free(t->v[i].kv);
    }
    free(t->v);
    free(t);
}

/* *out = the entry of prefix `text`, its K/V computed at the first use;
 * NULL when erase.prefix_cache is off, the table is full or the prefix has
 * no tokens. */
elm_status elm_obj_prefix_kv(elm_erase *e, const char *text, const pkv_entry **out)
{
    *out = NULL;
    if (!e->o.prefix_cache)
        return ELM_OK;
    struct elm_prefix_table *t = e->pkv;
    if (!t) {
        t = calloc(1, sizeof *t);
        if (t)
            t->v = calloc(PKV_MAX, sizeof *t->v);
        if (!t || !t->v) {
            free(t);
            return elm_err(ELM_E_NOMEM, "erase: out of memory");
        }
        e->pkv = t;
    }
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->v[i].text, text) == 0) {
            *out = t->v[i].kv ? &t->v[i] : NULL;
            return ELM_OK;
        }
    if (t->n >= PKV_MAX)
        return ELM_OK;
    pkv_entry en = {0};
    en.text = strdup(text);
    elm_status st = en.text ? elm_obj_tokenize(e, text, 1, &en.ids) : elm_err(ELM_E_NOMEM, "erase: out of memory");
    if (st == ELM_OK && en.ids.n > 0)
        st = elm_kv_cache_new(e->m, &en.kv);
    if (st == ELM_OK && en.kv) {
        et_scope *ps = et_scope_new();
        if (!ps)
            st = elm_err(ELM_E_NOMEM, "erase: out of memory");
        else {
            int64_t shape[2] = {1, (int64_t)en.ids.n};
            et_tensor *it = et_to(ps, et_from_data(ps, en.ids.v, ET_I32, 2, shape), ET_I64);
            elm_forward_opts fo;
            memset(&fo, 0, sizeof fo);
            fo.hidden_layer = -1;
            fo.no_logits = 1;
            fo.cache = en.kv;
            int prev = et_set_grad_enabled(0);
            et_tensor *h = NULL;
            st = it ? elm_model_forward_ex(e->m, ps, it, &fo, &h) : et_scope_check(ps);
            et_set_grad_enabled(prev);
            et_scope_free(ps);
        }
    }
    if (st != ELM_OK) {
        free(en.text);
        elm_obj_ids_free(&en.ids);
        elm_kv_cache_free(en.kv);
        return st;
    }
    t->v[t->n] = en;
    *out = en.kv ? &t->v[t->n] : NULL;
    t->n++;
    return ELM_OK;
}
