/* The erase objective's fast paths (erase/objective.h) against the
 * straightforward ones, on the llama-tied fixture (fp32, one thread):
 * sparse top-k target vs the dense [N, V] target, batched (right-padded)
 * frozen passes vs three separate passes, chunked vs whole-row frozen work,
 * for every loss (soft_ce, kl, hard), action (erase, enhance, random), both
 * alignments, soft and hard retain and eta schedules. Per-micro-step losses
 * must agree within 1e-5 relative and the LoRA weights after 2 optimizer
 * steps within 1e-5 absolute (the golden parity tolerances). */
#include "testutil.h"

#include "erase_runs.h"

#include "erase/objective.h"

#include <stdlib.h>

/* The objective's internal switches: the defaults with these three set. */
static elm_objective_opts xopts(int dense, int batch, int chunk)
{
    elm_objective_opts o;
    elm_objective_opts_default(&o);
    o.dense_target = dense;
    o.batch_frozen = batch;
    o.chunk_rows = chunk;
    return o;
}

/* Two optimizer steps of 2 micro-steps (erase_runs.h) with the session's
 * objective switches set to *xo. */
static void run(const char *const *kv, const elm_objective_opts *xo, er_out *out)
{
    const char *k2[32] = {"optim.accum", "2"};
    for (int i = 0; kv[i]; i++) {
        ck_assert_int_lt(i, 28);
        k2[i + 2] = kv[i];
    }
    er_run_x(k2, 0, xo, out);
}

static void compare(const char *what, const er_out *a, const er_out *b)
{
    er_compare(what, a, b, 0);
}

static void fast_vs_slow(const char *what, const char *const *kv)
{
    er_out fast, slow;
    /* chunks of 7 rows: several chunks and a ragged last one on the fixture texts */
    elm_objective_opts of = xopts(0, 1, 7), os = xopts(1, 0, 1 << 20);
    run(kv, &of, &fast);
    run(kv, &os, &slow);
    compare(what, &fast, &slow);
    er_free(&fast);
    er_free(&slow);
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
CASE(plausible_kl, "erase.plausibility", "0.1", "erase.loss", "kl")
CASE(dense_top0, "erase.top_k", "0", "erase.loss", "kl")

/* The trained passes' lm_head + loss in chunks of 7 rows (several chunks
 * and a ragged last one; consistency scores only the continuation's rows)
 * against the whole [T, V] logits and one backward per term
 * (elm_objective_opts.chunk_loss), same tolerances. */
static void chunked_vs_whole(const char *what, const char *const *kv)
{
    er_out chunked, whole;
    /* the chunking alone: the whole-logits path has no shared trunk (on
     * PyTorch 2.11 the batched frozen trunk moves hard-label LoRA weights
     * by 1.25e-5, measured; the share_trunk cases compare that part) */
    elm_objective_opts o = xopts(0, 1, 7);
    o.share_trunk = 0;
    o.chunk_loss = 1;
    run(kv, &o, &chunked);
    o.chunk_loss = 0;
    run(kv, &o, &whole);
    compare(what, &chunked, &whole);
    er_free(&chunked);
    er_free(&whole);
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
 * (elm_objective_opts.share_trunk), same tolerances. */
static void shared_vs_full(const char *what, int expect_shared, const char *const *kv)
{
    er_out shared, full;
    elm_objective_opts o = xopts(0, 1, 7);
    o.share_trunk = 1;
    run(kv, &o, &shared);
    long used = shared.trunk_passes;
    o.share_trunk = 0;
    run(kv, &o, &full);
    ck_assert_int_eq(full.trunk_passes, 0); /* none when off */
    /* every micro-step's erase and retain pass, unless LoRA starts at layer 0 */
    if (expect_shared)
        ck_assert_int_eq(used, 2 * shared.n);
    else
        ck_assert_int_eq(used, 0);
    compare(what, &shared, &full);
    er_free(&shared);
    er_free(&full);
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

static Suite *suite(void)
{
    Suite *s = suite_create("erase_fast");
    TCase *t = tcase_create("fast_vs_slow");
    tcase_add_checked_fixture(t, er_one_thread, NULL);
    tcase_set_timeout(t, 900);
    tcase_add_test(t, soft_ce_concat);
    tcase_add_test(t, soft_ce_separate_const);
    tcase_add_test(t, kl_enhance);
    tcase_add_test(t, hard_soft_retain);
    tcase_add_test(t, random_action);
    tcase_add_test(t, plausible_kl);
    tcase_add_test(t, dense_top0);
    suite_add_tcase(s, t);
    t = tcase_create("loss_chunks");
    tcase_add_checked_fixture(t, er_one_thread, NULL);
    tcase_set_timeout(t, 900);
    tcase_add_test(t, loss_chunks_soft_ce);
    tcase_add_test(t, loss_chunks_kl_dense);
    tcase_add_test(t, loss_chunks_hard);
    suite_add_tcase(s, t);
    t = tcase_create("share_trunk");
    tcase_add_checked_fixture(t, er_one_thread, NULL);
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
