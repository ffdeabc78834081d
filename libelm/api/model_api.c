/* Public elm_model_* entry points: argument checks over model/. */
#include "core/error.h"
#include "core/struct_size.h"
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

elm_status elm_model_load(const char *path, const elm_config *cfg, elm_model **out)
{
    ELM_CHECK_ARG(out != NULL, "out");
    *out = NULL;
    ELM_CHECK_ARG(path != NULL, "path");
    return elm_model_open(path, cfg, out);
}

void elm_model_free(elm_model *model)
{
    if (model && model->magic == ELM_MODEL_MAGIC)
        elm_model_unref(model);
}

elm_status elm_model_get_info(const elm_model *model, elm_model_info *out)
{
    ELM_TRY(elm_model_check(model, __func__));
    ELM_TRY(elm_struct_check(__func__, "out", out));
    elm_model_info full;
    memset(&full, 0, sizeof full);
    const elm_llama_config *c = &model->cfg;
    full.architecture = c->architecture;
    full.dtype = et_dtype_name(model->dtype);
    full.device = model->device_name;
    full.n_layers = c->n_layers;
    full.n_embd = c->n_embd;
    full.n_heads = c->n_heads;
    full.n_kv_heads = c->n_kv_heads;
    full.head_dim = c->head_dim;
    full.n_ff = c->n_ff;
    full.n_vocab = c->n_vocab;
    full.n_ctx = c->n_ctx;
    full.n_params = model->n_params;
    full.tied_embeddings = c->tied_embeddings;
    full.has_adapter = model->adapter != NULL;
    full.source_dtype = model->src_dtype;
    elm_struct_fill(out, &full, sizeof full);
    return ELM_OK;
}

elm_status elm_model_logits(elm_model *model, const int32_t *ids, const size_t *lens, size_t n_seqs,
                            float *out)
{
    ELM_TRY(elm_model_check(model, __func__));
    ELM_CHECK_ARG(ids != NULL || n_seqs == 0, "ids");
    ELM_CHECK_ARG(lens != NULL || n_seqs == 0, "lens");
    ELM_CHECK_ARG(out != NULL || n_seqs == 0, "out");
    if (n_seqs == 0)
        return ELM_OK;
    size_t T = 0, total = 0;
    int64_t V = model->cfg.n_vocab;
    for (size_t i = 0; i < n_seqs; i++) {
        if (lens[i] == 0)
            return elm_err(ELM_E_INVALID, "%s: sequence %zu is empty", __func__, i);
        T = lens[i] > T ? lens[i] : T;
        total += lens[i];
    }
    for (size_t i = 0; i < total; i++)
        if (ids[i] < 0 || ids[i] >= V)
            return elm_err(ELM_E_INVALID, "%s: token id %d at index %zu is outside the vocabulary (0..%lld)",
                           __func__, ids[i], i, (long long)(V - 1));
    /* Right padding with an attention mask; pad rows hold id 0. */
    size_t B = n_seqs;
    int64_t *pid = calloc(B * T, sizeof *pid), *pm = calloc(B * T, sizeof *pm);
    float *buf = malloc(B * T * (size_t)V * sizeof(float));
    if (!pid || !pm || !buf) {
        free(pid);
        free(pm);
        free(buf);
        return elm_err(ELM_E_NOMEM, "%s: out of memory for %zu x %zu logits", __func__, B, T);
    }
    size_t k = 0;
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < lens[b]; t++, k++) {
            pid[b * T + t] = ids[k];
            pm[b * T + t] = 1;
        }
    elm_status st = ELM_OK;
    et_scope *s = et_scope_new();
    if (!s)
        st = elm_err(ELM_E_NOMEM, "%s: out of memory", __func__);
    int prev = et_set_grad_enabled(0);
    if (st == ELM_OK) {
        int64_t shape[2] = {(int64_t)B, (int64_t)T};
        et_tensor *idt = et_from_data(s, pid, ET_I64, 2, shape);
        et_tensor *mt = et_from_data(s, pm, ET_I64, 2, shape);
        st = et_scope_check(s);
        int all_real = 1;
        for (size_t b = 0; b < B; b++)
            all_real &= lens[b] == T;
        elm_forward_opts o = {.use_attached = 1, .attn_mask = all_real ? NULL : mt, .hidden_layer = -1};
        et_tensor *lg = NULL;
        if (st == ELM_OK)
            st = elm_model_forward_ex(model, s, idt, &o, &lg);
        if (st == ELM_OK)
            st = et_to_host(lg, buf, ET_F32, B * T * (size_t)V * sizeof(float));
    }
    et_set_grad_enabled(prev);
    et_scope_free(s);
    if (st == ELM_OK) {
        float *dst = out;
        for (size_t b = 0; b < B; b++) {
            memcpy(dst, buf + b * T * (size_t)V, lens[b] * (size_t)V * sizeof(float));
            dst += lens[b] * (size_t)V;
        }
    }
    free(pid);
    free(pm);
    free(buf);
    return st;
}

elm_status elm_model_load_adapter(elm_model *model, const char *dir)
{
    ELM_TRY(elm_model_check(model, __func__));
    ELM_CHECK_ARG(dir != NULL, "dir");
    elm_lora *l = NULL;
    ELM_TRY(elm_lora_load_peft(model, dir, &l));
    elm_lora_free(model->adapter);
    model->adapter = l;
    return ELM_OK;
}

elm_status elm_model_unload_adapter(elm_model *model)
{
    ELM_TRY(elm_model_check(model, __func__));
    elm_lora_free(model->adapter);
    model->adapter = NULL;
    return ELM_OK;
}

elm_status elm_model_tokenizer(elm_model *model, elm_tokenizer **out)
{
    ELM_CHECK_ARG(out != NULL, "out");
    *out = NULL;
    ELM_TRY(elm_model_check(model, __func__));
    if (!model->tok)
        return elm_err(model->tok_status != ELM_OK ? model->tok_status : ELM_E_STATE,
                       "elm_model_tokenizer: the model's tokenizer did not load: %s",
                       model->tok_error ? model->tok_error : "(no tokenizer)");
    *out = elm_tokenizer_ref(model->tok);
    return ELM_OK;
}
