/* LoRA adapters over a model's projections, laid out as PEFT does. */
#include "model/model.h"

#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

elm_status elm_lora_new(const elm_model *m, int rank, double alpha, double dropout,
                        const unsigned *layer_mask, unsigned module_mask, elm_lora **out)
{
    if (!out)
        return elm_err(ELM_E_INVALID, "elm_lora_new: out is NULL");
    *out = NULL;
    if (!m || rank < 1 || !(alpha > 0) || !(dropout >= 0 && dropout < 1))
        return elm_err(ELM_E_INVALID, "elm_lora_new: need a model, rank >= 1, alpha > 0, 0 <= dropout < 1 "
                                      "(got rank %d, alpha %g, dropout %g)", rank, alpha, dropout);
    if ((module_mask & ((1u << ELM_MOD_COUNT) - 1)) == 0)
        return elm_err(ELM_E_INVALID, "elm_lora_new: no target module");
    int L = m->cfg.n_layers;
    elm_lora *l = calloc(1, sizeof *l);
    if (!l)
        return elm_err(ELM_E_NOMEM, "elm_lora_new: out of memory");
    l->n_layers = L;
    l->rank = rank;
    l->alpha = alpha;
    l->scale = alpha / rank;
    l->dropout = dropout;
    l->module_mask = module_mask & ((1u << ELM_MOD_COUNT) - 1);
    l->scope = et_scope_new();
    l->A = calloc((size_t)L * ELM_MOD_COUNT, sizeof *l->A);
    l->B = calloc((size_t)L * ELM_MOD_COUNT, sizeof *l->B);
    if (!l->scope || !l->A || !l->B) {
        elm_lora_free(l);
        return elm_err(ELM_E_NOMEM, "elm_lora_new: out of memory");
    }
    int any = 0;
    for (int i = 0; i < L; i++) {
        if (layer_mask && !layer_mask[i])
            continue;
        for (int mod = 0; mod < ELM_MOD_COUNT; mod++) {
            if (!(l->module_mask & (1u << mod)))
                continue;
            int64_t o, in;
            elm_model_module_shape(m, (elm_module)mod, &o, &in);
            int64_t as[2] = {rank, in}, bs[2] = {o, rank};
            et_tensor *A = et_zeros(l->scope, ET_F32, 2, as, m->device);
            et_tensor *B = et_zeros(l->scope, ET_F32, 2, bs, m->device);
            if (A)
                et_set_requires_grad(A, 1);
            if (B)
                et_set_requires_grad(B, 1);
            ELM_LORA_A(l, i, mod) = A;
            ELM_LORA_B(l, i, mod) = B;
            any = 1;
        }
    }
    elm_status st = et_scope_check(l->scope);
    if (st == ELM_OK && !any)
        st = elm_err(ELM_E_INVALID, "elm_lora_new: no layer selected");
    if (st != ELM_OK) {
        elm_lora_free(l);
        return st;
    }
    *out = l;
    return ELM_OK;
}

void elm_lora_free(elm_lora *l)
{
    if (!l)
        return;
    et_scope_free(l->scope);
    free(l->A);
    free(l->B);
    free(l);
}

elm_status elm_lora_init_peft(elm_lora *l)
{
    if (!l)
        return elm_err(ELM_E_INVALID, "elm_lora_init_peft: adapter is NULL");
    et_scope *s = et_scope_new();
    if (!s)
        return elm_err(ELM_E_NOMEM, "elm_lora_init_peft: out of memory");
    const double a = sqrt(5.0);
    elm_status st = ELM_OK;
    int prev = et_set_grad_enabled(0);
    for (int i = 0; st == ELM_OK && i < l->n_layers; i++)
        for (int mod = 0; st == ELM_OK && mod < ELM_MOD_COUNT; mod++) {
            et_tensor *A = ELM_LORA_A(l, i, mod), *B = ELM_LORA_B(l, i, mod);
            if (!A || !B)
                continue;
            /* On the CPU generator, in PEFT's order: nn.Linear(in, r) and
             * nn.Linear(r, out) draw at construction, then A is re-drawn. */
            int64_t as[2] = {et_size(A, 0), et_size(A, 1)}, bs[2] = {et_size(B, 0), et_size(B, 1)};
            et_device cpu = {0, 0};
            et_tensor *ha = et_zeros(s, ET_F32, 2, as, cpu), *hb = et_zeros(s, ET_F32, 2, bs, cpu);
            if (!ha || !hb) {
                st = et_scope_check(s);
                break;
            }
            st = et_kaiming_uniform_(ha, a);
            if (st == ELM_OK)
                st = et_kaiming_uniform_(hb, a);
            if (st == ELM_OK)
                st = et_kaiming_uniform_(ha, a);
            if (st == ELM_OK)
                st = et_copy_(A, ha);
            if (st == ELM_OK)
                st = et_mul_scalar_(B, 0.0);
        }
    et_set_grad_enabled(prev);
    et_scope_free(s);
    return st;
}

int64_t elm_lora_n_params(const elm_lora *l)
{
    int64_t n = 0;
    for (int i = 0; l && i < l->n_layers * ELM_MOD_COUNT; i++)
        if (l->A[i] && l->B[i])
            n += et_numel(l->A[i]) + et_numel(l->B[i]);
    return n;
}

elm_status elm_lora_params(const elm_lora *l, et_tensor ***params, size_t *n)
{
    *params = NULL;
    *n = 0;
    size_t cnt = 0;
    for (int i = 0; i < l->n_layers * ELM_MOD_COUNT; i++)
        cnt += (l->A[i] && l->B[i]) ? 2 : 0;
    et_tensor **p = calloc(cnt ? cnt : 1, sizeof *p);
    if (!p)
        return elm_err(ELM_E_NOMEM, "elm_lora_params: out of memory");
    size_t k = 0;
    for (int i = 0; i < l->n_layers * ELM_MOD_COUNT; i++)
        if (l->A[i] && l->B[i]) {
            p[k++] = l->A[i];
            p[k++] = l->B[i];
        }
    *params = p;
    *n = k;
    return ELM_OK;
}

et_tensor *elm_lora_merged_weight(const elm_model *m, const elm_lora *l, et_scope *s, int layer,
                                  elm_module mod)
{
    const et_tensor *W = m->layers[layer].w[mod];
    if (!l || layer >= l->n_layers || !ELM_LORA_A(l, layer, mod))
        return et_share(s, W);
    et_tensor *d = et_matmul(s, ELM_LORA_B(l, layer, mod), ELM_LORA_A(l, layer, mod));
    et_tensor *sum = et_add_scaled(s, et_to(s, W, ET_F32), d, l->scale);
    return et_to(s, sum, m->dtype);
}
