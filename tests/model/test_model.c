/* Model layer against transformers' golden outputs: fp32/bf16 logits,
 * hidden states, padded batches, KV cache, GGUF, LoRA and PEFT I/O. */
#include "testutil.h"

#include "core/error.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "tensor/shim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const tiny[] = {"llama", "llama-tied", "mistral", "qwen2"};
#define N_TINY 4

typedef struct golden {
    elm_safetensors *st;
    int64_t B, T, V;
    const int64_t *ids, *mask, *lens; /* copies (aligned) */
    int64_t *buf_ids, *buf_mask, *buf_lens;
} golden;

static float *copy_f32(const elm_st_tensor *t)
{
    float *p = malloc(t->nbytes);
    ck_assert(p != NULL);
    memcpy(p, t->data, t->nbytes);
    return p;
}

static int64_t *copy_i64(const elm_st_tensor *t)
{
    int64_t *p = malloc(t->nbytes);
    ck_assert(p != NULL);
    memcpy(p, t->data, t->nbytes);
    return p;
}

static void golden_open(const char *name, golden *g)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/golden/%s.logits.safetensors", name);
    ck_assert_elm_ok(elm_st_open(tu_src(rel), &g->st));
    const elm_st_tensor *ids = elm_st_find(g->st, "input_ids");
    ck_assert(ids && ids->ndim == 2);
    g->B = ids->shape[0];
    g->T = ids->shape[1];
    g->buf_ids = copy_i64(ids);
    g->buf_mask = copy_i64(elm_st_find(g->st, "attention_mask"));
    g->buf_lens = copy_i64(elm_st_find(g->st, "lengths"));
    g->ids = g->buf_ids;
    g->mask = g->buf_mask;
    g->lens = g->buf_lens;
    const elm_st_tensor *lg = elm_st_find(g->st, "logits_fp32");
    g->V = lg ? lg->shape[2] : 0;
}

static void golden_close(golden *g)
{
    free(g->buf_ids);
    free(g->buf_mask);
    free(g->buf_lens);
    elm_st_close(g->st);
}

static elm_model *load(const char *rel, const char *dtype)
{
    elm_config *cfg = NULL;
    ck_assert_elm_ok(elm_config_new(&cfg));
    if (dtype)
        ck_assert_elm_ok(elm_config_set_string(cfg, "runtime.dtype", dtype));
    elm_model *m = NULL;
    ck_assert_elm_ok(elm_model_open(tu_src(rel), cfg, &m));
    elm_config_free(cfg);
    return m;
}

static elm_model *load_tiny(const char *name, const char *dtype)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/models/%s", name);
    return load(rel, dtype);
}

/* Forward the golden batch; returns host logits [B,T,V] (malloc'd). */
static float *run_batch(elm_model *m, const golden *g, int hidden_layer, float **hidden)
{
    et_scope *s = et_scope_new();
    int64_t shape[2] = {g->B, g->T};
    et_tensor *ids = et_from_data(s, g->ids, ET_I64, 2, shape);
    et_tensor *mask = et_from_data(s, g->mask, ET_I64, 2, shape);
    et_tensor *h = NULL;
    elm_forward_opts o = {.attn_mask = mask, .hidden_layer = hidden_layer, .hidden_out = hidden ? &h : NULL};
    int prev = et_set_grad_enabled(0);
    et_tensor *lg = NULL;
    ck_assert_elm_ok(elm_model_forward_ex(m, s, ids, &o, &lg));
    et_set_grad_enabled(prev);
    size_t n = (size_t)(g->B * g->T * m->cfg.n_vocab);
    float *out = malloc(n * sizeof(float));
    ck_assert_elm_ok(et_to_host(lg, out, ET_F32, n * sizeof(float)));
    if (hidden) {
        ck_assert(h != NULL);
        size_t nh = (size_t)(g->B * g->T * m->cfg.n_embd);
        *hidden = malloc(nh * sizeof(float));
        ck_assert_elm_ok(et_to_host(h, *hidden, ET_F32, nh * sizeof(float)));
    }
    et_scope_free(s);
    return out;
}

/* max |a - b| over the real positions of the golden batch, rows of width D. */
static double maxdiff_masked(const golden *g, const float *a, const float *b, int64_t D)
{
    double m = 0;
    for (int64_t i = 0; i < g->B * g->T; i++) {
        if (!g->mask[i])
            continue;
        for (int64_t j = 0; j < D; j++) {
            double d = fabs((double)a[i * D + j] - (double)b[i * D + j]);
            if (d > m || isnan(d))
                m = isnan(d) ? INFINITY : d;
        }
    }
    return m;
}

/* fp32 logits and hidden state of layer 2 equal transformers' to 1e-4
 * (fp32 rounding differences between kernels stay orders below that). */
START_TEST(test_golden_fp32)
{
    const char *name = tiny[_i];
    golden g;
    golden_open(name, &g);
    elm_model *m = load_tiny(name, "float32");
    ck_assert_int_eq(m->cfg.n_vocab, g.V);
    float *hid = NULL;
    float *lg = run_batch(m, &g, 2, &hid);
    float *want = copy_f32(elm_st_find(g.st, "logits_fp32"));
    double d = maxdiff_masked(&g, lg, want, g.V);
    ck_assert_msg(d <= 1e-4, "%s: fp32 logits max|d| = %g", name, d);
    float *wh = copy_f32(elm_st_find(g.st, "hidden_layer2"));
    double dh = maxdiff_masked(&g, hid, wh, m->cfg.n_embd);
    ck_assert_msg(dh <= 1e-4, "%s: hidden_layer2 max|d| = %g", name, dh);
    /* each sequence alone equals its row of the padded batch */
    float *single = copy_f32(elm_st_find(g.st, "logits_single"));
    double ds = maxdiff_masked(&g, lg, single, g.V);
    ck_assert_msg(ds <= 1e-4, "%s: batched vs single max|d| = %g", name, ds);
    free(single);
    free(wh);
    free(hid);
    free(want);
    free(lg);
    elm_model_unref(m);
    golden_close(&g);
}
END_TEST

/* bf16 against transformers' own bf16 run of the model loaded with
 * from_pretrained(torch_dtype=torch.bfloat16) (how the ELM reference loads
 * it). 3e-2 is about one bf16 step at |logit| ~ 4; the two runs do the same
 * ops in the same order, so they should agree far closer. (An earlier golden
 * used model.to(torch.bfloat16), which also rounds the rotary inv_freq
 * buffer to bf16 and moved logits by up to 0.22.)
 * The goldens were made on torch 1.13. Built against another libtorch
 * (PyTorch 2.x: SDPA attention, other bf16 kernels) the bf16 rounding
 * differs from that run by up to ~0.2 (measured 0.09-0.21), so there the
 * check is against the fp32 golden at bf16's own distance from fp32 (both
 * builds: 0.12-0.37 on these models; bound 0.5). */
START_TEST(test_golden_bf16)
{
    const char *name = tiny[_i];
    golden g;
    golden_open(name, &g);
    elm_model *m = load_tiny(name, "bfloat16");
    ck_assert_int_eq(m->dtype, ET_BF16);
    float *lg = run_batch(m, &g, -1, NULL);
    /* the same kernels as the golden's run: torch 1.13 and a CPU with
     * AMX/AVX512-BF16 (under valgrind, whose CPU has neither, oneDNN takes
     * another bf16 path: max|d| 0.12-0.25, measured) */
    int same_torch = strncmp(et_backend_version(), "1.13.", 5) == 0 && et_cpu_has_bf16();
    float *want = copy_f32(elm_st_find(g.st, same_torch ? "logits_bf16" : "logits_fp32"));
    double d = maxdiff_masked(&g, lg, want, g.V), tol = same_torch ? 3e-2 : 0.5;
    ck_assert_msg(d <= tol, "%s: bf16 logits max|d| = %g vs transformers %s on torch 1.13 (libtorch %s here)", name,
                  d, same_torch ? "bf16" : "fp32", et_backend_version());
    free(want);
    free(lg);
    elm_model_unref(m);
    golden_close(&g);
}
END_TEST

/* A forward that starts at layer k from hidden_in = the output of layer
 * k - 1 of another forward gives that forward's logits (the trunk sharing
 * of the erase objective); a hidden_in of the wrong shape, a start layer
 * out of range or a KV cache next to it is refused. */
START_TEST(test_hidden_in)
{
    golden g;
    golden_open("llama", &g);
    elm_model *m = load_tiny("llama", "float32");
    et_scope *s = et_scope_new();
    int64_t shape[2] = {g.B, g.T};
    et_tensor *ids = et_from_data(s, g.ids, ET_I64, 2, shape);
    et_tensor *mask = et_from_data(s, g.mask, ET_I64, 2, shape);
    int prev = et_set_grad_enabled(0);
    et_tensor *h = NULL, *full = NULL, *part = NULL;
    const int k = 1;
    elm_forward_opts o = {.attn_mask = mask, .hidden_layer = k - 1, .hidden_out = &h};
    ck_assert_elm_ok(elm_model_forward_ex(m, s, ids, &o, &full));
    ck_assert(h != NULL);
    elm_forward_opts p = {.attn_mask = mask, .hidden_layer = -1, .hidden_in = h, .start_layer = k};
    ck_assert_elm_ok(elm_model_forward_ex(m, s, ids, &p, &part));
    size_t n = (size_t)(g.B * g.T * m->cfg.n_vocab);
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    ck_assert_elm_ok(et_to_host(full, a, ET_F32, n * sizeof *a));
    ck_assert_elm_ok(et_to_host(part, b, ET_F32, n * sizeof *b));
    ck_assert_msg(maxdiff_masked(&g, a, b, g.V) == 0, "hidden_in forward differs by %g", maxdiff_masked(&g, a, b, g.V));
    free(a);
    free(b);

    et_tensor *out = NULL;
    elm_forward_opts bad = p;
    bad.start_layer = m->cfg.n_layers + 1;
    ck_assert_int_eq(elm_model_forward_ex(m, s, ids, &bad, &out), ELM_E_INVALID);
    ck_assert(strstr(elm_last_error(), "hidden_in") != NULL);
    bad = p;
    bad.hidden_in = ids; /* [B, T], not [B, T, E] */
    ck_assert_int_eq(elm_model_forward_ex(m, s, ids, &bad, &out), ELM_E_INVALID);
    elm_kv_cache *c = NULL;
    ck_assert_elm_ok(elm_kv_cache_new(m, &c));
    bad = p;
    bad.cache = c;
    ck_assert_int_eq(elm_model_forward_ex(m, s, ids, &bad, &out), ELM_E_INVALID);
    elm_kv_cache_free(c);
    et_set_grad_enabled(prev);
    et_scope_free(s);
    elm_model_unref(m);
    golden_close(&g);
}
END_TEST

/* The public batched API (right padding inside) gives each sequence's
 * logits as if run alone. */
START_TEST(test_api_logits_packed)
{
    golden g;
    golden_open("qwen2", &g);
    elm_model *m = NULL;
    ck_assert_elm_ok(elm_model_load(tu_src("tests/fixtures/models/qwen2"), NULL, &m));
    size_t lens[8], total = 0;
    int32_t *ids = malloc((size_t)(g.B * g.T) * sizeof(int32_t));
    for (int64_t b = 0; b < g.B; b++) {
        lens[b] = (size_t)g.lens[b];
        for (int64_t t = 0; t < g.lens[b]; t++)
            ids[total++] = (int32_t)g.ids[b * g.T + t];
    }
    float *out = malloc(total * (size_t)g.V * sizeof(float));
    ck_assert_elm_ok(elm_model_logits(m, ids, lens, (size_t)g.B, out));
    float *single = copy_f32(elm_st_find(g.st, "logits_single"));
    double d = 0;
    size_t k = 0;
    for (int64_t b = 0; b < g.B; b++)
        for (int64_t t = 0; t < g.lens[b]; t++, k++)
            for (int64_t v = 0; v < g.V; v++)
                d = fmax(d, fabs(out[k * g.V + v] - single[(b * g.T + t) * g.V + v]));
    ck_assert_msg(d <= 1e-4, "packed logits max|d| = %g", d);
    elm_model_info info;
    ELM_STRUCT_INIT(&info);
    ck_assert_elm_ok(elm_model_get_info(m, &info));
    ck_assert_str_eq(info.architecture, "Qwen2ForCausalLM");
    ck_assert_int_eq(info.n_kv_heads, 2);
    ck_assert_int_eq(info.tied_embeddings, 1);
    ids[0] = 100000;
    ck_assert_elm_status(elm_model_logits(m, ids, lens, 1, out), ELM_E_INVALID);
    elm_tokenizer *tok = NULL;
    ck_assert_elm_ok(elm_model_tokenizer(m, &tok));
    ck_assert_int_eq(elm_tokenizer_vocab_size(tok), 512);
    elm_tokenizer_free(tok);
    free(single);
    free(out);
    free(ids);
    elm_model_free(m);
    golden_close(&g);
}
END_TEST

/* Decoding token by token through the KV cache equals the full forward
 * (1e-5: same ops on the same numbers, only the attention's key count
 * differs per call). */
START_TEST(test_kv_cache)
{
    const char *name = tiny[_i];
    golden g;
    golden_open(name, &g);
    elm_model *m = load_tiny(name, "float32");
    int64_t n = g.lens[0], V = g.V;
    et_scope *s = et_scope_new();
    int prev = et_set_grad_enabled(0);
    int64_t shape[2] = {1, n};
    et_tensor *ids = et_from_data(s, g.ids, ET_I64, 2, shape);
    et_tensor *full = NULL;
    elm_forward_opts o0 = {.hidden_layer = -1};
    ck_assert_elm_ok(elm_model_forward_ex(m, s, ids, &o0, &full));
    float *want = malloc((size_t)(n * V) * sizeof(float));
    ck_assert_elm_ok(et_to_host(full, want, ET_F32, (size_t)(n * V) * sizeof(float)));
    elm_kv_cache *c = NULL;
    ck_assert_elm_ok(elm_kv_cache_new(m, &c));
    int64_t pre = 5;
    float *got = malloc((size_t)(n * V) * sizeof(float));
    for (int64_t t = 0; t < n;) {
        int64_t step = t == 0 ? pre : 1;
        et_scope *ss = et_scope_new();
        int64_t sh[2] = {1, step};
        et_tensor *x = et_from_data(ss, g.ids + t, ET_I64, 2, sh);
        elm_forward_opts o = {.cache = c, .hidden_layer = -1};
        et_tensor *lg = NULL;
        ck_assert_elm_ok(elm_model_forward_ex(m, ss, x, &o, &lg));
        ck_assert_elm_ok(et_to_host(lg, got + t * V, ET_F32, (size_t)(step * V) * sizeof(float)));
        et_scope_free(ss);
        t += step;
        ck_assert_int_eq(c->len, t);
    }
    double d = 0;
    for (int64_t i = 0; i < n * V; i++)
        d = fmax(d, fabs(got[i] - want[i]));
    ck_assert_msg(d <= 1e-5, "%s: KV-cache decode vs full max|d| = %g", name, d);
    /* last_only matches the last row */
    et_tensor *last = NULL;
    elm_forward_opts ol = {.last_only = 1, .hidden_layer = -1};
    ck_assert_elm_ok(elm_model_forward_ex(m, s, ids, &ol, &last));
    ck_assert_int_eq(et_size(last, 1), 1);
    float *lr = malloc((size_t)V * sizeof(float));
    ck_assert_elm_ok(et_to_host(last, lr, ET_F32, (size_t)V * sizeof(float)));
    for (int64_t v = 0; v < V; v++)
        ck_assert(fabs(lr[v] - want[(n - 1) * V + v]) <= 1e-5);
    free(lr);
    elm_kv_cache_free(c);
    et_set_grad_enabled(prev);
    free(got);
    free(want);
    et_scope_free(s);
    elm_model_unref(m);
    golden_close(&g);
}
END_TEST

/* The tiny GGUF (llama-tied written by gguf-py with llama.cpp's q/k row
 * permutation and one Q8_0 tensor) equals transformers' own GGUF load to
 * 1e-4, and the HF directory of the same model up to the Q8_0 rounding. */
START_TEST(test_gguf_tiny)
{
    golden g, gh;
    golden_open("llama-tied-gguf", &g);
    golden_open("llama-tied", &gh);
    elm_model *m = load("tests/fixtures/models/llama-tied.gguf", "float32");
    ck_assert_int_eq(m->from_gguf, 1);
    ck_assert_int_eq(m->cfg.tied_embeddings, 1);
    ck_assert_int_eq(m->cfg.n_kv_heads, 2);
    ck_assert_msg(strstr(m->src_dtype, "Q8_0") != NULL, "src dtype %s", m->src_dtype);
    float *lg = run_batch(m, &g, -1, NULL);
    float *want = copy_f32(elm_st_find(g.st, "logits_fp32"));
    double d = maxdiff_masked(&g, lg, want, g.V);
    ck_assert_msg(d <= 1e-4, "gguf vs transformers-gguf max|d| = %g", d);
    elm_model *mh = load_tiny("llama-tied", "float32");
    float *lh = run_batch(mh, &gh, -1, NULL);
    double dh = maxdiff_masked(&g, lg, lh, g.V);
    /* the GGUF differs from the HF dir by blk.0.ffn_down's Q8_0 rounding:
     * allow what transformers itself sees between the two, plus 1e-4 */
    float *hf = copy_f32(elm_st_find(gh.st, "logits_fp32"));
    double ref = maxdiff_masked(&g, want, hf, g.V);
    ck_assert_msg(dh <= ref + 1e-4, "gguf vs HF dir max|d| = %g, transformers sees %g", dh, ref);
    free(hf);
    free(lh);
    elm_model_unref(mh);
    free(want);
    free(lg);
    elm_model_unref(m);
    golden_close(&gh);
    golden_close(&g);
}
END_TEST

/* SmolLM2-135M-Instruct Q4_1 GGUF vs transformers (which dequantizes to
 * fp32): 1e-3 on the stored logits and top-10 values (fp32 sums over 576
 * and 1536 wide dot products in a different order), argmax >= 99%. */
START_TEST(test_smollm2)
{
    const char *path = tu_cache("models/SmolLM2-135M-Instruct.Q4_1.gguf", "scripts/fetch-model");
    elm_safetensors *st = NULL;
    ck_assert_elm_ok(elm_st_open(tu_src("tests/fixtures/golden/smollm2.logits.safetensors"), &st));
    elm_model *m = NULL;
    ck_assert_elm_ok(elm_model_open(path, NULL, &m));
    const elm_st_tensor *ti = elm_st_find(st, "input_ids");
    int64_t B = ti->shape[0], T = ti->shape[1], V = m->cfg.n_vocab;
    ck_assert_int_eq(V, 49152);
    int64_t *ids = copy_i64(ti), *lens = copy_i64(elm_st_find(st, "lengths"));
    int64_t *amax = copy_i64(elm_st_find(st, "argmax")), *top_ids = copy_i64(elm_st_find(st, "top10_ids"));
    float *top_vals = copy_f32(elm_st_find(st, "top10_vals"));
    const elm_st_tensor *sp = elm_st_find(st, "sel_pos");
    int64_t *sel = copy_i64(sp);
    float *sel_logits = copy_f32(elm_st_find(st, "logits_sel"));
    int64_t agree = 0, total = 0;
    double dsel = 0, dtop = 0;
    int prev = et_set_grad_enabled(0);
    for (int64_t b = 0; b < B; b++) {
        int64_t n = lens[b];
        et_scope *s = et_scope_new();
        int64_t shape[2] = {1, n};
        et_tensor *x = et_from_data(s, ids + b * T, ET_I64, 2, shape);
        et_tensor *lg = NULL;
        elm_forward_opts o = {.hidden_layer = -1};
        ck_assert_elm_ok(elm_model_forward_ex(m, s, x, &o, &lg));
        float *h = malloc((size_t)(n * V) * sizeof(float));
        ck_assert_elm_ok(et_to_host(lg, h, ET_F32, (size_t)(n * V) * sizeof(float)));
        for (int64_t t = 0; t < n; t++) {
            const float *row = h + t * V;
            int64_t best = 0;
            for (int64_t v = 1; v < V; v++)
                if (row[v] > row[best])
                    best = v;
            agree += best == amax[b * T + t];
            total++;
            for (int k = 0; k < 10; k++) {
                int64_t id = top_ids[(b * T + t) * 10 + k];
                dtop = fmax(dtop, fabs(row[id] - top_vals[(b * T + t) * 10 + k]));
            }
        }
        for (int64_t i = 0; i < sp->shape[0]; i++)
            if (sel[2 * i] == b)
                for (int64_t v = 0; v < V; v++)
                    dsel = fmax(dsel, fabs(h[sel[2 * i + 1] * V + v] - sel_logits[i * V + v]));
        free(h);
        et_scope_free(s);
    }
    et_set_grad_enabled(prev);
    ck_assert_msg(dsel <= 1e-3, "SmolLM2 full-logit rows max|d| = %g", dsel);
    ck_assert_msg(dtop <= 1e-3, "SmolLM2 top-10 max|d| = %g", dtop);
    ck_assert_msg(agree * 100 >= total * 99, "SmolLM2 argmax agreement %lld/%lld", (long long)agree,
                  (long long)total);
    free(ids);
    free(lens);
    free(amax);
    free(top_ids);
    free(top_vals);
    free(sel);
    free(sel_logits);
    elm_model_unref(m);
    elm_st_close(st);
}
END_TEST

static elm_lora *random_lora(elm_model *m, double alpha, int rank)
{
    unsigned *layers = calloc((size_t)m->cfg.n_layers, sizeof *layers);
    for (int i = 0; i < m->cfg.n_layers; i++)
        layers[i] = i % 2 == 1;
    elm_lora *l = NULL;
    ck_assert_elm_ok(elm_lora_new(m, rank, alpha, 0.0, layers, (1u << ELM_MOD_COUNT) - 1, &l));
    free(layers);
    et_manual_seed(7);
    ck_assert_elm_ok(elm_lora_init_peft(l));
    int prev = et_set_grad_enabled(0);
    for (int i = 0; i < l->n_layers * ELM_MOD_COUNT; i++)
        if (l->B[i])
            ck_assert_elm_ok(et_normal_(l->B[i], 0.0, 0.05));
    et_set_grad_enabled(prev);
    return l;
}

/* LoRA in the forward equals the base model with W + scale * B @ A merged
 * in (1e-5: fp32, two association orders of the same products). */
START_TEST(test_lora_merged)
{
    const char *name = tiny[_i];
    golden g;
    golden_open(name, &g);
    elm_model *m = load_tiny(name, "float32");
    elm_model *mm = load_tiny(name, "float32");
    elm_lora *l = random_lora(m, 16.0, 4);
    int prev = et_set_grad_enabled(0);
    /* merge into mm's weights (a private copy: mm is zero-copy over the file) */
    et_scope *ms = et_scope_new();
    for (int i = 0; i < m->cfg.n_layers; i++)
        for (int mod = 0; mod < ELM_MOD_COUNT; mod++) {
            et_tensor *w = elm_lora_merged_weight(m, l, ms, i, (elm_module)mod);
            ck_assert(w != NULL);
            mm->layers[i].w[mod] = et_share(mm->weights, w);
        }
    et_scope_free(ms);
    et_set_grad_enabled(prev);
    m->adapter = l;
    et_scope *s = et_scope_new();
    int64_t shape[2] = {g.B, g.T};
    et_tensor *ids = et_from_data(s, g.ids, ET_I64, 2, shape);
    et_tensor *mask = et_from_data(s, g.mask, ET_I64, 2, shape);
    elm_forward_opts o = {.attn_mask = mask, .use_attached = 1, .hidden_layer = -1};
    elm_forward_opts o2 = {.attn_mask = mask, .hidden_layer = -1};
    prev = et_set_grad_enabled(0);
    et_tensor *a = NULL, *b = NULL, *base = NULL;
    ck_assert_elm_ok(elm_model_forward_ex(m, s, ids, &o, &a));
    ck_assert_elm_ok(elm_model_forward_ex(mm, s, ids, &o2, &b));
    ck_assert_elm_ok(elm_model_forward_ex(m, s, ids, &o2, &base));
    et_set_grad_enabled(prev);
    size_t n = (size_t)(g.B * g.T * g.V);
    float *ha = malloc(n * 4), *hb = malloc(n * 4), *hbase = malloc(n * 4);
    ck_assert_elm_ok(et_to_host(a, ha, ET_F32, n * 4));
    ck_assert_elm_ok(et_to_host(b, hb, ET_F32, n * 4));
    ck_assert_elm_ok(et_to_host(base, hbase, ET_F32, n * 4));
    double d = maxdiff_masked(&g, ha, hb, g.V), dbase = maxdiff_masked(&g, ha, hbase, g.V);
    ck_assert_msg(d <= 1e-5, "%s: LoRA forward vs merged max|d| = %g", name, d);
    ck_assert_msg(dbase > 1e-3, "%s: the LoRA changed nothing (max|d| = %g)", name, dbase);
    free(ha);
    free(hb);
    free(hbase);
    et_scope_free(s);
    elm_model_unref(mm);
    elm_model_unref(m); /* frees the attached adapter */
    golden_close(&g);
}
END_TEST

/* Gradients reach LoRA parameters and never the frozen base. */
START_TEST(test_lora_grad)
{
    elm_model *m = load_tiny("llama", "float32");
    elm_lora *l = random_lora(m, 8.0, 2);
    et_scope *s = et_scope_new();
    int64_t ids_data[6] = {5, 9, 77, 3, 100, 8}, shape[2] = {1, 6};
    et_tensor *ids = et_from_data(s, ids_data, ET_I64, 2, shape);
    int prev = et_set_grad_enabled(1);
    elm_forward_opts o = {.lora = l, .hidden_layer = -1};
    et_tensor *lg = NULL;
    ck_assert_elm_ok(elm_model_forward_ex(m, s, ids, &o, &lg));
    ck_assert_elm_ok(et_backward(et_mean_all(s, lg)));
    et_set_grad_enabled(prev);
    ck_assert(!et_requires_grad(m->layers[1].w[ELM_MOD_Q]));
    ck_assert(et_grad(s, ELM_LORA_A(l, 1, ELM_MOD_Q)) != NULL);
    ck_assert(et_grad(s, ELM_LORA_B(l, 1, ELM_MOD_DOWN)) != NULL);
    ck_assert(et_grad(s, m->layers[1].w[ELM_MOD_Q]) == NULL);
    et_scope_free(s);
    elm_lora_free(l);
    elm_model_unref(m);
}
END_TEST

/* PEFT directory save → load gives the same adapter and logits; the API
 * attaches it. */
START_TEST(test_peft_roundtrip)
{
    elm_model *m = NULL;
    ck_assert_elm_ok(elm_model_load(tu_src("tests/fixtures/models/qwen2"), NULL, &m));
    elm_lora *l = random_lora(m, 16.0, 4);
    l->use_rslora = 0;
    char *dir = tu_tmpdir();
    char out[4200];
    snprintf(out, sizeof out, "%s/adapter", dir);
    ck_assert_elm_ok(elm_lora_save_peft(m, l, "tiny/qwen2", out));
    elm_lora *l2 = NULL;
    ck_assert_elm_ok(elm_lora_load_peft(m, out, &l2));
    ck_assert_int_eq(l2->rank, 4);
    ck_assert(fabs(l2->scale - 4.0) < 1e-12);
    for (int i = 0; i < l->n_layers * ELM_MOD_COUNT; i++) {
        ck_assert((l->A[i] == NULL) == (l2->A[i] == NULL));
        if (!l->A[i])
            continue;
        size_t na = (size_t)et_numel(l->A[i]), nb = (size_t)et_numel(l->B[i]);
        float *x = malloc(na * 4), *y = malloc(na * 4), *u = malloc(nb * 4), *v = malloc(nb * 4);
        ck_assert_elm_ok(et_to_host(l->A[i], x, ET_F32, na * 4));
        ck_assert_elm_ok(et_to_host(l2->A[i], y, ET_F32, na * 4));
        ck_assert_elm_ok(et_to_host(l->B[i], u, ET_F32, nb * 4));
        ck_assert_elm_ok(et_to_host(l2->B[i], v, ET_F32, nb * 4));
        ck_assert(memcmp(x, y, na * 4) == 0 && memcmp(u, v, nb * 4) == 0);
        free(x);
        free(y);
        free(u);
        free(v);
    }
    /* logits with the adapter: attached by the API vs passed in opts */
    int32_t ids[5] = {4, 40, 400, 44, 4};
    size_t lens[1] = {5};
    size_t V = (size_t)m->cfg.n_vocab;
    float *a = malloc(5 * V * 4), *b = malloc(5 * V * 4), *base = malloc(5 * V * 4);
    ck_assert_elm_ok(elm_model_logits(m, ids, lens, 1, base));
    ck_assert_elm_ok(elm_model_load_adapter(m, out));
    ck_assert_elm_ok(elm_model_logits(m, ids, lens, 1, a));
    ck_assert_elm_ok(elm_model_unload_adapter(m));
    m->adapter = l;
    ck_assert_elm_ok(elm_model_logits(m, ids, lens, 1, b));
    m->adapter = NULL;
    ck_assert(memcmp(a, b, 5 * V * 4) == 0);
    ck_assert(memcmp(a, base, 5 * V * 4) != 0);
    /* the config is what PEFT writes */
    char cpath[4300];
    snprintf(cpath, sizeof cpath, "%s/adapter_config.json", out);
    char *txt = tu_read_file(cpath, NULL);
    ck_assert(strstr(txt, "\"peft_type\": \"LORA\"") || strstr(txt, "\"peft_type\":\"LORA\""));
    ck_assert(strstr(txt, "layers_to_transform") && strstr(txt, "CAUSAL_LM"));
    /* a rank the weights file does not have is refused before anything is
     * allocated (r up to 65536 passes the config check alone) */
    char *rk = strstr(txt, "\"r\"");
    ck_assert_ptr_nonnull(rk);
    char *num = rk + 3;
    while (*num == ' ' || *num == ':')
        num++;
    ck_assert_int_eq(*num, '4');
    size_t pre = (size_t)(num - txt);
    char *bad = malloc(strlen(txt) + 16);
    snprintf(bad, strlen(txt) + 16, "%.*s65536%s", (int)pre, txt, num + 1);
    FILE *cf = fopen(cpath, "wb");
    ck_assert_ptr_nonnull(cf);
    fputs(bad, cf);
    fclose(cf);
    elm_lora *l3 = NULL;
    ck_assert_elm_status(elm_lora_load_peft(m, out, &l3), ELM_E_FORMAT);
    ck_assert_ptr_null(l3);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "'r' = 65536"));
    cf = fopen(cpath, "wb");
    fputs(txt, cf);
    fclose(cf);
    free(bad);
    /* a save killed between its two renames: the loader puts the backup back */
    char bak[4300];
    snprintf(bak, sizeof bak, "%s/.adapter.old.Q1w2e3", dir);
    ck_assert_int_eq(rename(out, bak), 0);
    ck_assert_elm_ok(elm_lora_load_peft(m, out, &l3));
    ck_assert_int_eq(l3->rank, 4);
    elm_lora_free(l3);
    free(txt);
    free(a);
    free(b);
    free(base);
    elm_lora_free(l);
    elm_lora_free(l2);
    tu_rmtree(dir);
    free(dir);
    elm_model_free(m);
}
END_TEST

START_TEST(test_config_parse)
{
    elm_llama_config c;
    ck_assert_elm_ok(elm_llama_config_from_json(tu_src("tests/fixtures/models/llama/config.json"), &c));
    ck_assert_int_eq(c.rope_type, ELM_ROPE_LLAMA3);
    ck_assert_int_eq(c.rope_original_max_pos, 128);
    ck_assert_int_eq(c.head_dim, 8);
    ck_assert_int_eq(c.n_kv_heads, 2);
    ck_assert_int_eq(c.tied_embeddings, 0);
    ck_assert_int_eq(c.eos_id, 2);
    ck_assert_elm_ok(elm_llama_config_from_json_text(
        "{\"architectures\":[\"Qwen2ForCausalLM\"],\"hidden_size\":64,\"num_hidden_layers\":2,"
        "\"num_attention_heads\":4,\"intermediate_size\":8,\"vocab_size\":10,\"rms_norm_eps\":1e-6,"
        "\"eos_token_id\":[7,8],\"use_sliding_window\":true,\"sliding_window\":16,\"max_window_layers\":2}",
        "t", &c));
    ck_assert_int_eq(c.n_kv_heads, 4);
    ck_assert_int_eq(c.head_dim, 16);
    ck_assert_int_eq(c.eos_id, 7);
    ck_assert_int_eq(c.qkv_bias, 1);
    ck_assert_int_eq(c.sliding_window, 16);
    ck_assert(fabs(c.rope_theta - 10000.0) < 1e-9);
    ck_assert_elm_status(elm_llama_config_from_json_text(
        "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,\"num_hidden_layers\":2,"
        "\"num_attention_heads\":4,\"intermediate_size\":8,\"vocab_size\":10,\"rms_norm_eps\":1e-6,"
        "\"rope_scaling\":{\"type\":\"yarn\",\"factor\":4}}", "t", &c), ELM_E_UNSUPPORTED);
    ck_assert(strstr(elm_last_error(), "yarn") != NULL);
    /* token ids: 0 <= id < vocab_size, or -1/null; 4294967297 is not 1 */
    static const char *const bad_ids[] = {"\"bos_token_id\":4294967297", "\"eos_token_id\":-2",
                                          "\"pad_token_id\":10", "\"eos_token_id\":[10,1]",
                                          "\"bos_token_id\":-9223372036854775808"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        char js[512];
        snprintf(js, sizeof js,
                 "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,\"num_hidden_layers\":2,"
                 "\"num_attention_heads\":4,\"intermediate_size\":8,\"vocab_size\":10,\"rms_norm_eps\":1e-6,%s}",
                 bad_ids[i]);
        ck_assert_elm_status(elm_llama_config_from_json_text(js, "t", &c), ELM_E_FORMAT);
        char field[32];
        snprintf(field, sizeof field, "'%.12s'", bad_ids[i] + 1);
        ck_assert_msg(strstr(elm_last_error(), field) != NULL, "%s: %s", bad_ids[i], elm_last_error());
    }
    ck_assert_elm_ok(elm_llama_config_from_json_text(
        "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,\"num_hidden_layers\":2,"
        "\"num_attention_heads\":4,\"intermediate_size\":8,\"vocab_size\":10,\"rms_norm_eps\":1e-6,"
        "\"bos_token_id\":-1,\"eos_token_id\":9,\"pad_token_id\":null}", "t", &c));
    ck_assert_int_eq(c.bos_id, -1);
    ck_assert_int_eq(c.eos_id, 9);
    ck_assert_int_eq(c.pad_id, -1);
}
END_TEST

/* Sliding window: a window covering everything changes nothing; a small
 * one changes the late positions only. */
START_TEST(test_sliding_window)
{
    golden g;
    golden_open("mistral", &g);
    elm_model *m = load_tiny("mistral", "float32");
    float *full = run_batch(m, &g, -1, NULL);
    m->cfg.sliding_window = 4;
    float *win = run_batch(m, &g, -1, NULL);
    int64_t V = g.V;
    for (int64_t t = 0; t < 4; t++)
        for (int64_t v = 0; v < V; v++)
            ck_assert(fabs(full[t * V + v] - win[t * V + v]) <= 1e-5);
    double d = 0;
    for (int64_t v = 0; v < V; v++)
        d = fmax(d, fabs(full[(g.lens[0] - 1) * V + v] - win[(g.lens[0] - 1) * V + v]));
    ck_assert(d > 1e-4);
    free(full);
    free(win);
    elm_model_unref(m);
    golden_close(&g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_config_parse);
    tcase_add_loop_test(tc, test_golden_fp32, 0, N_TINY);
    tcase_add_loop_test(tc, test_golden_bf16, 0, N_TINY);
    tcase_add_test(tc, test_api_logits_packed);
    tcase_add_test(tc, test_hidden_in);
    tcase_add_loop_test(tc, test_kv_cache, 0, N_TINY);
    tcase_add_test(tc, test_gguf_tiny);
    tcase_add_loop_test(tc, test_lora_merged, 0, N_TINY);
    tcase_add_test(tc, test_lora_grad);
    tcase_add_test(tc, test_peft_roundtrip);
    tcase_add_test(tc, test_sliding_window);
    tcase_add_test(tc, test_smollm2);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
