/* Session checkpoints (PEFT adapter + libelm's resume state, one atomic
 * directory) and merged-model export. docs/erase.md, "Save and resume". */
#include "erase/session.h"

#include "config/config.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/progress.h"
#include "io/atomic.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "io/st_tensor.h"
#include "tokenizer/tokenizer.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STATE_JSON "elm_state.json"
#define STATE_ST "elm_state.safetensors"
#define STATE_FORMAT "libelm-erase-state"

static const char *const role_key[ELM_N_ROLES] = {"forget", "retain", "consistency", "train"};

/* "layers.4.q.A" for parameter i (elm_lora_params order). */
static void param_name(const elm_erase *e, size_t i, char *buf, size_t cap)
{
    size_t k = 0;
    for (int j = 0; j < e->lora->n_layers * ELM_MOD_COUNT; j++) {
        if (!e->lora->A[j] || !e->lora->B[j])
            continue;
        if (k == i || k + 1 == i) {
            snprintf(buf, cap, "layers.%d.%s.%c", j / ELM_MOD_COUNT,
                     elm_module_short((elm_module)(j % ELM_MOD_COUNT)), k == i ? 'A' : 'B');
            return;
        }
        k += 2;
    }
    snprintf(buf, cap, "param.%zu", i);
}

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

static elm_status write_state_tensors(elm_erase *e, const char *path)
{
    elm_st_host h = {0};
    et_scope *sc = et_scope_new();
    elm_status st = sc ? ELM_OK : elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; st == ELM_OK && i < e->n_params; i++) {
        et_tensor *a, *b;
        char pn[128], name[160];
        param_name(e, i, pn, sizeof pn);
        st = et_adamw_get_state(e->opt, sc, i, &a, &b);
        if (st == ELM_OK) {
            snprintf(name, sizeof name, "exp_avg.%s", pn);
            st = elm_st_host_add(&h, name, a);
        }
        if (st == ELM_OK) {
            snprintf(name, sizeof name, "exp_avg_sq.%s", pn);
            st = elm_st_host_add(&h, name, b);
        }
    }
    if (st == ELM_OK) {
        et_tensor *rng = et_rng_get_state(sc);
        st = et_scope_check(sc);
        if (st == ELM_OK)
            st = elm_st_host_add(&h, "torch_rng", rng);
    }
    static const char *const meta[] = {"format", STATE_FORMAT, NULL};
    if (st == ELM_OK)
        st = elm_st_host_write(&h, path, meta);
    elm_st_host_free(&h);
    et_scope_free(sc);
    return st;
}

static json_object *u64_hex(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%016" PRIx64, v);
    return json_object_new_string(buf);
}

static void config_entry(void *ud, const char *key, const char *value)
{
    json_object_object_add(ud, key, json_object_new_string(value));
}

static elm_status write_state_json(elm_erase *e, const char *path)
{
    json_object *o = json_object_new_object();
    if (!o)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    json_object_object_add(o, "format", json_object_new_string(STATE_FORMAT));
    json_object_object_add(o, "version", json_object_new_int(1));
    json_object_object_add(o, "step", json_object_new_int64(e->step));
    json_object_object_add(o, "micro_step", json_object_new_int64(e->micro));
    json_object_object_add(o, "adam_steps", json_object_new_int64(et_adamw_steps(e->opt)));
    json_object_object_add(o, "n_params", json_object_new_int64((int64_t)e->n_params));
    json_object *groups = json_object_new_array();
    for (int g = 0; g < e->n_groups; g++) {
        json_object *go = json_object_new_object();
        for (int r = 0; r < ELM_N_ROLES; r++)
            json_object_object_add(go, role_key[r], json_object_new_int64(e->groups[g].pos[r]));
        json_object_array_add(groups, go);
    }
    json_object_object_add(o, "positions", groups);
    json_object *pr = json_object_new_array();
    for (int i = 0; i < 4; i++)
        json_object_array_add(pr, u64_hex(e->prng.s[i]));
    json_object_object_add(o, "template_prng", pr);
    json_object *cfg = json_object_new_object();
    elm_status st = elm_erase_opts_each_key(e->cfg, 0, config_entry, cfg);
    json_object_object_add(o, "config", cfg);
    if (st == ELM_OK)
        st = elm_json_write_file(path, o);
    json_object_put(o);
    return st;
}

static int call_progress(elm_erase *e, const char *detail)
{
    return elm_progress_report(e->progress, e->user, "erase", (uint64_t)e->micro,
                               e->o.steps > 0 ? (uint64_t)(e->o.steps * e->o.accum) : 0, e->t_start, detail);
}

elm_status elm_erase_save(elm_erase *e, const char *dir)
{
    char *tmp = NULL;
    ELM_TRY(elm_atomic_dir_begin(dir, &tmp));
    elm_status st = elm_lora_save_peft(e->m, e->lora, elm_erase_base_model(e), tmp);
    if (st == ELM_OK)
        st = elm_erase_write_card(e, tmp, 0);
    char *p1 = path_join(tmp, STATE_ST), *p2 = path_join(tmp, STATE_JSON);
    if (st == ELM_OK && (!p1 || !p2))
        st = elm_err(ELM_E_NOMEM, "%s: out of memory", dir);
    if (st == ELM_OK)
        st = write_state_tensors(e, p1);
    if (st == ELM_OK)
        st = write_state_json(e, p2);
    free(p1);
    free(p2);
    if (st == ELM_OK && call_progress(e, "save") != 0)
        st = elm_err(ELM_E_CANCELLED, "%s: save cancelled by the progress callback (previous contents kept)", dir);
    if (st != ELM_OK) {
        elm_atomic_dir_abort(tmp);
        return st;
    }
    return elm_atomic_dir_commit(tmp, dir);
}

/* ---------------------------------------------------------------- resume */

static elm_status host_to_tensor(et_scope *sc, const elm_st_tensor *t, et_tensor **out, const char *path)
{
    et_dtype dt;
    /* the state holds F32 moments and the U8 generator state only */
    if ((t->dtype != ELM_ST_F32 && t->dtype != ELM_ST_U8) || !elm_st_dtype_to_et(t->dtype, &dt))
        return elm_err(ELM_E_FORMAT, "%s: tensor '%s' has dtype %s (want F32 or U8)", path, t->name,
                       elm_st_dtype_name(t->dtype));
    *out = et_from_data(sc, t->data, dt, t->ndim, t->shape);
    return et_scope_check(sc);
}

/* An rmu session's fixed vector c*u is re-derived from its own config
 * (baselines.c), so it resumes only a checkpoint made with the same
 * objective, runtime.seed, erase.rmu_coeff and erase.rmu_layer (the
 * checkpoint's "config"); other sessions are not checked. */
static elm_status rmu_same(elm_erase *e, const char *pj, json_object *root)
{
    static const char *const keys[] = {"erase.objective", "runtime.seed", "erase.rmu_coeff", "erase.rmu_layer"};
    json_object *cfg = NULL;
    if (e->o.objective != ELM_OBJ_RMU)
        return ELM_OK;
    if (!json_object_object_get_ex(root, "config", &cfg) || !json_object_is_type(cfg, json_type_object))
        return elm_err(ELM_E_FORMAT, "%s: field 'config' missing: cannot check erase.objective rmu's settings", pj);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_object *v = NULL;
        const char *theirs = json_object_object_get_ex(cfg, keys[i], &v) && json_object_is_type(v, json_type_string)
                                 ? json_object_get_string(v)
                                 : "(none)";
        char *mine = NULL;
        ELM_TRY(elm_config_get_text(e->cfg, keys[i], &mine));
        elm_status st = strcmp(theirs, mine) == 0
                            ? ELM_OK
                            : elm_err(ELM_E_STATE, "%s: the checkpoint was made with %s = %s, this rmu session has %s "
                                                   "(its vector u would differ)", pj, keys[i], theirs, mine);
        free(mine);
        ELM_TRY(st);
    }
    return ELM_OK;
}

elm_status elm_erase_resume(elm_erase *e, const char *dir)
{
    char *pj = path_join(dir, STATE_JSON), *ps = path_join(dir, STATE_ST);
    json_object *root = NULL;
    elm_safetensors *sf = NULL;
    elm_lora *loaded = NULL;
    et_scope *sc = et_scope_new();
    elm_status st = (pj && ps && sc) ? ELM_OK : elm_err(ELM_E_NOMEM, "%s: out of memory", dir);
    int64_t step = 0, micro = 0, adam = 0, np = 0;
    uint64_t prng[4] = {0};
    if (st == ELM_OK)
        st = elm_json_parse_file(pj, &root);
    const char *fmt = NULL;
    if (st == ELM_OK)
        st = elm_json_get_string(pj, root, "format", &fmt);
    if (st == ELM_OK && strcmp(fmt, STATE_FORMAT) != 0)
        st = elm_err(ELM_E_FORMAT, "%s: field 'format': expected '%s'", pj, STATE_FORMAT);
    if (st == ELM_OK)
        st = elm_json_get_int(pj, root, "step", &step);
    if (st == ELM_OK)
        st = elm_json_get_int(pj, root, "micro_step", &micro);
    if (st == ELM_OK)
        st = elm_json_get_int(pj, root, "adam_steps", &adam);
    if (st == ELM_OK)
        st = elm_json_get_int(pj, root, "n_params", &np);
    if (st == ELM_OK && (step < 0 || micro < 0 || adam < 0))
        st = elm_err(ELM_E_FORMAT, "%s: negative step counts", pj);
    if (st == ELM_OK && np != (int64_t)e->n_params)
        st = elm_err(ELM_E_STATE, "%s: the checkpoint has %lld LoRA tensors, this session %zu "
                                  "(lora.rank/targets/layers differ)", pj, (long long)np, e->n_params);
    if (st == ELM_OK)
        st = rmu_same(e, pj, root);
    json_object *pr = NULL, *pos = NULL;
    if (st == ELM_OK)
        st = elm_json_get_array(pj, root, "template_prng", &pr);
    if (st == ELM_OK && json_object_array_length(pr) != 4)
        st = elm_err(ELM_E_FORMAT, "%s: field 'template_prng': expected 4 words", pj);
    for (int i = 0; st == ELM_OK && i < 4; i++) {
        json_object *w = json_object_array_get_idx(pr, (size_t)i);
        const char *s = json_object_is_type(w, json_type_string) ? json_object_get_string(w) : NULL;
        char *end = NULL;
        errno = 0;
        if (s)
            prng[i] = strtoull(s, &end, 16);
        if (!s || !end || *end || errno)
            st = elm_err(ELM_E_FORMAT, "%s: field 'template_prng'[%d]: expected a hex string", pj, i);
    }
    if (st == ELM_OK)
        st = elm_json_get_array(pj, root, "positions", &pos);
    size_t ng = pos ? json_object_array_length(pos) : 0;
    if (st == ELM_OK && ng > (size_t)e->n_groups)
        st = elm_err(ELM_E_STATE, "%s: the checkpoint has %zu data groups, this session %d", pj, ng, e->n_groups);
    int64_t (*positions)[ELM_N_ROLES] = NULL;
    if (st == ELM_OK) {
        positions = calloc(ng ? ng : 1, sizeof *positions);
        if (!positions)
            st = elm_err(ELM_E_NOMEM, "%s: out of memory", pj);
    }
    for (size_t g = 0; st == ELM_OK && g < ng; g++) {
        json_object *go = json_object_array_get_idx(pos, g);
        for (int r = 0; st == ELM_OK && r < ELM_N_ROLES; r++) {
            st = elm_json_get_int(pj, go, role_key[r], &positions[g][r]);
            if (st == ELM_OK && positions[g][r] < 0)
                st = elm_err(ELM_E_FORMAT, "%s: negative data position", pj);
        }
    }
    /* everything is read and checked before the session changes */
    if (st == ELM_OK)
        st = elm_st_open(ps, &sf);
    et_tensor **ea = NULL, **eb = NULL, *rng = NULL;
    if (st == ELM_OK) {
        ea = calloc(e->n_params, sizeof *ea);
        eb = calloc(e->n_params, sizeof *eb);
        if (!ea || !eb)
            st = elm_err(ELM_E_NOMEM, "%s: out of memory", ps);
    }
    for (size_t i = 0; st == ELM_OK && i < e->n_params; i++) {
        char pn[128], name[160];
        const elm_st_tensor *t;
        param_name(e, i, pn, sizeof pn);
        snprintf(name, sizeof name, "exp_avg.%s", pn);
        st = elm_st_get(sf, name, &t);
        if (st == ELM_OK)
            st = host_to_tensor(sc, t, &ea[i], ps);
        snprintf(name, sizeof name, "exp_avg_sq.%s", pn);
        if (st == ELM_OK)
            st = elm_st_get(sf, name, &t);
        if (st == ELM_OK)
            st = host_to_tensor(sc, t, &eb[i], ps);
        if (st == ELM_OK && (et_numel(ea[i]) != et_numel(e->params[i]) || et_numel(eb[i]) != et_numel(e->params[i])))
            st = elm_err(ELM_E_STATE, "%s: optimizer state of '%s' does not match the session's adapter", ps, pn);
    }
    if (st == ELM_OK) {
        const elm_st_tensor *t;
        st = elm_st_get(sf, "torch_rng", &t);
        if (st == ELM_OK)
            st = host_to_tensor(sc, t, &rng, ps);
    }
    if (st == ELM_OK)
        st = elm_lora_load_peft(e->m, dir, &loaded);
    et_tensor **lp = NULL;
    size_t nlp = 0;
    if (st == ELM_OK)
        st = elm_lora_params(loaded, &lp, &nlp);
    if (st == ELM_OK && nlp != e->n_params)
        st = elm_err(ELM_E_STATE, "%s: the adapter has %zu LoRA tensors, this session %zu", dir, nlp, e->n_params);
    for (size_t i = 0; st == ELM_OK && i < nlp; i++)
        if (et_numel(lp[i]) != et_numel(e->params[i]) || et_ndim(lp[i]) != et_ndim(e->params[i]) ||
            et_size(lp[i], 0) != et_size(e->params[i], 0)) {
            char pn[128];
            param_name(e, i, pn, sizeof pn);
            st = elm_err(ELM_E_STATE, "%s: adapter tensor '%s' has another shape than the session's", dir, pn);
        }
    /* commit: weights, optimizer, RNGs, positions */
    if (st == ELM_OK) {
        int prev = et_set_grad_enabled(0);
        for (size_t i = 0; st == ELM_OK && i < nlp; i++) {
            et_tensor *src = et_to_device(sc, lp[i], e->m->device);
            st = et_scope_check(sc);
            if (st == ELM_OK)
                st = et_copy_(e->params[i], src);
            if (st == ELM_OK)
                st = et_adamw_set_state(e->opt, i, ea[i], eb[i], adam);
            et_zero_grad(e->params[i]);
        }
        et_set_grad_enabled(prev);
        if (st == ELM_OK)
            st = et_rng_set_state(rng);
        if (st == ELM_OK) {
            e->step = step;
            e->micro = micro;
            for (int i = 0; i < 4; i++)
                e->prng.s[i] = prng[i];
            for (size_t g = 0; g < ng; g++)
                memcpy(e->groups[g].pos, positions[g], sizeof e->groups[g].pos);
        }
    }
    free(lp);
    elm_lora_free(loaded);
    free(ea);
    free(eb);
    free(positions);
    elm_st_close(sf);
    if (root)
        json_object_put(root);
    et_scope_free(sc);
    free(pj);
    free(ps);
    return st;
}

/* ----------------------------------------------------------------- merge */

static elm_status copy_file(const char *src, const char *dst)
{
    FILE *f = fopen(src, "rb");
    if (!f)
        return elm_err(ELM_E_IO, "%s: %s", src, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    char chunk[65536];
    size_t n;
    elm_status st = ELM_OK;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n > cap) {
            cap = (len + n) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                st = elm_err(ELM_E_NOMEM, "%s: out of memory", src);
                break;
            }
            buf = nb;
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    if (st == ELM_OK && ferror(f))
        st = elm_err(ELM_E_IO, "%s: read error", src);
    fclose(f);
    if (st == ELM_OK)
        st = elm_atomic_write_file(dst, buf ? buf : "", len);
    free(buf);
    return st;
}

static int is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* config.json for a model that came from GGUF. */
static elm_status write_config(const elm_model *m, const char *path)
{
    const elm_llama_config *c = &m->cfg;
    json_object *o = json_object_new_object();
    if (!o)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    json_object *arch = json_object_new_array();
    json_object_array_add(arch, json_object_new_string(c->architecture));
    json_object_object_add(o, "architectures", arch);
    const char *mt = strncmp(c->architecture, "Qwen2", 5) == 0     ? "qwen2"
                     : strncmp(c->architecture, "Mistral", 7) == 0 ? "mistral"
                                                                   : "llama";
    json_object_object_add(o, "model_type", json_object_new_string(mt));
    json_object_object_add(o, "hidden_size", json_object_new_int(c->n_embd));
    json_object_object_add(o, "intermediate_size", json_object_new_int(c->n_ff));
    json_object_object_add(o, "num_hidden_layers", json_object_new_int(c->n_layers));
    json_object_object_add(o, "num_attention_heads", json_object_new_int(c->n_heads));
    json_object_object_add(o, "num_key_value_heads", json_object_new_int(c->n_kv_heads));
    json_object_object_add(o, "head_dim", json_object_new_int(c->head_dim));
    json_object_object_add(o, "vocab_size", json_object_new_int(c->n_vocab));
    json_object_object_add(o, "max_position_embeddings", json_object_new_int(c->n_ctx));
    json_object_object_add(o, "rms_norm_eps", json_object_new_double(c->rms_eps));
    json_object_object_add(o, "rope_theta", json_object_new_double(c->rope_theta));
    json_object_object_add(o, "tie_word_embeddings", json_object_new_boolean(c->tied_embeddings));
    json_object_object_add(o, "hidden_act", json_object_new_string("silu"));
    if (c->rope_type == ELM_ROPE_LLAMA3 || c->rope_type == ELM_ROPE_LINEAR) {
        json_object *rs = json_object_new_object();
        json_object_object_add(rs, "rope_type", json_object_new_string(c->rope_type == ELM_ROPE_LLAMA3 ? "llama3" : "linear"));
        json_object_object_add(rs, "factor", json_object_new_double(c->rope_factor));
        if (c->rope_type == ELM_ROPE_LLAMA3) {
            json_object_object_add(rs, "low_freq_factor", json_object_new_double(c->rope_low_freq_factor));
            json_object_object_add(rs, "high_freq_factor", json_object_new_double(c->rope_high_freq_factor));
            json_object_object_add(rs, "original_max_position_embeddings", json_object_new_int(c->rope_original_max_pos));
        }
        json_object_object_add(o, "rope_scaling", rs);
    }
    if (c->bos_id >= 0)
        json_object_object_add(o, "bos_token_id", json_object_new_int(c->bos_id));
    if (c->eos_id >= 0)
        json_object_object_add(o, "eos_token_id", json_object_new_int(c->eos_id));
    json_object_object_add(o, "torch_dtype", json_object_new_string(et_dtype_name(m->dtype)));
    elm_status st = elm_json_write_file(path, o);
    json_object_put(o);
    return st;
}

elm_status elm_erase_save_merged(elm_erase *e, const char *dir)
{
    const elm_model *m = e->m;
    const int L = m->cfg.n_layers;
    static const char *const norm_name[2] = {"input_layernorm", "post_attention_layernorm"};
    elm_st_host h = {0};
    et_scope *sc = et_scope_new();
    char name[160];
    elm_status st = sc ? ELM_OK : elm_err(ELM_E_NOMEM, "%s: out of memory", dir);
    int prev = et_set_grad_enabled(0);
    if (st == ELM_OK)
        st = elm_st_host_add(&h, "model.embed_tokens.weight", m->tok_embd);
    for (int l = 0; st == ELM_OK && l < L; l++) {
        const elm_layer_weights *W = &m->layers[l];
        for (int k = 0; st == ELM_OK && k < 2; k++) {
            snprintf(name, sizeof name, "model.layers.%d.%s.weight", l, norm_name[k]);
            st = elm_st_host_add(&h, name, k == 0 ? W->attn_norm : W->ffn_norm);
        }
        for (int mod = 0; st == ELM_OK && mod < ELM_MOD_COUNT; mod++) {
            et_tensor *w = elm_lora_merged_weight(m, e->lora, sc, l, (elm_module)mod);
            st = et_scope_check(sc);
            snprintf(name, sizeof name, "model.layers.%d.%s.%s.weight", l, elm_module_parent((elm_module)mod),
                     elm_module_hf_name((elm_module)mod));
            if (st == ELM_OK)
                st = elm_st_host_add(&h, name, w);
        }
        for (int b = 0; st == ELM_OK && b < 3; b++) {
            if (!W->bias[b])
                continue;
            snprintf(name, sizeof name, "model.layers.%d.self_attn.%s.bias", l,
                     elm_module_hf_name((elm_module)b));
            st = elm_st_host_add(&h, name, W->bias[b]);
        }
        et_scope_free(sc);
        sc = et_scope_new();
        if (st == ELM_OK && !sc)
            st = elm_err(ELM_E_NOMEM, "%s: out of memory", dir);
    }
    if (st == ELM_OK)
        st = elm_st_host_add(&h, "model.norm.weight", m->norm);
    if (st == ELM_OK && !m->cfg.tied_embeddings)
        st = elm_st_host_add(&h, "lm_head.weight", m->lm_head);
    et_set_grad_enabled(prev);
    char *tmp = NULL;
    if (st == ELM_OK)
        st = elm_atomic_dir_begin(dir, &tmp);
    if (st == ELM_OK) {
        char *p = path_join(tmp, "model.safetensors");
        static const char *const meta[] = {"format", "pt", NULL};
        st = p ? elm_st_host_write(&h, p, meta) : elm_err(ELM_E_NOMEM, "%s: out of memory", dir);
        free(p);
    }
    elm_st_host_free(&h);
    static const char *const files[] = {"config.json", "generation_config.json", "tokenizer.json",
                                        "tokenizer_config.json", "special_tokens_map.json"};
    for (size_t i = 0; st == ELM_OK && i < sizeof files / sizeof files[0]; i++) {
        char *dst = path_join(tmp, files[i]);
        char *src = m->from_gguf ? NULL : path_join(m->path, files[i]);
        if (!dst) {
            st = elm_err(ELM_E_NOMEM, "%s: out of memory", dir);
        } else if (src && is_file(src)) {
            st = copy_file(src, dst);
        } else if (i == 0) {
            st = write_config(m, dst);
        }
        free(src);
        free(dst);
    }
    /* a GGUF base has no tokenizer files to copy: write the ones its vocabulary makes */
    if (st == ELM_OK && m->from_gguf && m->tok)
        st = elm_tok_save_hf(m->tok, tmp);
    if (st == ELM_OK)
        st = elm_erase_write_card(e, tmp, 1);
    if (st == ELM_OK && call_progress(e, "save_merged") != 0)
        st = elm_err(ELM_E_CANCELLED, "%s: merged save cancelled by the progress callback", dir);
    if (tmp) {
        if (st == ELM_OK)
            st = elm_atomic_dir_commit(tmp, dir);
        else
            elm_atomic_dir_abort(tmp);
    }
    elm_st_host_free(&h);
    et_scope_free(sc);
    return st;
}
