/* The erase objective's fast paths (erase/objective.h) against the
 * straightforward ones, on the llama-tied fixture (fp32, one thread):
 * sparse top-k target vs the dense [N, V] target, batched (right-padded)
 * frozen passes vs three separate passes, chunked vs whole-row frozen work,
 * for every loss (soft_ce, kl, hard), action (erase, enhance, random), both
 * alignments, soft and hard retain and eta schedules. Per-micro-step losses
 * must agree within 1e-5 relative and the LoRA weights after 2 optimizer
 * steps within 1e-5 absolute (the golden parity tolerances). */
#include "testutil.h"

#include "erase/objective.h"
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
    float *w;
    size_t nw;
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

static void run(const char *const *kv, int dense, int batch, int chunk, run_out *out)
{
    elm_objective_dense_target = dense;
    elm_objective_batch_frozen = batch;
    elm_objective_chunk_rows = chunk;
    memset(out, 0, sizeof *out);
    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    static const char *const base[] = {"lora.rank", "4", "lora.alpha", "8", "lora.layers", "4-7",
                                       "lora.dropout", "0", "optim.accum", "2", "optim.lr", "1e-2",
                                       "erase.concept", "zephyrite", "erase.eta", "4", "erase.tau", "1.2",
                                       "runtime.seed", "1234", "runtime.dtype", "float32",
                                       "erase.expert_templates", NULL, "erase.novice_templates", NULL, NULL};
    const char *const *b = base;
    for (int i = 0; b[i]; i += 2) {
        const char *v = b[i + 1];
        if (!v)
            v = tu_src(strstr(b[i], "expert") ? EDIR "/expert.txt" : EDIR "/novice.txt");
        ck_assert_elm_ok(elm_config_set(cfg, b[i], v));
    }
    for (int i = 0; kv[i]; i += 2)
        ck_assert_elm_ok(elm_config_set(cfg, kv[i], kv[i + 1]));
    elm_model *m;
    ck_assert_elm_ok(elm_model_open(tu_src(MODEL), cfg, &m));
    elm_erase *e;
    ck_assert_elm_ok(elm_erase_create(m, cfg, &e));
    elm_dataset *f, *rt, *c;
    ck_assert_elm_ok(elm_dataset_open(tu_src(EDIR "/forget0.jsonl"), cfg, &f));
    ck_assert_elm_ok(elm_dataset_open(tu_src(EDIR "/retain.jsonl"), cfg, &rt));
    ck_assert_elm_ok(elm_dataset_open(tu_src(EDIR "/consistency.json"), cfg, &c));
    ck_assert_elm_ok(elm_erase_attach(e, ELM_ROLE_FORGET, 0, f));
    ck_assert_elm_ok(elm_erase_attach(e, ELM_ROLE_RETAIN, 0, rt));
    ck_assert_elm_ok(elm_erase_attach(e, ELM_ROLE_CONSISTENCY, 0, c));
    elm_dataset_free(f);
    elm_dataset_free(rt);
    elm_dataset_free(c);
    e->on_micro = on_micro;
    e->on_micro_user = out;
    for (int s = 0; s < NMICRO / 2; s++) {
        elm_step_stats st;
        ELM_STRUCT_INIT(&st);
        ck_assert_elm_ok(elm_erase_step(e, &st));
    }
    ck_assert_int_eq(out->n, NMICRO);
    for (size_t i = 0; i < e->n_params; i++)
        out->nw += (size_t)et_numel(e->params[i]);
    out->w = malloc(out->nw * sizeof *out->w);
    size_t at = 0;
    for (size_t i = 0; i < e->n_params; i++) {
        size_t n = (size_t)et_numel(e->params[i]);
        ck_assert_elm_ok(et_to_host(e->params[i], out->w + at, ET_F32, n * sizeof *out->w));
        at += n;
    }
    elm_erase_free(e);
    elm_model_unref(m);
    elm_config_free(cfg);
    elm_objective_dense_target = 0;
    elm_objective_batch_frozen = 1;
    elm_objective_chunk_rows = 32;
}

static void compare(const char *what, const run_out *a, const run_out *b)
{
    double worst = 0, wmax = 0;
    for (int i = 0; i < NMICRO; i++)
        for (int k = 0; k < 3; k++) {
            double x = a->loss[i][k], y = b->loss[i][k];
            ck_assert_msg(isnan(x) == isnan(y), "%s: micro %d term %d: %g vs %g", what, i, k, x, y);
            if (isnan(x))
                continue;
            double rel = fabs(x - y) / fmax(fabs(y), 1e-12);
            worst = fmax(worst, rel);
            ck_assert_msg(rel <= 1e-5, "%s: micro %d term %d: fast %.9g slow %.9g (rel %.3g)", what, i, k, x, y,
                          rel);
        }
    ck_assert_uint_eq(a->nw, b->nw);
    for (size_t i = 0; i < a->nw; i++)
        wmax = fmax(wmax, fabs((double)a->w[i] - (double)b->w[i]));
    /* Debian's torch 1.13 (BLIS sgemm): <= 8.6e-7 measured. PyTorch 2.x's
     * MKL sgemm rounds a row differently with the number of rows in the
     * call (7-row chunks vs whole logits), and AdamW's normalisation turns
     * those 1e-7 gradient differences into weight differences up to
     * 2.5e-5 (loss_chunks_hard on 2.11: 1.25e-5 and 2.48e-5 in two runs);
     * losses stay <= 1e-5. */
    const double wtol = strncmp(et_backend_version(), "1.13.", 5) == 0 ? 1e-5 : 1e-4;
    ck_assert_msg(wmax <= wtol, "%s: LoRA weights differ by %g (tolerance %g, libtorch %s)", what, wmax, wtol,
                  et_backend_version());
    fprintf(stderr, "erase fast/slow %s: worst relative loss difference %.3g, LoRA max abs %.3g\n", what, worst,
            wmax);
}

static void fast_vs_slow(const char *what, const char *const *kv)
{
    run_out fast, slow;
    /* chunks of 7 rows: several chunks and a ragged last one on the fixture texts */
    run(kv, 0, 1, 7, &fast);
    run(kv, 1, 0, 1 << 20, &slow);
    compare(what, &fast, &slow);
    free(fast.w);
    free(slow.w);
}

#define CASE(name, ...)                                                                 \
    START_TEST(name)                                                                    \
    {                                                                                   \
        static const char *const kv[] = {__VA_ARGS__, NULL};                            \
        fast_vs_slow(#name, kv);                                                        \
    }                                                                                   \
    END_TEST

CASE(soft_ce_concat, "erase.loss", "soft_ce", "erase.alignment", "concat")
CASE(soft_ce_separate_const, "erase.loss", "soft_ce", "erase.alignment", "separate", "erase.eta_schedule",
     "constant")
CASE(kl_enhance, "erase.loss", "kl", "erase.action", "enhance")
CASE(hard_soft_retain, "erase.loss", "hard", "erase.retain_loss", "soft")
CASE(random_action, "erase.action", "random", "erase.top_k", "20")
CASE(dense_top0, "erase.top_k", "0", "erase.loss", "kl")

/* The trained passes' lm_head + loss in chunks of 7 rows (several chunks
 * and a ragged last one; consistency scores only the continuation's rows)
 * against the whole [T, V] logits and one backward per term
 * (elm_objective_chunk_loss), same tolerances. */
static void chunked_vs_whole(const char *what, const char *const *kv)
{
    run_out chunked, whole;
    /* the chunking alone: the whole-logits path has no shared trunk (on
     * PyTorch 2.11 the batched frozen trunk moves hard-label LoRA weights
     * by 1.25e-5, measured; the share_trunk cases compare that part) */
    elm_objective_share_trunk = 0;
    elm_objective_chunk_loss = 1;
    run(kv, 0, 1, 7, &chunked);
    elm_objective_chunk_loss = 0;
    run(kv, 0, 1, 7, &whole);
    elm_objective_chunk_loss = 1;
    elm_objective_share_trunk = 1;
    compare(what, &chunked, &whole);
    free(chunked.w);
    free(whole.w);
}

#define CHUNK_CASE(name, ...)                                                           \
    START_TEST(name)                                                                    \
    {                                                                                   \
        static const char *const kv[] = {__VA_ARGS__, NULL};                            \
        chunked_vs_whole(#name, kv);                                                    \
    }                                                                                   \
    END_TEST

CHUNK_CASE(loss_chunks_soft_ce, "erase.loss", "soft_ce", "lora.dropout", "0.05")
CHUNK_CASE(loss_chunks_kl_dense, "erase.loss", "kl", "erase.top_k", "0", "erase.retain_loss", "soft",
           "erase.lambda_retain", "0.5", "erase.lambda_consistency", "2")
CHUNK_CASE(loss_chunks_hard, "erase.loss", "hard", "erase.lambda_erase", "0.7")

/* The erase and retain trained passes starting at the first LoRA layer
 * (4) from their frozen pass's input of that layer (the erase one cut from
 * the right-padded [3, T] batch) against running all layers
 * (elm_objective_share_trunk), same tolerances. */
static void shared_vs_full(const char *what, int expect_shared, const char *const *kv)
{
    run_out shared, full;
    elm_objective_share_trunk = 1;
    long n0 = elm_objective_trunk_passes;
    run(kv, 0, 1, 7, &shared);
    long used = elm_objective_trunk_passes - n0;
    elm_objective_share_trunk = 0;
    run(kv, 0, 1, 7, &full);
    ck_assert_int_eq(elm_objective_trunk_passes - n0, used); /* none when off */
    elm_objective_share_trunk = 1;
    /* every micro-step's erase and retain pass, unless LoRA starts at layer 0 */
    if (expect_shared)
        ck_assert_int_eq(used, 2 * NMICRO);
    else
        ck_assert_int_eq(used, 0);
    compare(what, &shared, &full);
    free(shared.w);
    free(full.w);
}

#define TRUNK_CASE(name, shared, ...)                                                         \
    START_TEST(name)                                                                    \
    {                                                                                   \
        static const char *const kv[] = {__VA_ARGS__, NULL};                            \
        shared_vs_full(#name, shared, kv);                                              \
    }                                                                                   \
    END_TEST

TRUNK_CASE(trunk_soft_ce_dropout, 1, "erase.loss", "soft_ce", "lora.dropout", "0.05")
TRUNK_CASE(trunk_separate_soft_retain, 1, "erase.alignment", "separate", "erase.retain_loss", "soft")
TRUNK_CASE(trunk_all_layers, 0, "lora.layers", "all", "erase.loss", "kl")

/* One libtorch thread in every test. Set in each forked test, not in main():
 * a pool made in Check's parent is abandoned (leaked) by libtorch in every
 * forked child, which LeakSanitizer then reports. */
static void one_thread(void)
{
    et_set_num_threads(1);
}

static Suite *suite(void)
{
    Suite *s = suite_create("erase_fast");
    TCase *t = tcase_create("fast_vs_slow");
    tcase_add_checked_fixture(t, one_thread, NULL);
    tcase_set_timeout(t, 900);
    tcase_add_test(t, soft_ce_concat);
    tcase_add_test(t, soft_ce_separate_const);
    tcase_add_test(t, kl_enhance);
    tcase_add_test(t, hard_soft_retain);
    tcase_add_test(t, random_action);
    tcase_add_test(t, dense_top0);
    suite_add_tcase(s, t);
    t = tcase_create("loss_chunks");
    tcase_add_checked_fixture(t, one_thread, NULL);
    tcase_set_timeout(t, 900);
    tcase_add_test(t, loss_chunks_soft_ce);
    tcase_add_test(t, loss_chunks_kl_dense);
    tcase_add_test(t, loss_chunks_hard);
    suite_add_tcase(s, t);
    t = tcase_create("share_trunk");
    tcase_add_checked_fixture(t, one_thread, NULL);
    tcase_set_timeout(t, 900);
    tcase_add_test(t, trunk_soft_ce_dropout);
    tcase_add_test(t, trunk_separate_soft_retain);
    tcase_add_test(t, trunk_all_layers);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
