/* elm_inspect: recognise any input libelm reads and describe it as one JSON
 * object, from metadata and headers only.
 *
 * Models are checked as the loader checks them — configuration, then every
 * tensor the forward pass needs present with the right shape and a usable
 * dtype — but from the tensor index alone: safetensors and GGUF headers are
 * mapped and validated (their readers bound every count by the bytes in the
 * file before allocating), no weight is read, converted or dequantised.
 * Adapters likewise: adapter_config.json plus the safetensors header.
 * Tokenizers, datasets, multiple-choice and consistency files are small
 * text files and are loaded by their own readers, which do all the checks.
 *
 * The model side goes through model/wsrc.h (the loader's own view of a
 * checkpoint) and model/describe.h (the tensors the loader reads, the files
 * of an HF checkpoint), so that a model is described in exactly one place. */
#include "core/error.h"
#include "core/str.h"
#include "io/dataset.h"
#include "io/gguf.h"
#include "io/json.h"
#include "io/mcq.h"
#include "io/safetensors.h"
#include "model/describe.h"
#include "model/model.h"
#include "model/peft.h"
#include "model/wsrc.h"
#include "tokenizer/tokenizer.h"

#include <errno.h>
#include <math.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_CAP 4352

/* ---- small helpers ---- */

/* The directory part of a file path ("." when there is none). */
static void dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, cap, ".");
    else if (slash == path)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int file_in(const char *dir, const char *name, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n > 0 && (size_t)n < cap && access(out, F_OK) == 0;
}

/* json-c setters that record an allocation failure once. */
typedef struct jb {
    json_object *o;
    int oom;
} jb;

static void put(jb *b, const char *key, json_object *v)
{
    if (!v || json_object_object_add(b->o, key, v) != 0) {
        json_object_put(v);
        b->oom = 1;
    }
}
static void put_str(jb *b, const char *k, const char *v)
{
    /* NULL is JSON null: json-c's null is the NULL pointer, which put() takes for a failed allocation */
    if (v)
        put(b, k, json_object_new_string(v));
    else if (json_object_object_add(b->o, k, NULL) != 0)
        b->oom = 1;
}
static void put_int(jb *b, const char *k, int64_t v) { put(b, k, json_object_new_int64(v)); }
static void put_bool(jb *b, const char *k, int v) { put(b, k, json_object_new_boolean(v != 0)); }
static void put_double(jb *b, const char *k, double v) { put(b, k, json_object_new_double(v)); }

/* ---- models ---- */

typedef struct tcheck {
    const elm_wsrc *w;
    int gguf;
    int64_t n_params;
    int n_checked;
    char dtypes[64];
} tcheck;

/* One tensor of the forward pass (describe.h's walk): present, shaped as
 * the config says, of a dtype the loader can use. */
static elm_status want(void *ctx, const elm_wspec *w)
{
    tcheck *T = ctx;
    const char *src = elm_wsrc_path(T->w), *name = w->name;
    elm_wtensor t;
    ELM_TRY(elm_wsrc_expect(T->w, name, w->ndim, w->shape, &t));
    if (T->gguf) {
        const char *tn = t.dtype;
        int ok = t.et_dt >= 0;
        for (uint32_t k = 0; !ok && k < ELM_GGML_TYPE_COUNT; k++)
            ok = strcmp(elm_ggml_type_name(k), tn) == 0 && elm_ggml_can_dequant(k);
        if (!ok)
            return elm_err(ELM_E_UNSUPPORTED, "%s: tensor '%s' has type %s, which libelm cannot dequantize", src,
                           name, tn);
    } else if (t.et_dt < 0 && strcmp(t.dtype, "F64") != 0) {
        return elm_err(ELM_E_UNSUPPORTED, "%s: tensor '%s' has dtype %s; weights must be F32, F16, BF16 or F64",
                       src, name, t.dtype);
    }
    elm_name_list_add(T->dtypes, sizeof T->dtypes, t.dtype);
    int64_t n = 1;
    for (int i = 0; i < w->ndim; i++)
        n *= w->shape[i];
    T->n_params += n;
    T->n_checked++;
    return ELM_OK;
}

static elm_status check_tensors(tcheck *T, const elm_llama_config *c)
{
    ELM_TRY(elm_model_each_weight(c, T->gguf, want, T));
    if (T->gguf) {
        elm_wtensor t;
        if (elm_wsrc_find(T->w, "rope_freqs.weight", &t)) {
            int64_t n = 1;
            for (int i = 0; i < t.ndim; i++)
                n *= t.shape[i];
            if (n != c->head_dim / 2)
                return elm_err(ELM_E_FORMAT, "%s: tensor 'rope_freqs.weight' has %lld elements, expected %d",
                               elm_wsrc_path(T->w), (long long)n, c->head_dim / 2);
        }
    }
    return ELM_OK;
}

static const char *rope_name(elm_rope_type t)
{
    return t == ELM_ROPE_LLAMA3 ? "llama3" : t == ELM_ROPE_LINEAR ? "linear" : "default";
}

static void put_config(jb *b, const elm_llama_config *c)
{
    put_str(b, "architecture", c->architecture);
    put_int(b, "n_layers", c->n_layers);
    put_int(b, "n_embd", c->n_embd);
    put_int(b, "n_heads", c->n_heads);
    put_int(b, "n_kv_heads", c->n_kv_heads);
    put_int(b, "head_dim", c->head_dim);
    put_int(b, "n_ff", c->n_ff);
    put_int(b, "n_vocab", c->n_vocab);
    put_int(b, "n_ctx", c->n_ctx);
    put_double(b, "rms_eps", c->rms_eps);
    put_double(b, "rope_theta", c->rope_theta);
    put_str(b, "rope_scaling", rope_name(c->rope_type));
    put_bool(b, "tied_embeddings", c->tied_embeddings);
    put_bool(b, "qkv_bias", c->qkv_bias);
    if (c->sliding_window > 0)
        put_int(b, "sliding_window", c->sliding_window);
    put_int(b, "bos_id", c->bos_id);
    put_int(b, "eos_id", c->eos_id);
}

static elm_status inspect_gguf_model(const char *path, jb *b)
{
    elm_wsrc *w = NULL;
    ELM_TRY(elm_wsrc_open_gguf(path, &w));
    elm_llama_config c;
    tcheck T = {.w = w, .gguf = 1};
    elm_status st = elm_wsrc_gguf_config(w, &c);
    if (st == ELM_OK)
        st = check_tensors(&T, &c);
    if (st == ELM_OK) {
        put_str(b, "kind", "model");
        put_str(b, "path", path);
        put_str(b, "format", "gguf");
        put_config(b, &c);
        put_int(b, "n_params", T.n_params);
        put_int(b, "n_tensors", (int64_t)elm_wsrc_count(w));
        put_str(b, "dtype", T.dtypes);
        put_bool(b, "has_tokenizer", 0); /* filled below */
    }
    elm_wsrc_unref(w);
    if (st != ELM_OK)
        return st;
    /* The vocabulary lives in the metadata; its presence is enough here. */
    elm_gguf *g = NULL;
    if (elm_gguf_open(path, &g) == ELM_OK) {
        put(b, "has_tokenizer", json_object_new_boolean(elm_gguf_has(g, "tokenizer.ggml.tokens")));
        put_int(b, "gguf_version", elm_gguf_version(g));
        put_int(b, "n_metadata", (int64_t)elm_gguf_kv_count(g));
        const char *name = NULL;
        if (elm_gguf_has(g, "general.name") && elm_gguf_get_str(g, "general.name", &name) == ELM_OK)
            put_str(b, "name", name);
        elm_gguf_close(g);
    }
    return ELM_OK;
}

/* HF directory (or a safetensors file / index with config.json beside it). */
static elm_status inspect_hf_model(const char *path, int is_dir, jb *b)
{
    char dir[PATH_CAP], ckpt[PATH_CAP], cfgp[PATH_CAP + 16], p[PATH_CAP];
    ELM_TRY(elm_model_resolve_hf(path, is_dir, dir, sizeof dir, ckpt, sizeof ckpt));
    snprintf(cfgp, sizeof cfgp, "%s/config.json", dir);
    elm_llama_config c;
    ELM_TRY(elm_llama_config_from_json(cfgp, &c));
    elm_wsrc *w = NULL;
    ELM_TRY(elm_wsrc_open_safetensors(ckpt, &w));
    tcheck T = {.w = w, .gguf = 0};
    elm_status st = check_tensors(&T, &c);
    if (st == ELM_OK) {
        put_str(b, "kind", "model");
        put_str(b, "path", path);
        put_str(b, "format", "safetensors");
        put_config(b, &c);
        put_int(b, "n_params", T.n_params);
        put_int(b, "n_tensors", (int64_t)elm_wsrc_count(w));
        put_str(b, "dtype", T.dtypes);
        put_bool(b, "has_tokenizer", file_in(dir, "tokenizer.json", p, sizeof p));
        put_bool(b, "sharded", elm_str_has_suffix_nocase(ckpt, ".index.json"));
    }
    elm_wsrc_unref(w);
    return st;
}

/* ---- a bare safetensors file ---- */

static elm_status inspect_safetensors(const char *path, jb *b)
{
    elm_safetensors *sf = NULL;
    ELM_TRY(elm_st_open(path, &sf));
    char dtypes[128] = "";
    uint64_t numel = 0, bytes = 0;
    for (size_t i = 0; i < elm_st_count(sf); i++) {
        const elm_st_tensor *t = elm_st_at(sf, i);
        elm_name_list_add(dtypes, sizeof dtypes, elm_st_dtype_name(t->dtype));
        numel += t->numel;
        bytes += t->nbytes;
    }
    put_str(b, "kind", "safetensors");
    put_str(b, "path", path);
    put_int(b, "n_tensors", (int64_t)elm_st_count(sf));
    put_int(b, "n_elements", (int64_t)numel);
    put_int(b, "data_bytes", (int64_t)bytes);
    put_str(b, "dtype", dtypes);
    put_int(b, "n_metadata", (int64_t)elm_st_metadata_count(sf));
    elm_st_close(sf);
    return ELM_OK;
}

/* ---- PEFT adapters ---- */

static elm_status inspect_adapter(const char *dir, jb *b)
{
    char cpath[PATH_CAP], wpath[PATH_CAP];
    snprintf(cpath, sizeof cpath, "%s/adapter_config.json", dir);
    if (!file_in(dir, "adapter_model.safetensors", wpath, sizeof wpath)) {
        char p[PATH_CAP];
        if (file_in(dir, "adapter_model.bin", p, sizeof p))
            return elm_pickle_error(p);
        return elm_err(ELM_E_IO, "%s: no adapter_model.safetensors next to adapter_config.json", dir);
    }
    json_object *cfg = NULL;
    ELM_TRY(elm_json_parse_file(cpath, &cfg));
    /* the loader's own checks of the config (model/peft.h) */
    elm_peft_config pc;
    const char *base = NULL;
    elm_status st = elm_peft_check_config(cpath, cfg, &pc);
    if (st == ELM_OK)
        st = elm_json_opt_string(cpath, cfg, "base_model_name_or_path", NULL, &base);
    const int64_t r = pc.r;

    elm_safetensors *sf = NULL;
    if (st == ELM_OK)
        st = elm_st_open(wpath, &sf);
    /* Pairs by (layer, module): A [r, in], B [out, r]. The layer count is
     * bounded by the header (at most one tensor per name), so these arrays
     * are proportional to bytes actually in the file. */
    size_t n = sf ? elm_st_count(sf) : 0;
    int max_layer = -1;
    unsigned mods = 0;
    int64_t n_params = 0;
    char dtypes[64] = "";
    int *lay = n ? calloc(n, sizeof *lay) : NULL;
    int *mo = n ? calloc(n, sizeof *mo) : NULL;
    char *ab = n ? calloc(n, 1) : NULL;
    if (st == ELM_OK && n && (!lay || !mo || !ab))
        st = elm_err(ELM_E_NOMEM, "%s: out of memory", wpath);
    if (st == ELM_OK && n == 0)
        st = elm_err(ELM_E_FORMAT, "%s: no tensors", wpath);
    for (size_t i = 0; st == ELM_OK && i < n; i++) {
        const elm_st_tensor *t = elm_st_at(sf, i);
        int layer, mod;
        char c;
        if ((st = elm_peft_tensor_name(wpath, t, &layer, &mod, &c)) != ELM_OK)
            break;
        if (mod < 0 || layer < 0 || layer > 100000) {
            st = elm_err(ELM_E_FORMAT, "%s: tensor '%s' names no projection of a Llama-family model", wpath, t->name);
            break;
        }
        if ((st = elm_peft_tensor_dtype(wpath, t)) != ELM_OK)
            break;
        int64_t rank_dim = t->ndim == 2 ? (c == 'A' ? t->shape[0] : t->shape[1]) : -1;
        if (rank_dim != r) {
            char s[96];
            elm_shape_text(t->ndim, t->shape, s, sizeof s);
            st = elm_err(ELM_E_FORMAT, "%s: tensor '%s' has shape %s; rank r=%lld (adapter_config.json) expects %s",
                         wpath, t->name, s, (long long)r, c == 'A' ? "[r, in]" : "[out, r]");
            break;
        }
        lay[i] = layer;
        mo[i] = mod;
        ab[i] = c;
        max_layer = layer > max_layer ? layer : max_layer;
        mods |= 1u << mod;
        n_params += (int64_t)t->numel;
        elm_name_list_add(dtypes, sizeof dtypes, elm_st_dtype_name(t->dtype));
    }
    /* Every A has its B and the two agree with each other across layers. */
    int n_pairs = 0;
    for (size_t i = 0; st == ELM_OK && i < n; i++) {
        if (ab[i] != 'A')
            continue;
        const elm_st_tensor *a = elm_st_at(sf, i), *bt = NULL;
        for (size_t j = 0; j < n && !bt; j++)
            if (ab[j] == 'B' && lay[j] == lay[i] && mo[j] == mo[i])
                bt = elm_st_at(sf, j);
        if (!bt) {
            st = elm_err(ELM_E_FORMAT, "%s: tensor '%s' has no matching lora_B", wpath, a->name);
            break;
        }
        n_pairs++;
    }
    for (size_t j = 0; st == ELM_OK && j < n; j++) {
        if (ab[j] != 'B')
            continue;
        int found = 0;
        for (size_t i = 0; i < n && !found; i++)
            found = ab[i] == 'A' && lay[i] == lay[j] && mo[i] == mo[j];
        if (!found)
            st = elm_err(ELM_E_FORMAT, "%s: tensor '%s' has no matching lora_A", wpath, elm_st_at(sf, j)->name);
    }
    /* Input and output sizes of one module must not vary between layers. */
    for (size_t i = 0; st == ELM_OK && i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (mo[i] != mo[j] || ab[i] != ab[j])
                continue;
            const elm_st_tensor *x = elm_st_at(sf, i), *y = elm_st_at(sf, j);
            if (x->shape[0] != y->shape[0] || x->shape[1] != y->shape[1]) {
                st = elm_err(ELM_E_FORMAT, "%s: tensors '%s' and '%s' disagree in shape", wpath, x->name, y->name);
                break;
            }
        }
    if (st == ELM_OK) {
        put_str(b, "kind", "adapter");
        put_str(b, "path", dir);
        put_str(b, "peft_type", pc.peft_type);
        put_int(b, "rank", r);
        put_double(b, "alpha", pc.alpha);
        put_double(b, "scale", pc.use_rslora ? pc.alpha / sqrt((double)r) : pc.alpha / (double)r);
        put_bool(b, "use_rslora", pc.use_rslora);
        put_str(b, "base_model", base);
        put_str(b, "task_type", pc.task_type);
        json_object *arr = json_object_new_array();
        for (int m = 0; arr && m < ELM_MOD_COUNT; m++)
            if (mods & (1u << m))
                json_object_array_add(arr, json_object_new_string(elm_module_hf_name((elm_module)m)));
        put(b, "target_modules", arr);
        json_object *ls = json_object_new_array();
        for (int l = 0; ls && l <= max_layer; l++) {
            int any = 0;
            for (size_t i = 0; i < n && !any; i++)
                any = lay[i] == l;
            if (any)
                json_object_array_add(ls, json_object_new_int(l));
        }
        put(b, "layers", ls);
        put_int(b, "n_pairs", n_pairs);
        put_int(b, "n_params", n_params);
        put_str(b, "dtype", dtypes);
    }
    free(lay);
    free(mo);
    free(ab);
    elm_st_close(sf);
    json_object_put(cfg);
    return st;
}

/* ---- tokenizers ---- */

static const char *chat_name(elm_chat_kind k)
{
    switch (k) {
    case ELM_CHAT_CHATML: return "chatml";
    case ELM_CHAT_ZEPHYR: return "zephyr";
    case ELM_CHAT_LLAMA2: return "llama2";
    case ELM_CHAT_LLAMA3: return "llama3";
    default: return "unrecognised";
    }
}

static elm_status inspect_tokenizer(const char *path, jb *b)
{
    elm_tokenizer *t = NULL;
    ELM_TRY(elm_tok_load(path, &t));
    put_str(b, "kind", "tokenizer");
    put_str(b, "path", path);
    put_int(b, "vocab_size", elm_tok_vocab_size(t));
    static const char *const names[] = {"bos", "eos", "pad", "unk"};
    for (int i = 0; i < 4; i++) {
        char key[32];
        int32_t id = elm_tok_special(t, (elm_special_token)i);
        snprintf(key, sizeof key, "%s_id", names[i]);
        put_int(b, key, id);
        snprintf(key, sizeof key, "%s_token", names[i]);
        put_str(b, key, id >= 0 ? elm_tok_piece(t, id) : NULL);
    }
    const char *tmpl = elm_tok_chat_template(t);
    put_str(b, "chat_template", tmpl ? chat_name(elm_chat_detect(tmpl)) : NULL);
    elm_tokenizer_unref(t);
    return ELM_OK;
}

/* ---- datasets, question files, consistency files ---- */

static elm_status inspect_data(const char *path, const elm_config *cfg, jb *b)
{
    elm_data_opts o;
    ELM_TRY(elm_data_opts_from_config(cfg, &o));
    elm_dataset *ds = NULL;
    ELM_TRY(elm_dataset_read(path, &o, &ds));
    size_t n = elm_dataset_count(ds);
    switch (elm_dataset_kind_of(ds)) {
    case ELM_DATASET_PAIRS: {
        put_str(b, "kind", "consistency");
        put_str(b, "path", path);
        put_int(b, "n_pairs", (int64_t)n);
        put_int(b, "n_groups", elm_dataset_n_groups(ds));
        break;
    }
    case ELM_DATASET_MCQ: {
        const elm_mcq_set *q = elm_dataset_mcq(ds);
        size_t mn = 0, mx = 0, nq = q ? elm_mcq_count(q) : 0;
        for (size_t i = 0; i < nq; i++) {
            size_t c = elm_mcq_n_choices(q, i);
            mn = i == 0 || c < mn ? c : mn;
            mx = c > mx ? c : mx;
        }
        put_str(b, "kind", "mcq");
        put_str(b, "path", path);
        put_int(b, "n_questions", (int64_t)nq);
        put_int(b, "min_choices", (int64_t)mn);
        put_int(b, "max_choices", (int64_t)mx);
        break;
    }
    default: {
        size_t mn = 0, mx = 0, tot = 0;
        for (size_t i = 0; i < n; i++) {
            const char *s = elm_dataset_text_at(ds, i);
            size_t c = s ? elm_utf8_count(s, strlen(s)) : 0;
            mn = i == 0 || c < mn ? c : mn;
            mx = c > mx ? c : mx;
            tot += c;
        }
        put_str(b, "kind", "dataset");
        put_str(b, "path", path);
        put_int(b, "n_records", (int64_t)n);
        put_int(b, "total_chars", (int64_t)tot);
        put_int(b, "min_chars", (int64_t)mn);
        put_int(b, "max_chars", (int64_t)mx);
        put_int(b, "filter_min_chars", o.min_chars);
        put_int(b, "filter_max_chars", o.max_chars);
        break;
    }
    }
    elm_dataset_unref(ds);
    return ELM_OK;
}

/* ---- dispatch ---- */

/* A file named *tokenizer.json, or a JSON object whose first key (within
 * the first KiB) is one tokenizer.json files start with. */
static int looks_like_tokenizer_json(const char *path)
{
    if (elm_str_has_suffix_nocase(path, "tokenizer.json"))
        return 1;
    if (!elm_str_has_suffix_nocase(path, ".json"))
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char buf[1025];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = buf;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    if (*p != '{')
        return 0;
    return strstr(buf, "\"added_tokens\"") && strstr(buf, "\"normalizer\"");
}

static elm_status dispatch(const char *path, const elm_config *cfg, jb *b)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return elm_err(ELM_E_IO, "%s: %s", path, errno == ENOENT ? "no such file or directory" : strerror(errno));
    char p[PATH_CAP];
    if (S_ISDIR(sb.st_mode)) {
        if (file_in(path, "adapter_config.json", p, sizeof p))
            return inspect_adapter(path, b);
        if (file_in(path, "config.json", p, sizeof p) || file_in(path, "model.safetensors", p, sizeof p) ||
            file_in(path, "model.safetensors.index.json", p, sizeof p))
            return inspect_hf_model(path, 1, b);
        if (file_in(path, "tokenizer.json", p, sizeof p))
            return inspect_tokenizer(path, b);
        return elm_err(ELM_E_FORMAT,
                       "%s: a directory without config.json (model), adapter_config.json (PEFT adapter) or "
                       "tokenizer.json",
                       path);
    }
    if (!S_ISREG(sb.st_mode))
        return elm_err(ELM_E_IO, "%s: not a regular file or directory", path);
    if (elm_gguf_file_has_magic(path) || elm_str_has_suffix_nocase(path, ".gguf"))
        return inspect_gguf_model(path, b);
    if (elm_is_pickle_name(path))
        return elm_pickle_error(path);
    const char *bn = base_name(path);
    if (elm_str_has_suffix_nocase(path, ".safetensors") ||
        elm_str_has_suffix_nocase(path, ".safetensors.index.json")) {
        char dir[PATH_CAP];
        dir_of(path, dir, sizeof dir);
        if (strcmp(bn, "adapter_model.safetensors") == 0 && file_in(dir, "adapter_config.json", p, sizeof p))
            return inspect_adapter(dir, b);
        if (file_in(dir, "config.json", p, sizeof p))
            return inspect_hf_model(path, 0, b);
        if (elm_str_has_suffix_nocase(path, ".index.json"))
            return elm_err(ELM_E_IO, "%s: no config.json next to the index", path);
        return inspect_safetensors(path, b);
    }
    if (strcmp(bn, "config.json") == 0 || strcmp(bn, "adapter_config.json") == 0) {
        char dir[PATH_CAP];
        dir_of(path, dir, sizeof dir);
        return bn[0] == 'a' ? inspect_adapter(dir, b) : inspect_hf_model(dir, 1, b);
    }
    if (looks_like_tokenizer_json(path))
        return inspect_tokenizer(path, b);
    return inspect_data(path, cfg, b);
}

elm_status elm_inspect(const char *path, const elm_config *cfg, char **json_out)
{
    ELM_CHECK_ARG(json_out != NULL, "json_out");
    *json_out = NULL;
    ELM_CHECK_ARG(path != NULL && path[0], "path");
    jb b = {.o = json_object_new_object()};
    if (!b.o)
        return elm_err(ELM_E_NOMEM, "elm_inspect: out of memory");
    elm_status st = dispatch(path, cfg, &b);
    if (st == ELM_OK && b.oom)
        st = elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    if (st == ELM_OK) {
        const char *s = json_object_to_json_string_ext(b.o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *json_out = s ? strdup(s) : NULL;
        if (!*json_out)
            st = elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    }
    json_object_put(b.o);
    return st;
}
