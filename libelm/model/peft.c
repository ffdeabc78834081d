/* PEFT LoRA adapter directories: adapter_config.json (PEFT 0.13 fields)
 * and adapter_model.safetensors with PEFT's key names, fp32. */
#include "model/model.h"
#include "model/peft.h"

#include "core/error.h"
#include "io/atomic.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "io/st_tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_FMT "base_model.model.model.layers.%d.%s.%s.lora_%c.weight"

/* ---- save ---- */

static json_object *config_json(const elm_model *m, const elm_lora *l, const char *base)
{
    json_object *o = json_object_new_object();
    json_object *targets = json_object_new_array();
    for (int mod = 0; mod < ELM_MOD_COUNT; mod++)
        if (l->module_mask & (1u << mod))
            json_object_array_add(targets, json_object_new_string(elm_module_hf_name((elm_module)mod)));
    /* layers_to_transform: null when every layer has every targeted module */
    int all = 1;
    json_object *layers = json_object_new_array();
    for (int i = 0; i < l->n_layers; i++) {
        int has = 0;
        for (int mod = 0; mod < ELM_MOD_COUNT; mod++)
            has |= ELM_LORA_A(l, i, mod) != NULL;
        if (has)
            json_object_array_add(layers, json_object_new_int(i));
        else
            all = 0;
    }
    if (all) {
        json_object_put(layers);
        layers = NULL;
    }
    (void)m;
    json_object_object_add(o, "alpha_pattern", json_object_new_object());
    json_object_object_add(o, "auto_mapping", NULL);
    json_object_object_add(o, "base_model_name_or_path", json_object_new_string(base ? base : ""));
    json_object_object_add(o, "bias", json_object_new_string("none"));
    json_object_object_add(o, "fan_in_fan_out", json_object_new_boolean(0));
    json_object_object_add(o, "inference_mode", json_object_new_boolean(1));
    json_object_object_add(o, "init_lora_weights", json_object_new_boolean(1));
    json_object_object_add(o, "layer_replication", NULL);
    json_object_object_add(o, "layers_pattern", NULL);
    json_object_object_add(o, "layers_to_transform", layers);
    json_object_object_add(o, "loftq_config", json_object_new_object());
    json_object_object_add(o, "lora_alpha", l->alpha == floor(l->alpha) && fabs(l->alpha) < 1e15
                                                ? json_object_new_int64((int64_t)l->alpha)
                                                : json_object_new_double(l->alpha));
    json_object_object_add(o, "lora_dropout", json_object_new_double(l->dropout));
    json_object_object_add(o, "megatron_config", NULL);
    json_object_object_add(o, "megatron_core", json_object_new_string("megatron.core"));
    json_object_object_add(o, "modules_to_save", NULL);
    json_object_object_add(o, "peft_type", json_object_new_string("LORA"));
    json_object_object_add(o, "r", json_object_new_int(l->rank));
    json_object_object_add(o, "rank_pattern", json_object_new_object());
    json_object_object_add(o, "revision", NULL);
    json_object_object_add(o, "target_modules", targets);
    json_object_object_add(o, "task_type", json_object_new_string("CAUSAL_LM"));
    json_object_object_add(o, "use_dora", json_object_new_boolean(0));
    json_object_object_add(o, "use_rslora", json_object_new_boolean(l->use_rslora));
    return o;
}

elm_status elm_lora_save_peft(const elm_model *m, const elm_lora *l, const char *base_model_name,
                              const char *dir)
{
    if (!m || !l || !dir)
        return elm_err(ELM_E_INVALID, "elm_lora_save_peft: model, adapter and dir are required");
    elm_st_host h = {0};
    elm_status st = ELM_OK;
    for (int i = 0; st == ELM_OK && i < l->n_layers; i++)
        for (int mod = 0; st == ELM_OK && mod < ELM_MOD_COUNT; mod++) {
            et_tensor *ab[2] = {ELM_LORA_A(l, i, mod), ELM_LORA_B(l, i, mod)};
            if (!ab[0] || !ab[1])
                continue;
            for (int j = 0; j < 2 && st == ELM_OK; j++) {
                char name[256];
                snprintf(name, sizeof name, KEY_FMT, i, elm_module_parent((elm_module)mod),
                         elm_module_hf_name((elm_module)mod), j ? 'B' : 'A');
                st = elm_st_host_add_as(&h, name, ab[j], ET_F32);
            }
        }
    char *tmp = NULL;
    if (st == ELM_OK)
        st = elm_atomic_dir_begin(dir, &tmp);
    if (st == ELM_OK) {
        char p[4096];
        json_object *cfg = config_json(m, l, base_model_name);
        snprintf(p, sizeof p, "%s/adapter_config.json", tmp);
        st = elm_json_write_file(p, cfg);
        json_object_put(cfg);
        if (st == ELM_OK) {
            static const char *const meta[] = {"format", "pt", NULL};
            snprintf(p, sizeof p, "%s/adapter_model.safetensors", tmp);
            st = elm_st_host_write(&h, p, meta);
        }
        if (st == ELM_OK)
            st = elm_atomic_dir_commit(tmp, dir);
        else
            elm_atomic_dir_abort(tmp);
    }
    elm_st_host_free(&h);
    return st;
}

/* ---- load ---- */

static elm_status parse_targets(const char *ctx, json_object *cfg, unsigned *mask)
{
    json_object *t = NULL;
    *mask = 0;
    if (!json_object_object_get_ex(cfg, "target_modules", &t) || !t)
        return elm_err(ELM_E_FORMAT, "%s: field 'target_modules': missing", ctx);
    if (json_object_is_type(t, json_type_string)) {
        const char *s = json_object_get_string(t);
        int mod = elm_module_from_name(s);
        if (strcmp(s, "all-linear") == 0)
            *mask = (1u << ELM_MOD_COUNT) - 1;
        else if (mod >= 0)
            *mask = 1u << mod;
        else
            return elm_err(ELM_E_UNSUPPORTED,
                           "%s: field 'target_modules' is the pattern '%s'; libelm takes a list of "
                           "q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj",
                           ctx, s);
        return ELM_OK;
    }
    if (!json_object_is_type(t, json_type_array))
        return elm_err(ELM_E_FORMAT, "%s: field 'target_modules': expected list or string, got %s", ctx,
                       elm_json_type_name(t));
    for (size_t i = 0; i < json_object_array_length(t); i++) {
        json_object *e = json_object_array_get_idx(t, i);
        if (!json_object_is_type(e, json_type_string))
            return elm_err(ELM_E_FORMAT, "%s: field 'target_modules[%zu]': expected string", ctx, i);
        const char *s = json_object_get_string(e);
        const char *dot = strrchr(s, '.');
        int mod = elm_module_from_name(dot ? dot + 1 : s);
        if (mod < 0 || strlen(s) < 3 || strchr(s, '_') == NULL)
            return elm_err(ELM_E_UNSUPPORTED,
                           "%s: target module '%s' is not supported (supported: q_proj, k_proj, v_proj, "
                           "o_proj, gate_proj, up_proj, down_proj)",
                           ctx, s);
        *mask |= 1u << mod;
    }
    if (!*mask)
        return elm_err(ELM_E_FORMAT, "%s: field 'target_modules' is empty", ctx);
    return ELM_OK;
}

static elm_status parse_layers(const char *ctx, json_object *cfg, int n_layers, unsigned *layers)
{
    json_object *t = NULL;
    for (int i = 0; i < n_layers; i++)
        layers[i] = 1;
    if (!json_object_object_get_ex(cfg, "layers_to_transform", &t) || !t)
        return ELM_OK;
    if (json_object_is_type(t, json_type_int)) {
        int64_t v = json_object_get_int64(t);
        if (v < 0 || v >= n_layers)
            return elm_err(ELM_E_FORMAT, "%s: field 'layers_to_transform': layer %lld out of range (model has %d)",
                           ctx, (long long)v, n_layers);
        for (int i = 0; i < n_layers; i++)
            layers[i] = i == v;
        return ELM_OK;
    }
    if (!json_object_is_type(t, json_type_array))
        return elm_err(ELM_E_FORMAT, "%s: field 'layers_to_transform': expected list, integer or null, got %s",
                       ctx, elm_json_type_name(t));
    for (int i = 0; i < n_layers; i++)
        layers[i] = 0;
    for (size_t i = 0; i < json_object_array_length(t); i++) {
        json_object *e = json_object_array_get_idx(t, i);
        int64_t v = json_object_is_type(e, json_type_int) ? json_object_get_int64(e) : -1;
        if (v < 0 || v >= n_layers)
            return elm_err(ELM_E_FORMAT, "%s: field 'layers_to_transform[%zu]': not a layer of this model (0..%d)",
                           ctx, i, n_layers - 1);
        layers[v] = 1;
    }
    return ELM_OK;
}

static int nonempty_object(json_object *cfg, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(cfg, key, &v) && v && json_object_is_type(v, json_type_object) &&
           json_object_object_length(v) > 0;
}

static int present(json_object *cfg, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(cfg, key, &v) && v != NULL;
}

elm_status elm_peft_check_config(const char *ctx, json_object *cfg, elm_peft_config *out)
{
    memset(out, 0, sizeof *out);
    if (!json_object_is_type(cfg, json_type_object))
        return elm_err(ELM_E_FORMAT, "%s: not a JSON object", ctx);
    const char *s = NULL;
    ELM_TRY(elm_json_get_string(ctx, cfg, "peft_type", &s));
    if (strcmp(s, "LORA") != 0)
        return elm_err(ELM_E_UNSUPPORTED, "%s: field 'peft_type' is '%s'; only LORA is supported", ctx, s);
    out->peft_type = s;
    ELM_TRY(elm_json_get_int(ctx, cfg, "r", &out->r));
    if (out->r < 1 || out->r > 65536)
        return elm_err(ELM_E_FORMAT, "%s: field 'r': must be in 1..65536, got %lld", ctx, (long long)out->r);
    ELM_TRY(elm_json_opt_double(ctx, cfg, "lora_alpha", 8.0, &out->alpha));
    if (!(out->alpha > 0))
        return elm_err(ELM_E_FORMAT, "%s: field 'lora_alpha': must be positive", ctx);
    ELM_TRY(elm_json_opt_double(ctx, cfg, "lora_dropout", 0.0, &out->dropout));
    if (!(out->dropout >= 0 && out->dropout < 1))
        return elm_err(ELM_E_FORMAT, "%s: field 'lora_dropout': must be in [0, 1)", ctx);
    int b = 0;
    ELM_TRY(elm_json_opt_bool(ctx, cfg, "use_dora", 0, &b));
    if (b)
        return elm_err(ELM_E_UNSUPPORTED, "%s: field 'use_dora' is true; DoRA adapters are not supported", ctx);
    ELM_TRY(elm_json_opt_bool(ctx, cfg, "fan_in_fan_out", 0, &b));
    if (b)
        return elm_err(ELM_E_UNSUPPORTED, "%s: field 'fan_in_fan_out' is true; not supported for Llama-family models", ctx);
    ELM_TRY(elm_json_opt_bool(ctx, cfg, "use_rslora", 0, &out->use_rslora));
    ELM_TRY(elm_json_opt_string(ctx, cfg, "bias", "none", &s));
    if (strcmp(s, "none") != 0)
        return elm_err(ELM_E_UNSUPPORTED, "%s: field 'bias' is '%s'; only \"none\" is supported", ctx, s);
    ELM_TRY(elm_json_opt_string(ctx, cfg, "task_type", "CAUSAL_LM", &s));
    if (strcmp(s, "CAUSAL_LM") != 0)
        return elm_err(ELM_E_UNSUPPORTED, "%s: field 'task_type' is '%s'; only CAUSAL_LM is supported", ctx, s);
    out->task_type = s;
    if (nonempty_object(cfg, "rank_pattern") || nonempty_object(cfg, "alpha_pattern"))
        return elm_err(ELM_E_UNSUPPORTED, "%s: fields 'rank_pattern'/'alpha_pattern' (per-module ranks) are not supported", ctx);
    json_object *v = NULL;
    if (json_object_object_get_ex(cfg, "modules_to_save", &v) && v &&
        !(json_object_is_type(v, json_type_array) && json_object_array_length(v) == 0))
        return elm_err(ELM_E_UNSUPPORTED, "%s: field 'modules_to_save' is set; fully trained extra modules are not supported", ctx);
    if (present(cfg, "layer_replication"))
        return elm_err(ELM_E_UNSUPPORTED, "%s: field 'layer_replication' is not supported", ctx);
    return parse_targets(ctx, cfg, &out->mods);
}

elm_status elm_peft_tensor_name(const char *wpath, const elm_st_tensor *t, int *layer, int *mod, char *ab)
{
    int used = 0;
    char parent[64], mname[64];
    *layer = -1;
    *mod = -1;
    *ab = 0;
    if (sscanf(t->name, "base_model.model.model.layers.%d.%63[^.].%63[^.].lora_%c.weight%n", layer, parent, mname,
               ab, &used) != 4 ||
        used != (int)strlen(t->name) || (*ab != 'A' && *ab != 'B'))
        return elm_err(ELM_E_UNSUPPORTED, "%s: tensor '%s' is not a LoRA A/B weight libelm understands", wpath,
                       t->name);
    int m = elm_module_from_name(mname);
    *mod = m >= 0 && strcmp(parent, elm_module_parent((elm_module)m)) == 0 ? m : -1;
    return ELM_OK;
}

elm_status elm_peft_tensor_dtype(const char *wpath, const elm_st_tensor *t)
{
    if (t->dtype != ELM_ST_F32 && t->dtype != ELM_ST_BF16 && t->dtype != ELM_ST_F16)
        return elm_err(ELM_E_UNSUPPORTED, "%s: tensor '%s' has dtype %s; expected F32, BF16 or F16", wpath, t->name,
                       elm_st_dtype_name(t->dtype));
    return ELM_OK;
}

/* The tensor's layer, module and A/B side, checked against the model, the
 * config's targets and rank r. Nothing is allocated: this runs over the whole
 * weights file before the adapter's tensors are created, so a config whose
 * rank disagrees with the file (e.g. r = 65536 over a rank-2 file) fails
 * here instead of allocating r x hidden for every targeted module. */
static elm_status check_tensor(const elm_model *m, const char *wpath, const elm_st_tensor *t, int64_t r,
                               unsigned mods, const unsigned *layers, int *layer_out, int *mod_out, int *b_out)
{
    int L = m->cfg.n_layers, layer, mod;
    char ab;
    ELM_TRY(elm_peft_tensor_name(wpath, t, &layer, &mod, &ab));
    if (mod < 0 || layer < 0 || layer >= L)
        return elm_err(ELM_E_FORMAT, "%s: tensor '%s' names no projection of this %d-layer model", wpath, t->name, L);
    if (!(mods & (1u << mod)) || !layers[layer])
        return elm_err(ELM_E_FORMAT,
                       "%s: tensor '%s' is outside adapter_config.json's target_modules/layers_to_transform", wpath,
                       t->name);
    int64_t o, in;
    elm_model_module_shape(m, (elm_module)mod, &o, &in);
    int64_t want0 = ab == 'A' ? r : o, want1 = ab == 'A' ? in : r;
    if (t->ndim != 2 || t->shape[0] != want0 || t->shape[1] != want1)
        return elm_err(ELM_E_FORMAT,
                       "%s: tensor '%s' has shape [%lld, %lld], expected [%lld, %lld] (adapter_config.json 'r' = %lld)",
                       wpath, t->name, (long long)(t->ndim > 0 ? t->shape[0] : 0),
                       (long long)(t->ndim > 1 ? t->shape[1] : 0), (long long)want0, (long long)want1, (long long)r);
    ELM_TRY(elm_peft_tensor_dtype(wpath, t));
    *layer_out = layer;
    *mod_out = mod;
    *b_out = ab == 'B';
    return ELM_OK;
}

elm_status elm_lora_load_peft(const elm_model *m, const char *dir, elm_lora **out)
{
    if (!out)
        return elm_err(ELM_E_INVALID, "elm_lora_load_peft: out is NULL");
    *out = NULL;
    if (!m || !dir)
        return elm_err(ELM_E_INVALID, "elm_lora_load_peft: model and dir are required");
    /* A save killed between its two renames leaves the directory under its
     * backup name: put it back (one lstat when nothing is amiss). */
    ELM_TRY(elm_atomic_dir_prepare_read(dir));
    char cpath[4096], wpath[4096];
    snprintf(cpath, sizeof cpath, "%s/adapter_config.json", dir);
    snprintf(wpath, sizeof wpath, "%s/adapter_model.safetensors", dir);
    json_object *cfg = NULL;
    ELM_TRY(elm_json_parse_file(cpath, &cfg));
    elm_peft_config pc = {0};
    int L = m->cfg.n_layers;
    unsigned *layers = calloc((size_t)L, sizeof *layers);
    char *seen = calloc((size_t)L * ELM_MOD_COUNT * 2, 1);
    elm_status st = layers && seen ? ELM_OK : elm_err(ELM_E_NOMEM, "%s: out of memory", dir);
    if (st == ELM_OK)
        st = elm_peft_check_config(cpath, cfg, &pc);
    if (st == ELM_OK)
        st = parse_layers(cpath, cfg, L, layers);
    json_object_put(cfg); /* pc's strings are not used past here */
    const int64_t r = pc.r;
    const unsigned mods = pc.mods;

    /* Validate the weights file against the config and the model first. */
    elm_safetensors *sf = NULL;
    if (st == ELM_OK)
        st = elm_st_open(wpath, &sf);
    for (size_t i = 0; st == ELM_OK && i < elm_st_count(sf); i++) {
        int layer, mod, b;
        st = check_tensor(m, wpath, elm_st_at(sf, i), r, mods, layers, &layer, &mod, &b);
        if (st == ELM_OK)
            seen[((size_t)layer * ELM_MOD_COUNT + (size_t)mod) * 2 + (size_t)b] = 1;
    }
    for (int i = 0; st == ELM_OK && i < L; i++)
        for (int mod = 0; st == ELM_OK && mod < ELM_MOD_COUNT; mod++)
            for (int j = 0; j < 2 && layers[i] && (mods & (1u << mod)); j++)
                if (!seen[((size_t)i * ELM_MOD_COUNT + (size_t)mod) * 2 + (size_t)j]) {
                    st = elm_err(ELM_E_FORMAT, "%s: tensor '" KEY_FMT "' is missing", wpath, i,
                                 elm_module_parent((elm_module)mod), elm_module_hf_name((elm_module)mod),
                                 j ? 'B' : 'A');
                    break;
                }
    free(seen);

    elm_lora *l = NULL;
    if (st == ELM_OK)
        st = elm_lora_new(m, (int)r, pc.alpha, pc.dropout, layers, mods, &l);
    if (st != ELM_OK) {
        free(layers);
        elm_st_close(sf);
        return st;
    }
    l->use_rslora = pc.use_rslora;
    l->scale = pc.use_rslora ? pc.alpha / sqrt((double)r) : pc.alpha / (double)r;

    et_scope *tmp = et_scope_new();
    if (!tmp)
        st = elm_err(ELM_E_NOMEM, "%s: out of memory", dir);
    int prev = et_set_grad_enabled(0);
    for (size_t i = 0; st == ELM_OK && i < elm_st_count(sf); i++) {
        const elm_st_tensor *t = elm_st_at(sf, i);
        int layer, mod, b;
        st = check_tensor(m, wpath, t, r, mods, layers, &layer, &mod, &b);
        if (st != ELM_OK)
            break;
        et_tensor *dst = b ? ELM_LORA_B(l, layer, mod) : ELM_LORA_A(l, layer, mod);
        et_dtype dt = ET_F32;
        elm_st_dtype_to_et(t->dtype, &dt); /* F32, BF16 or F16: check_tensor */
        et_tensor *src = et_from_data(tmp, t->data, dt, 2, t->shape);
        st = et_scope_check(tmp);
        if (st == ELM_OK)
            st = et_copy_(dst, src);
    }
    free(layers);
    et_set_grad_enabled(prev);
    et_scope_free(tmp);
    elm_st_close(sf);
    if (st != ELM_OK) {
        elm_lora_free(l);
        return st;
    }
    *out = l;
    return ELM_OK;
}
