/* The erase layer: option parsing, templates, PRNG, and the ELM objective
 * against the PyTorch + PEFT reference (tools/reference/elm_reference.py,
 * fixtures in tests/fixtures/erase/golden_<mode>/); save/resume, merge,
 * cancellation and error paths through the public API.
 *
 * Tolerances: per-term losses 1e-5 relative and LoRA weights 1e-5 absolute
 * after 3 optimizer steps (both sides fp32 on the same libtorch 1.13 CPU
 * kernels; the only differences are summation orders in the forward pass);
 * logits 1e-4 absolute (the fixture tests of the model layer use the same);
 * resume: exact equality (same code, same kernels, same thread count). */
#include "testutil.h"

#include "core/error.h"
#include "erase/options.h"
#include "erase/prng.h"
#include "erase/session.h"
#include "erase/templates.h"
#include "io/dataset.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "tensor/shim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MODEL "tests/fixtures/models/llama-tied"
#define EDIR "tests/fixtures/erase"
#define PRNG_1234 "840842556444225107 15548185570577040190"

/* ------------------------------------------------------------ options ---- */

START_TEST(test_layers)
{
    unsigned mask[10];
    ck_assert_elm_ok(elm_parse_layers("4-7", 10, mask));
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(mask[i], (unsigned)(i >= 4 && i <= 7));
    ck_assert_elm_ok(elm_parse_layers("0,2,5-9", 10, mask));
    ck_assert_uint_eq(mask[0] + mask[1] + mask[2] + mask[3] + mask[4], 2);
    ck_assert_uint_eq(mask[5] + mask[9], 2);
    ck_assert_elm_ok(elm_parse_layers("all", 3, mask));
    ck_assert_uint_eq(mask[0] + mask[1] + mask[2], 3);
    ck_assert_elm_status(elm_parse_layers("4-9", 8, mask), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "layer 9 out of range"));
    ck_assert_elm_status(elm_parse_layers("7-4", 8, mask), ELM_E_INVALID);
    ck_assert_elm_status(elm_parse_layers("a", 8, mask), ELM_E_INVALID);
    ck_assert_elm_status(elm_parse_layers("1,", 8, mask), ELM_E_INVALID);
    ck_assert_elm_status(elm_parse_layers("", 8, mask), ELM_E_INVALID);
}
END_TEST

START_TEST(test_targets_mix)
{
    unsigned mm;
    ck_assert_elm_ok(elm_parse_targets("q,k,v,o,gate,up,down", &mm));
    ck_assert_uint_eq(mm, 0x7f);
    ck_assert_elm_ok(elm_parse_targets("q_proj, down", &mm));
    ck_assert_uint_eq(mm, (1u << ELM_MOD_Q) | (1u << ELM_MOD_DOWN));
    ck_assert_elm_status(elm_parse_targets("q,w", &mm), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "unknown module 'w'"));
    int *mix, n;
    ck_assert_elm_ok(elm_parse_mix("0,0,1", &mix, &n));
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(mix[2], 1);
    free(mix);
    ck_assert_elm_status(elm_parse_mix("0,-1", &mix, &n), ELM_E_INVALID);
    ck_assert_elm_status(elm_parse_mix("", &mix, &n), ELM_E_INVALID);
}
END_TEST

START_TEST(test_schedule)
{
    ck_assert_double_eq(elm_lr_at(1e-3, ELM_LR_CONSTANT, 0, 10, 5), 1e-3);
    ck_assert_double_eq_tol(elm_lr_at(1e-3, ELM_LR_CONSTANT, 4, 10, 0), 0.25e-3, 1e-18);
    ck_assert_double_eq_tol(elm_lr_at(1e-3, ELM_LR_LINEAR, 0, 10, 5), 0.5e-3, 1e-18);
    ck_assert_double_eq_tol(elm_lr_at(1e-3, ELM_LR_COSINE, 1, 3, 2), 0.5e-3, 1e-18);
    ck_assert_double_eq(elm_lr_at(1e-3, ELM_LR_COSINE, 0, 0, 7), 1e-3);
    double v[5];
    elm_linspace(1.0, 4.0, 5, v);
    ck_assert_double_eq(v[0], 1.0);
    ck_assert_double_eq(v[4], 4.0);
    ck_assert_double_eq(v[2], 2.5);
    elm_linspace(1.0, 7.0, 1, v);
    ck_assert_double_eq(v[0], 1.0);
}
END_TEST

/* ---------------------------------------------------- templates, PRNG ---- */

START_TEST(test_templates)
{
    /* the built-in sets equal tools/reference/elm_templates.py's */
    char *py = tu_read_file(tu_src("tools/reference/elm_templates.py"), NULL);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < ELM_BUILTIN_TEMPLATES; i++) {
            const char *t = (k ? elm_builtin_novice : elm_builtin_expert)[i];
            char lit[512], *w = lit;
            *w++ = '"';
            for (const char *c = t; *c; c++) {
                if (*c == '\n') {
                    *w++ = '\\';
                    *w++ = 'n';
                } else {
                    *w++ = *c;
                }
            }
            strcpy(w, "\",");
            ck_assert_msg(strstr(py, lit), "template %s missing from elm_templates.py", lit);
            ck_assert_ptr_nonnull(strstr(t, "{concept}"));
        }
    free(py);
    char *f = elm_template_fill("a {concept} b {concept}", "zephyrite");
    ck_assert_str_eq(f, "a zephyrite b zephyrite");
    free(f);
    elm_template_set ts;
    ck_assert_elm_ok(elm_templates_load(tu_src(EDIR "/expert.txt"), "erase.expert_templates", NULL, 0, &ts));
    ck_assert_uint_eq(ts.n, 3);
    ck_assert_str_eq(ts.items[0], "The following is written by an expert in {concept}:\n");
    ck_assert_str_eq(ts.items[1], "Notes of a {concept} master: ");
    elm_templates_free(&ts);
    char *dir = tu_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/bad.txt", dir);
    FILE *fp = fopen(path, "w");
    fputs("ok {concept}\nno placeholder\n", fp);
    fclose(fp);
    ck_assert_elm_status(elm_templates_load(path, "erase.expert_templates", NULL, 0, &ts), ELM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "bad.txt:2"));
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_prng)
{
    /* values from tools/reference/elm_templates.py Xoshiro256(1234) */
    elm_prng p;
    elm_prng_seed(&p, 1234);
    uint64_t a = elm_prng_next(&p), b = elm_prng_next(&p);
    char buf[64];
    snprintf(buf, sizeof buf, "%llu %llu", (unsigned long long)a, (unsigned long long)b);
    ck_assert_str_eq(buf, PRNG_1234);
}
END_TEST

/* ------------------------------------------------------------- parity ---- */

typedef struct micro_log {
    double erase[64], retain[64], cons[64];
    int n;
} micro_log;

static void on_micro(const elm_micro_result *r, void *user)
{
    micro_log *l = user;
    if (l->n < 64) {
        l->erase[l->n] = r->erase;
        l->retain[l->n] = r->retain;
        l->cons[l->n] = r->cons;
        l->n++;
    }
}

/* The golden run's config and data, as a config + attached datasets. */
typedef struct golden_run {
    json_object *root;
    elm_config *cfg;
    elm_model *m;
    elm_erase *e;
    int steps;
} golden_run;

static void run_open(golden_run *g, const char *mode, int use_init)
{
    char rel[256];
    snprintf(rel, sizeof rel, EDIR "/golden_%s/config.json", mode);
    ck_assert_elm_ok(elm_json_parse_file(tu_src(rel), &g->root));
    json_object *cfg, *data;
    ck_assert_elm_ok(elm_json_get_object("config.json", g->root, "config", &cfg));
    ck_assert_elm_ok(elm_json_get_object("config.json", g->root, "data", &data));
    ck_assert_elm_ok(elm_config_new(&g->cfg));
    json_object_object_foreach(cfg, key, val)
    {
        const char *text = json_object_get_string(val);
        if (strstr(key, "_templates") && text[0]) {
            char p[256];
            snprintf(p, sizeof p, EDIR "/%s", text);
            text = tu_src(p);
        }
        ck_assert_elm_ok(elm_config_set(g->cfg, key, text));
    }
    if (use_init) {
        snprintf(rel, sizeof rel, EDIR "/golden_%s/init_adapter", mode);
        ck_assert_elm_ok(elm_config_set_string(g->cfg, "lora.init_from", tu_src(rel)));
    }
    int64_t steps;
    ck_assert_elm_ok(elm_config_get_int(g->cfg, "optim.steps", &steps));
    g->steps = (int)steps;
    ck_assert_elm_ok(elm_model_open(tu_src(MODEL), g->cfg, &g->m));
    ck_assert_elm_ok(elm_erase_create(g->m, g->cfg, &g->e));
    static const char *const roles[] = {"forget", "retain", "consistency"};
    for (int r = 0; r < 3; r++) {
        json_object *files;
        if (!json_object_object_get_ex(data, roles[r], &files))
            continue;
        json_object_object_foreach(files, gk, fv)
        {
            char p[256];
            snprintf(p, sizeof p, EDIR "/%s", json_object_get_string(fv));
            elm_dataset *ds;
            ck_assert_elm_ok(elm_dataset_load(tu_src(p), g->cfg, &ds));
            ck_assert_elm_ok(elm_erase_attach(g->e, (elm_role)r, atoi(gk), ds));
            elm_dataset_free(ds);
        }
    }
    json_object *concepts;
    ck_assert(json_object_object_get_ex(data, "concept", &concepts));
    json_object_object_foreach(concepts, ck, cv)
        ck_assert_elm_ok(elm_erase_set_concept(g->e, atoi(ck), json_object_get_string(cv)));
}

static void run_close(golden_run *g)
{
    elm_erase_free(g->e);
    elm_model_unref(g->m);
    elm_config_free(g->cfg);
    json_object_put(g->root);
}

static void check_rel(const char *what, int i, double got, double want, double tol)
{
    if (isnan(want)) {
        ck_assert_msg(isnan(got), "%s[%d]: got %.9g, reference computed none", what, i, got);
        return;
    }
    double rel = fabs(got - want) / fmax(fabs(want), 1e-12);
    ck_assert_msg(rel <= tol, "%s[%d]: got %.9g want %.9g (rel %.3g > %.1g)", what, i, got, want, rel, tol);
}

/* Logits [T, V] of the model with lora on the golden test text's ids. */
static float *logits_with(elm_model *m, const elm_lora *lora, const elm_st_tensor *ids_t)
{
    et_scope *sc = et_scope_new();
    int64_t T = ids_t->shape[0];
    int64_t *ids = malloc(ids_t->nbytes);
    memcpy(ids, ids_t->data, ids_t->nbytes);
    int64_t shape[2] = {1, T};
    et_tensor *t = et_from_data(sc, ids, ET_I64, 2, shape);
    elm_forward_opts fo;
    memset(&fo, 0, sizeof fo);
    fo.hidden_layer = -1;
    fo.lora = lora;
    int prev = et_set_grad_enabled(0);
    et_tensor *lg = elm_model_forward(m, sc, t, &fo);
    et_set_grad_enabled(prev);
    ck_assert_elm_ok(et_scope_check(sc));
    size_t n = (size_t)et_numel(lg);
    float *out = malloc(n * sizeof *out);
    ck_assert_elm_ok(et_to_host(lg, out, ET_F32, n * sizeof *out));
    et_scope_free(sc);
    free(ids);
    return out;
}

static double max_abs_diff_f32(const float *a, const void *b_raw, size_t n)
{
    double mx = 0;
    for (size_t i = 0; i < n; i++) {
        float b;
        memcpy(&b, (const char *)b_raw + i * 4, 4);
        double d = fabs((double)a[i] - (double)b);
        if (d > mx || isnan(d))
            mx = isnan(d) ? INFINITY : d;
    }
    return mx;
}

static void parity(const char *mode)
{
    golden_run g;
    run_open(&g, mode, 1);
    micro_log log = {0};
    g.e->on_micro = on_micro;
    g.e->on_micro_user = &log;
    for (int s = 0; s < g.steps; s++) {
        elm_step_stats st;
        ELM_STRUCT_INIT(&st);
        ck_assert_elm_ok(elm_erase_step(g.e, &st));
    }
    char rel[256];
    elm_safetensors *ls;
    snprintf(rel, sizeof rel, EDIR "/golden_%s/losses.safetensors", mode);
    ck_assert_elm_ok(elm_st_open(tu_src(rel), &ls));
    static const char *const names[] = {"loss_erase", "loss_retain", "loss_consistency"};
    const double *got[3] = {log.erase, log.retain, log.cons};
    double worst = 0;
    for (int k = 0; k < 3; k++) {
        const elm_st_tensor *t = elm_st_find(ls, names[k]);
        ck_assert_ptr_nonnull(t);
        ck_assert_int_eq((int)t->shape[0], log.n);
        for (int i = 0; i < log.n; i++) {
            double want;
            memcpy(&want, (const char *)t->data + 8 * i, 8);
            check_rel(names[k], i, got[k][i], want, 1e-5);
            if (!isnan(want))
                worst = fmax(worst, fabs(got[k][i] - want) / fabs(want));
        }
    }
    fprintf(stderr, "erase parity %s: %d micro-steps, worst relative loss difference %.3g\n", mode, log.n, worst);
    elm_st_close(ls);

    /* LoRA weights after the steps */
    elm_safetensors *ws;
    snprintf(rel, sizeof rel, EDIR "/golden_%s/lora_after.safetensors", mode);
    ck_assert_elm_ok(elm_st_open(tu_src(rel), &ws));
    double wmax = 0;
    size_t seen = 0;
    for (int l = 0; l < g.e->lora->n_layers; l++)
        for (int mod = 0; mod < ELM_MOD_COUNT; mod++) {
            for (int ab = 0; ab < 2; ab++) {
                et_tensor *p = ab ? ELM_LORA_B(g.e->lora, l, mod) : ELM_LORA_A(g.e->lora, l, mod);
                if (!p)
                    continue;
                char name[256];
                snprintf(name, sizeof name, "base_model.model.model.layers.%d.%s.%s.lora_%c.weight", l,
                         elm_module_parent((elm_module)mod), elm_module_hf_name((elm_module)mod), ab ? 'B' : 'A');
                const elm_st_tensor *t = elm_st_find(ws, name);
                ck_assert_msg(t != NULL, "%s missing from the golden", name);
                size_t n = (size_t)et_numel(p);
                ck_assert_uint_eq(n, t->numel);
                float *h = malloc(n * 4);
                ck_assert_elm_ok(et_to_host(p, h, ET_F32, n * 4));
                double d = max_abs_diff_f32(h, t->data, n);
                ck_assert_msg(d <= 1e-5, "%s: max |diff| %.3g > 1e-5", name, d);
                wmax = fmax(wmax, d);
                free(h);
                seen++;
            }
        }
    ck_assert_uint_eq(seen, elm_st_count(ws));
    fprintf(stderr, "erase parity %s: %zu LoRA tensors, max |diff| %.3g\n", mode, seen, wmax);
    elm_st_close(ws);

    /* logits of the trained adapter, and of PEFT's saved adapters loaded by libelm */
    elm_safetensors *lg;
    snprintf(rel, sizeof rel, EDIR "/golden_%s/logits.safetensors", mode);
    ck_assert_elm_ok(elm_st_open(tu_src(rel), &lg));
    const elm_st_tensor *ids = elm_st_find(lg, "input_ids");
    const elm_st_tensor *lf = elm_st_find(lg, "logits_final"), *li = elm_st_find(lg, "logits_init");
    float *mine = logits_with(g.m, g.e->lora, ids);
    double d1 = max_abs_diff_f32(mine, lf->data, lf->numel);
    free(mine);
    elm_lora *peft;
    snprintf(rel, sizeof rel, EDIR "/golden_%s/final_adapter", mode);
    ck_assert_elm_ok(elm_lora_load_peft(g.m, tu_src(rel), &peft));
    mine = logits_with(g.m, peft, ids);
    double d2 = max_abs_diff_f32(mine, lf->data, lf->numel);
    free(mine);
    elm_lora_free(peft);
    snprintf(rel, sizeof rel, EDIR "/golden_%s/init_adapter", mode);
    ck_assert_elm_ok(elm_lora_load_peft(g.m, tu_src(rel), &peft));
    mine = logits_with(g.m, peft, ids);
    double d3 = max_abs_diff_f32(mine, li->data, li->numel);
    free(mine);
    elm_lora_free(peft);
    fprintf(stderr, "erase parity %s: logits max |diff| trained %.3g, PEFT final adapter %.3g, init %.3g\n",
            mode, d1, d2, d3);
    /* For tools/reference/check_peft_load.py (run by hand): the adapter as
     * libelm saves it and libelm's logits with it. */
    const char *exp_dir = getenv("ELM_ERASE_EXPORT");
    if (exp_dir && exp_dir[0]) {
        char dir[512], path[600];
        snprintf(dir, sizeof dir, "%s/%s", exp_dir, mode);
        ck_assert_elm_ok(elm_erase_save(g.e, dir));
        float *lm = logits_with(g.m, g.e->lora, ids);
        int64_t shape[2] = {ids->shape[0], g.m->cfg.n_vocab};
        int64_t *idv = malloc(ids->nbytes);
        memcpy(idv, ids->data, ids->nbytes);
        elm_st_write_tensor w[2] = {{"input_ids", ELM_ST_I64, 1, ids->shape, idv},
                                    {"logits", ELM_ST_F32, 2, shape, lm}};
        snprintf(path, sizeof path, "%s/libelm_logits.safetensors", exp_dir);
        snprintf(path, sizeof path, "%s/%s.libelm_logits.safetensors", exp_dir, mode);
        ck_assert_elm_ok(elm_st_write(path, w, 2, NULL));
        free(idv);
        free(lm);
    }
    ck_assert_msg(d1 <= 1e-4 && d2 <= 1e-4 && d3 <= 1e-4, "logits differ: %.3g %.3g %.3g", d1, d2, d3);
    elm_st_close(lg);
    run_close(&g);
}

START_TEST(test_parity_concat) { parity("concat"); }
END_TEST

START_TEST(test_parity_separate) { parity("separate"); }
END_TEST

/* erase.consistency_tokens = reference: erase.py's joint tokenization and its
 * unscored first continuation token (golden_refcons, elm_reference.py) */
START_TEST(test_parity_refcons) { parity("refcons"); }
END_TEST

/* erase.plausibility 0.1: the frozen model's plausibility mask on the target
 * (72% of the fixture's target entries masked; golden_plausible) */
START_TEST(test_parity_plausible) { parity("plausible"); }
END_TEST

/* ---------------------------------------------------- public API paths ---- */

typedef struct api_run {
    elm_model *m;
    elm_config *cfg;
    elm_session *s;
} api_run;

static void api_open(api_run *r, int with_data, const char *const *kv)
{
    ck_assert_elm_ok(elm_config_new(&r->cfg));
    static const char *const base[] = {"lora.rank", "2", "lora.alpha", "4", "lora.layers", "5-6",
                                       "optim.accum", "2", "optim.lr", "1e-3", "erase.concept", "zephyrite",
                                       "erase.eta", "3", "runtime.seed", "7", NULL};
    for (int i = 0; base[i]; i += 2)
        ck_assert_elm_ok(elm_config_set(r->cfg, base[i], base[i + 1]));
    for (int i = 0; kv && kv[i]; i += 2)
        ck_assert_elm_ok(elm_config_set(r->cfg, kv[i], kv[i + 1]));
    ck_assert_elm_ok(elm_model_load(tu_src(MODEL), r->cfg, &r->m));
    ck_assert_elm_ok(elm_session_new(r->m, r->cfg, &r->s));
    if (with_data) {
        elm_dataset *f, *rt, *c;
        ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/forget0.jsonl"), r->cfg, &f));
        ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/retain.jsonl"), r->cfg, &rt));
        ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/consistency.json"), r->cfg, &c));
        ck_assert_elm_ok(elm_session_attach(r->s, ELM_ROLE_FORGET, 0, f));
        ck_assert_elm_ok(elm_session_attach(r->s, ELM_ROLE_RETAIN, 0, rt));
        ck_assert_elm_ok(elm_session_attach(r->s, ELM_ROLE_CONSISTENCY, 0, c));
        /* the session keeps its own references */
        elm_dataset_free(f);
        elm_dataset_free(rt);
        elm_dataset_free(c);
    }
}

static void api_close(api_run *r)
{
    elm_model_free(r->m); /* before the session: it keeps the model alive */
    elm_session_free(r->s);
    elm_config_free(r->cfg);
}

static const char *const resume_kv[] = {"lora.dropout", "0.1", "erase.template_choice", "random", NULL};

START_TEST(test_resume_exact)
{
    char *dir = tu_tmpdir();
    char ck[512];
    snprintf(ck, sizeof ck, "%s/ckpt", dir);
    double want[2][3];
    {
        api_run a;
        api_open(&a, 1, resume_kv);
        elm_step_stats st;
        for (int i = 0; i < 2; i++) {
            ELM_STRUCT_INIT(&st);
            ck_assert_elm_ok(elm_session_step(a.s, &st));
        }
        ck_assert_elm_ok(elm_session_save(a.s, ck));
        for (int i = 0; i < 2; i++) {
            ELM_STRUCT_INIT(&st);
            ck_assert_elm_ok(elm_session_step(a.s, &st));
            want[i][0] = st.loss_erase;
            want[i][1] = st.loss_retain;
            want[i][2] = st.loss_consistency;
            ck_assert_int_eq(st.step, 3 + i);
        }
        api_close(&a);
    }
    struct stat sb;
    char p[600];
    snprintf(p, sizeof p, "%s/adapter_config.json", ck);
    ck_assert_int_eq(stat(p, &sb), 0);
    snprintf(p, sizeof p, "%s/adapter_model.safetensors", ck);
    ck_assert_int_eq(stat(p, &sb), 0);
    {
        api_run b;
        api_open(&b, 1, resume_kv);
        /* the fresh session's own draws must not matter */
        elm_step_stats st;
        ELM_STRUCT_INIT(&st);
        ck_assert_elm_ok(elm_session_step(b.s, &st));
        ck_assert_elm_ok(elm_session_resume(b.s, ck));
        for (int i = 0; i < 2; i++) {
            ELM_STRUCT_INIT(&st);
            ck_assert_elm_ok(elm_session_step(b.s, &st));
            ck_assert_int_eq(st.step, 3 + i);
            ck_assert_msg(st.loss_erase == want[i][0] && st.loss_retain == want[i][1] &&
                              st.loss_consistency == want[i][2],
                          "step %d after resume: %.17g %.17g %.17g, uninterrupted %.17g %.17g %.17g", i + 3,
                          st.loss_erase, st.loss_retain, st.loss_consistency, want[i][0], want[i][1], want[i][2]);
        }
        api_close(&b);
    }
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static int cancel_on(const elm_progress *p, void *user)
{
    const char *what = user;
    ck_assert_str_eq(p->what, "erase");
    return p->detail && strncmp(p->detail, what, strlen(what)) == 0;
}

START_TEST(test_cancel)
{
    char *dir = tu_tmpdir();
    char ck[512], sj[600];
    snprintf(ck, sizeof ck, "%s/ckpt", dir);
    snprintf(sj, sizeof sj, "%s/elm_state.json", ck);
    api_run a;
    api_open(&a, 1, NULL);
    elm_step_stats st;
    ELM_STRUCT_INIT(&st);
    ck_assert_elm_ok(elm_session_step(a.s, &st));
    ck_assert_elm_ok(elm_session_save(a.s, ck));
    char *before = tu_read_file(sj, NULL);
    ELM_STRUCT_INIT(&st);
    ck_assert_elm_ok(elm_session_step(a.s, &st));
    /* a cancelled save leaves the previous checkpoint as it was */
    ck_assert_elm_ok(elm_session_set_progress(a.s, cancel_on, "save"));
    ck_assert_elm_status(elm_session_save(a.s, ck), ELM_E_CANCELLED);
    char *after = tu_read_file(sj, NULL);
    ck_assert_str_eq(before, after);
    free(after);
    /* a cancelled step changes nothing: the next step equals an uncancelled one */
    ck_assert_elm_ok(elm_session_set_progress(a.s, cancel_on, "step"));
    ck_assert_elm_status(elm_session_step(a.s, &st), ELM_E_CANCELLED);
    ck_assert_elm_ok(elm_session_set_progress(a.s, NULL, NULL));
    ck_assert_elm_ok(elm_session_save(a.s, ck));
    after = tu_read_file(sj, NULL);
    ck_assert_ptr_nonnull(strstr(after, "\"step\": 2") ? after : strstr(after, "\"step\":2"));
    free(after);
    free(before);
    api_close(&a);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_errors)
{
    api_run a;
    api_open(&a, 0, NULL);
    elm_step_stats st;
    ELM_STRUCT_INIT(&st);
    ck_assert_elm_status(elm_session_step(a.s, &st), ELM_E_STATE);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "attach a forget dataset first"));
    elm_dataset *f, *c;
    ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/forget0.jsonl"), a.cfg, &f));
    ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/consistency.json"), a.cfg, &c));
    ck_assert_elm_status(elm_session_attach(a.s, ELM_ROLE_FORGET, 0, c), ELM_E_INVALID);
    ck_assert_elm_status(elm_session_attach(a.s, ELM_ROLE_CONSISTENCY, 0, f), ELM_E_INVALID);
    elm_dataset *c2;
    ck_assert_elm_ok(elm_dataset_load(tu_src("tests/fixtures/data/consistency.json"), a.cfg, &c2));
    ck_assert_elm_status(elm_session_attach(a.s, ELM_ROLE_CONSISTENCY, 3, c2), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "no consistency pairs for group 3"));
    elm_dataset_free(c2);
    ck_assert_elm_status(elm_session_attach(a.s, (elm_role)9, 0, f), ELM_E_INVALID);
    ck_assert_elm_status(elm_session_attach(a.s, ELM_ROLE_FORGET, -1, f), ELM_E_INVALID);
    ck_assert_elm_ok(elm_session_attach(a.s, ELM_ROLE_FORGET, 0, f));
    ck_assert_elm_ok(elm_session_set_concept(a.s, 0, ""));
    ck_assert_elm_status(elm_session_step(a.s, &st), ELM_E_STATE);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "erase.concept"));
    ck_assert_elm_ok(elm_session_set_concept(a.s, 0, NULL));
    ck_assert_elm_status(elm_session_resume(a.s, "/nonexistent/ckpt"), ELM_E_IO);
    ck_assert_elm_status(elm_session_step(NULL, &st), ELM_E_INVALID);
    elm_dataset_free(f);
    elm_dataset_free(c);
    api_close(&a);

    /* a group of the mix without forget data */
    static const char *const mix[] = {"erase.mix", "0,1", NULL};
    api_open(&a, 1, mix);
    ck_assert_elm_status(elm_session_step(a.s, &st), ELM_E_STATE);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "group 1"));
    api_close(&a);

    /* forget data for a group the mix never uses: refused, not ignored */
    api_open(&a, 1, NULL);
    elm_dataset *f1;
    ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/forget1.jsonl"), a.cfg, &f1));
    ck_assert_elm_ok(elm_session_attach(a.s, ELM_ROLE_FORGET, 2, f1));
    elm_dataset_free(f1);
    ck_assert_elm_status(elm_session_step(a.s, &st), ELM_E_STATE);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "group 2 has a forget dataset"));
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "forget1.jsonl"));
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "is not in erase.mix '0'"));
    api_close(&a);

    /* bad LoRA settings fail at creation */
    elm_config *cfg;
    elm_model *m;
    elm_session *s = NULL;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_model_load(tu_src(MODEL), cfg, &m));
    ck_assert_elm_ok(elm_config_set(cfg, "lora.layers", "6-8"));
    ck_assert_elm_status(elm_session_new(m, cfg, &s), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "lora.layers: layer 8 out of range"));
    ck_assert_elm_ok(elm_config_set(cfg, "lora.layers", "all"));
    ck_assert_elm_ok(elm_config_set(cfg, "lora.targets", "q,mlp"));
    ck_assert_elm_status(elm_session_new(m, cfg, &s), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "unknown module 'mlp'"));
    ck_assert_ptr_null(s);
    ck_assert_elm_ok(elm_config_set(cfg, "lora.targets", "q,v"));
    ck_assert_elm_ok(elm_config_set(cfg, "erase.action", "random"));
    ck_assert_elm_ok(elm_config_set(cfg, "erase.plausibility", "0.1"));
    ck_assert_elm_status(elm_session_new(m, cfg, &s), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "erase.plausibility = 0.1: the random action"));
    ck_assert_ptr_null(s);
    ck_assert_elm_status(elm_config_set(cfg, "erase.plausibility", "1.5"), ELM_E_INVALID);
    ck_assert_elm_status(elm_config_set(cfg, "lora.rank", "0"), ELM_E_INVALID);
    ck_assert_elm_status(elm_config_set(cfg, "erase.eta", "nan"), ELM_E_INVALID);
    elm_model_free(m);
    elm_config_free(cfg);
}
END_TEST

START_TEST(test_numeric)
{
    golden_run g;
    run_open(&g, "concat", 1);
    /* poison one B: the loss turns NaN, the step is refused */
    et_tensor *B = ELM_LORA_B(g.e->lora, 5, ELM_MOD_V);
    int prev = et_set_grad_enabled(0);
    ck_assert_elm_ok(et_mul_scalar_(B, NAN));
    et_set_grad_enabled(prev);
    elm_step_stats st;
    ELM_STRUCT_INIT(&st);
    ck_assert_elm_status(elm_erase_step(g.e, &st), ELM_E_NUMERIC);
    ck_assert_int_eq(g.e->micro, 0);
    ck_assert_int_eq(g.e->step, 0);
    ck_assert_int_eq(et_adamw_steps(g.e->opt), 0);
    for (size_t i = 0; i < g.e->n_params; i++) {
        et_scope *sc = et_scope_new();
        ck_assert_ptr_null(et_grad(sc, g.e->params[i]));
        et_scope_free(sc);
    }
    run_close(&g);
}
END_TEST

START_TEST(test_merge)
{
    char *dir = tu_tmpdir();
    char out[512];
    snprintf(out, sizeof out, "%s/merged", dir);
    golden_run g;
    run_open(&g, "concat", 1);
    elm_step_stats st;
    ELM_STRUCT_INIT(&st);
    ck_assert_elm_ok(elm_erase_step(g.e, &st));
    ck_assert_elm_ok(elm_erase_save_merged(g.e, out));
    elm_model *mm;
    ck_assert_elm_ok(elm_model_open(out, NULL, &mm));
    elm_safetensors *lg;
    ck_assert_elm_ok(elm_st_open(tu_src(EDIR "/golden_concat/logits.safetensors"), &lg));
    const elm_st_tensor *ids = elm_st_find(lg, "input_ids");
    float *a = logits_with(g.m, g.e->lora, ids);
    float *b = logits_with(mm, NULL, ids);
    size_t n = (size_t)ids->shape[0] * (size_t)g.m->cfg.n_vocab;
    double d = 0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)a[i] - (double)b[i]));
    fprintf(stderr, "merge: max |adapter - merged| logits %.3g\n", d);
    ck_assert_msg(d <= 1e-4, "merged model logits differ by %.3g", d);
    struct stat sb;
    char p[600];
    snprintf(p, sizeof p, "%s/tokenizer.json", out);
    ck_assert_int_eq(stat(p, &sb), 0);
    free(a);
    free(b);
    elm_st_close(lg);
    elm_model_unref(mm);
    run_close(&g);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_finetune_apply)
{
    static const char *const kv[] = {"erase.objective", "finetune", NULL};
    api_run a;
    api_open(&a, 0, kv);
    elm_step_stats st;
    ELM_STRUCT_INIT(&st);
    ck_assert_elm_status(elm_session_step(a.s, &st), ELM_E_STATE);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "attach a train dataset first"));
    elm_dataset *t;
    ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/forget1.jsonl"), a.cfg, &t));
    ck_assert_elm_ok(elm_session_attach(a.s, ELM_ROLE_TRAIN, 0, t));
    elm_dataset_free(t);
    double first = 0;
    for (int i = 0; i < 4; i++) {
        ELM_STRUCT_INIT(&st);
        ck_assert_elm_ok(elm_session_step(a.s, &st));
        ck_assert(isnan(st.loss_erase) && isnan(st.loss_retain) && isfinite(st.loss_train));
        ck_assert_double_eq(st.loss, st.loss_train);
        ck_assert_int_gt(st.tokens, 0);
        if (i == 0)
            first = st.loss_train;
    }
    /* fine-tuning on three texts lowers their loss */
    ck_assert_msg(st.loss_train < first, "train loss %g -> %g", first, st.loss_train);
    /* the adapter handed to the model gives the session's logits */
    int32_t ids[6] = {40, 41, 42, 43, 44, 45};
    size_t len = 6;
    size_t V = 512;
    float *before = malloc(len * V * sizeof *before), *after = malloc(len * V * sizeof *after);
    ck_assert_elm_ok(elm_model_logits(a.m, ids, &len, 1, before));
    ck_assert_elm_ok(elm_session_apply_to_model(a.s));
    ck_assert_elm_ok(elm_model_logits(a.m, ids, &len, 1, after));
    double d = 0;
    for (size_t i = 0; i < len * V; i++)
        d = fmax(d, fabs((double)before[i] - (double)after[i]));
    ck_assert_msg(d > 1e-4, "the applied adapter changed nothing (%g)", d);
    free(before);
    free(after);
    api_close(&a);
}
END_TEST

/* One libtorch thread in every test. Set in each forked test, not in main():
 * a pool made in Check's parent is abandoned (leaked) by libtorch in every
 * forked child, which LeakSanitizer then reports. */
static void one_thread(void)
{
    et_set_num_threads(1);
}

static Suite *suite(void)
{
    Suite *s = suite_create("erase");
    TCase *t = tcase_create("units");
    tcase_add_checked_fixture(t, one_thread, NULL);
    tcase_add_test(t, test_layers);
    tcase_add_test(t, test_targets_mix);
    tcase_add_test(t, test_schedule);
    tcase_add_test(t, test_templates);
    tcase_add_test(t, test_prng);
    suite_add_tcase(s, t);
    t = tcase_create("model");
    tcase_add_checked_fixture(t, one_thread, NULL);
    tcase_set_timeout(t, 600);
    tcase_add_test(t, test_parity_concat);
    tcase_add_test(t, test_parity_separate);
    tcase_add_test(t, test_parity_refcons);
    tcase_add_test(t, test_parity_plausible);
    tcase_add_test(t, test_resume_exact);
    tcase_add_test(t, test_cancel);
    tcase_add_test(t, test_errors);
    tcase_add_test(t, test_numeric);
    tcase_add_test(t, test_merge);
    tcase_add_test(t, test_finetune_apply);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
