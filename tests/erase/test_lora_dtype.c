/* lora.compute_dtype = model: the LoRA matmuls in the base's compute dtype
 * (bf16 here) while A, B, their gradients and AdamW state stay fp32. On the
 * llama-tied fixture, 2 optimizer steps of 2 micro-steps at lr 1e-2:
 *  - runtime.dtype float32: "model" is the float32 path, bit for bit;
 *  - runtime.dtype bfloat16: the parameters stay float32, they move, the
 *    per-micro-step losses agree with the float32-LoRA run within 2e-2
 *    relative (bf16 rounding of the update path) and the two runs' weight
 *    updates point the same way (cosine >= 0.9). */
#include "testutil.h"

#include "erase/session.h"
#include "io/dataset.h"
#include "model/model.h"
#include "tensor/shim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL "tests/fixtures/models/llama-tied"
#define EDIR "tests/fixtures/erase"
#define NMICRO 4

typedef struct run_out {
    double loss[NMICRO][3];
    int n;
    float *w, *w0; /* LoRA parameters after the steps, and before them */
    size_t nw;
    int all_f32;
} run_out;

static void on_micro(const elm_micro_result *r, void *user)
{
    run_out *o = user;
    if (o->n < NMICRO) {
        o->loss[o->n][0] = r->erase;
        o->loss[o->n][1] = r->retain;
        o->loss[o->n][2] = r->cons;
        o->n++;
    }
}

static float *params(elm_erase *e, size_t *nw)
{
    *nw = 0;
    for (size_t i = 0; i < e->n_params; i++)
        *nw += (size_t)et_numel(e->params[i]);
    float *w = malloc(*nw * sizeof *w);
    ck_assert_ptr_nonnull(w);
    size_t at = 0;
    for (size_t i = 0; i < e->n_params; i++) {
        size_t n = (size_t)et_numel(e->params[i]);
        ck_assert_elm_ok(et_to_host(e->params[i], w + at, ET_F32, n * sizeof *w));
        at += n;
    }
    return w;
}

static void run(const char *dtype, const char *lora_dtype, run_out *out)
{
    memset(out, 0, sizeof *out);
    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    const char *const kv[] = {"lora.rank", "8", "lora.alpha", "16", "lora.layers", "4-7", "lora.dropout", "0.05",
                              "optim.accum", "2", "optim.lr", "1e-2", "erase.concept", "zephyrite", "erase.eta",
                              "4", "runtime.seed", "1234", "runtime.dtype", dtype, "lora.compute_dtype",
                              lora_dtype, "erase.expert_templates", tu_src(EDIR "/expert.txt"), NULL};
    for (int i = 0; kv[i]; i += 2)
        ck_assert_elm_ok(elm_config_set(cfg, kv[i], kv[i + 1]));
    ck_assert_elm_ok(elm_config_set(cfg, "erase.novice_templates", tu_src(EDIR "/novice.txt")));
    elm_model *m;
    ck_assert_elm_ok(elm_model_open(tu_src(MODEL), cfg, &m));
    elm_erase *e;
    ck_assert_elm_ok(elm_erase_create(m, cfg, &e));
    elm_dataset *f, *rt, *c;
    ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/forget0.jsonl"), cfg, &f));
    ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/retain.jsonl"), cfg, &rt));
    ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/consistency.json"), cfg, &c));
    ck_assert_elm_ok(elm_erase_attach(e, ELM_ROLE_FORGET, 0, f));
    ck_assert_elm_ok(elm_erase_attach(e, ELM_ROLE_RETAIN, 0, rt));
    ck_assert_elm_ok(elm_erase_attach(e, ELM_ROLE_CONSISTENCY, 0, c));
    elm_dataset_free(f);
    elm_dataset_free(rt);
    elm_dataset_free(c);
    e->on_micro = on_micro;
    e->on_micro_user = out;
    out->w0 = params(e, &out->nw);
    for (int s = 0; s < NMICRO / 2; s++) {
        elm_step_stats st;
        ELM_STRUCT_INIT(&st);
        ck_assert_elm_ok(elm_erase_step(e, &st));
    }
    ck_assert_int_eq(out->n, NMICRO);
    out->all_f32 = 1;
    for (size_t i = 0; i < e->n_params; i++)
        out->all_f32 &= et_get_dtype(e->params[i]) == ET_F32;
    size_t n;
    out->w = params(e, &n);
    ck_assert_uint_eq(n, out->nw);
    elm_erase_free(e);
    elm_model_unref(m);
    elm_config_free(cfg);
}

START_TEST(float32_model_is_float32)
{
    run_out a, b;
    run("float32", "float32", &a);
    run("float32", "model", &b);
    ck_assert_uint_eq(a.nw, b.nw);
    ck_assert_msg(memcmp(a.loss, b.loss, sizeof a.loss) == 0, "fp32 base: losses differ");
    ck_assert_msg(memcmp(a.w, b.w, a.nw * sizeof *a.w) == 0, "fp32 base: LoRA weights differ");
    free(a.w);
    free(b.w);
    free(a.w0);
    free(b.w0);
}
END_TEST

START_TEST(bf16_model_close_to_fp32_lora)
{
    run_out a, b;
    run("bfloat16", "float32", &a);
    run("bfloat16", "model", &b);
    ck_assert_msg(a.all_f32 && b.all_f32, "LoRA parameters must stay float32");
    ck_assert_uint_eq(a.nw, b.nw);
    double worst = 0;
    for (int i = 0; i < NMICRO; i++)
        for (int k = 0; k < 3; k++) {
            double x = a.loss[i][k], y = b.loss[i][k];
            ck_assert_msg(isfinite(x) && isfinite(y), "micro %d term %d: %g vs %g", i, k, x, y);
            double rel = fabs(x - y) / fmax(fabs(x), 1e-12);
            worst = fmax(worst, rel);
            ck_assert_msg(rel <= 2e-2, "micro %d term %d: float32 LoRA %.7g, model-dtype LoRA %.7g (rel %.3g)", i,
                          k, x, y, rel);
        }
    /* the same init (same seed); compare the updates */
    ck_assert_msg(memcmp(a.w0, b.w0, a.nw * sizeof *a.w0) == 0, "different initial LoRA weights");
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.nw; i++) {
        double ua = (double)a.w[i] - a.w0[i], ub = (double)b.w[i] - b.w0[i];
        dot += ua * ub;
        na += ua * ua;
        nb += ub * ub;
    }
    ck_assert_msg(na > 0 && nb > 0, "the LoRA weights did not move (|update| %g, %g)", sqrt(na), sqrt(nb));
    double cosv = dot / sqrt(na * nb);
    fprintf(stderr, "lora.compute_dtype model vs float32 (bf16 base): worst loss rel %.3g, weight cosine %.6f\n",
            worst, cosv);
    ck_assert_msg(cosv >= 0.9, "weights after 2 steps: cosine %.4f < 0.9", cosv);
    free(a.w);
    free(b.w);
    free(a.w0);
    free(b.w0);
}
END_TEST

static void one_thread(void)
{
    et_set_num_threads(1);
}

static Suite *suite(void)
{
    Suite *s = suite_create("lora_dtype");
    TCase *t = tcase_create("lora_dtype");
    tcase_set_timeout(t, 900);
    tcase_add_checked_fixture(t, one_thread, NULL);
    tcase_add_test(t, float32_model_is_float32);
    tcase_add_test(t, bf16_model_close_to_fp32_lora);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
