/* Micro-batches (erase.batch) and prefix K/V reuse (erase.prefix_cache) on
 * the llama-tied fixture (fp32, one thread), each against the plain way:
 * erase.batch = B runs B micro-steps' texts through one right-padded,
 * attention-masked forward per term and must give every micro-step's
 * losses within 1e-5 relative and the LoRA weights after 2 optimizer steps
 * within 1e-5 absolute of B = 1 (the golden parity tolerances; dropout 0:
 * with dropout the masks are drawn in another order). The prefix cache
 * runs only the part of an expert/novice text after its prefix, attending
 * to the prefix's stored K/V, and must agree with running the whole text
 * within the same tolerances (dropout on: the frozen passes draw nothing). */
#include "testutil.h"

#include "erase_runs.h"

#include "erase/objective.h"

#include <stdlib.h>
#include <string.h>

/* kv with (key, value) appended, into out (NULL-terminated; 32 slots). */
static void with(const char *const *kv, const char *key, const char *value, const char **out)
{
    int n = 0;
    for (; kv[n]; n++) {
        ck_assert_int_lt(n, 28);
        out[n] = kv[n];
    }
    out[n] = key;
    out[n + 1] = value;
    out[n + 2] = NULL;
}

/* kv + {"erase.batch", B} against kv + {"erase.batch", "1"}. */
static void batch_vs_one(const char *what, const char *B, const char *const *kv)
{
    const char *a[32], *b[32];
    with(kv, "erase.batch", B, a);
    with(kv, "erase.batch", "1", b);
    er_out batched, one;
    /* the gradient sum of one step's micro-steps, B at a time vs one at a time */
    int nb = atoi(B);
    er_run(a, nb, &batched);
    er_run(b, 1, &one);
    ck_assert_int_eq(batched.trunk_passes, one.trunk_passes);
    er_compare_grads(what, &batched, &one);
    er_compare(what, &batched, &one, 1.0); /* the losses */
    er_free(&batched);
    er_free(&one);
    /* two optimizer steps through elm_erase_step. AdamW normalises each
     * gradient entry by its own running magnitude, so the sums' rounding
     * (1e-7 relative) moves entries whose gradient is near 0 by more:
     * weights within 1e-4 at lr 1e-2 (measured up to 6.2e-5) */
    er_run(a, 0, &batched);
    er_run(b, 0, &one);
    /* the shared trunk still serves every erase and retain text */
    ck_assert_int_eq(batched.trunk_passes, one.trunk_passes);
    er_compare(what, &batched, &one, 1e-4);
    er_free(&batched);
    er_free(&one);
}

#define BATCH_CASE(name, B, ...)                                                        \
    START_TEST(name)                                                                    \
    {                                                                                   \
        static const char *const kv[] = {__VA_ARGS__, NULL};                            \
        batch_vs_one(#name, B, kv);                                                     \
    }                                                                                   \
    END_TEST

BATCH_CASE(batch2_soft_ce_concat, "2", "erase.loss", "soft_ce", "erase.alignment", "concat")
/* 3 does not divide accum 4: batches of 3 and 1 */
BATCH_CASE(batch3_separate_soft_retain, "3", "erase.alignment", "separate", "erase.retain_loss", "soft")
/* two groups (group 1 without consistency pairs), kl, random templates */
BATCH_CASE(batch4_two_groups_kl, "4", "erase.mix", "0,1", "erase.loss", "kl", "erase.template_choice", "random")
BATCH_CASE(batch4_hard_dense_const, "4", "erase.loss", "hard", "erase.top_k", "0", "erase.eta_schedule",
           "constant", "erase.max_tokens", "24")
BATCH_CASE(batch2_finetune, "2", "erase.objective", "finetune")
BATCH_CASE(batch4_all_layers, "4", "lora.layers", "all", "erase.action", "enhance")

/* erase.prefix_cache on vs off; `expect`: every expert and novice row of
 * every micro-step reuses its prefix (separate: the text's ids start with
 * the prefix's; concat: the fixture's prefixes ending in a space merge with
 * the text's first word, so a shorter common part is reused) */
static void prefix_vs_plain(const char *what, const char *const *kv)
{
    const char *a[32], *b[32];
    with(kv, "erase.prefix_cache", "true", a);
    with(kv, "erase.prefix_cache", "false", b);
    er_out on, off;
    er_run(a, 0, &on);
    er_run(b, 0, &off);
    ck_assert_int_eq(off.prefix_rows, 0);
    ck_assert_int_eq(on.prefix_rows, 2L * on.n);
    er_compare(what, &on, &off, 0);
    er_free(&on);
    er_free(&off);
}

#define PREFIX_CASE(name, ...)                                                          \
    START_TEST(name)                                                                    \
    {                                                                                   \
        static const char *const kv[] = {__VA_ARGS__, NULL};                            \
        prefix_vs_plain(#name, kv);                                                     \
    }                                                                                   \
    END_TEST

PREFIX_CASE(prefix_separate_dropout, "erase.alignment", "separate", "lora.dropout", "0.05")
PREFIX_CASE(prefix_concat_random_templates, "erase.alignment", "concat", "erase.template_choice", "random")
PREFIX_CASE(prefix_separate_batch3_max_tokens, "erase.alignment", "separate", "erase.batch", "3",
            "erase.max_tokens", "20", "erase.mix", "0,1")

/* erase.frozen_cache: a run that fills an empty cache directory and one
 * that reads it (every erase target and hard retain label a hit: no frozen
 * pass runs, so no trained pass starts from a shared trunk) against no
 * cache; same tolerances. */
static void cache_vs_plain(const char *what, int soft_retain, const char *const *kv)
{
    char *dir = tu_tmpdir();
    const char *a[32];
    with(kv, "erase.frozen_cache", dir, a);
    er_out cold, warm, plain;
    er_run(kv, 0, &plain);
    er_run(a, 0, &cold);
    er_run(a, 0, &warm);
    const long terms = soft_retain ? cold.n : 2L * cold.n; /* soft retain targets are not stored */
    ck_assert_int_eq(cold.fc.hits + cold.fc.misses, terms);
    ck_assert_int_eq(cold.fc.stores, cold.fc.misses);
    ck_assert_int_gt(cold.fc.misses, 0);
    ck_assert_int_eq(cold.fc.damaged, 0);
    ck_assert_int_eq(warm.fc.hits, terms);
    ck_assert_int_eq(warm.fc.misses, 0);
    ck_assert_int_eq(warm.fc.stores, 0);
    /* a text that comes again within the cold run is a hit already */
    ck_assert_int_le(cold.trunk_passes, plain.trunk_passes);
    ck_assert_int_eq(warm.trunk_passes, soft_retain ? plain.trunk_passes / 2 : 0);
    er_compare(what, &cold, &plain, 0);
    er_compare(what, &warm, &plain, 0);
    er_compare(what, &warm, &cold, 0);
    er_free(&cold);
    er_free(&warm);
    er_free(&plain);
    tu_rmtree(dir);
    free(dir);
}

#define CACHE_CASE(name, soft, ...)                                                     \
    START_TEST(name)                                                                    \
    {                                                                                   \
        static const char *const kv[] = {__VA_ARGS__, NULL};                            \
        cache_vs_plain(#name, soft, kv);                                                \
    }                                                                                   \
    END_TEST

CACHE_CASE(cache_concat_random_templates, 0, "erase.template_choice", "random", "lora.dropout", "0.05")
CACHE_CASE(cache_separate_kl_batch3_two_groups, 0, "erase.alignment", "separate", "erase.loss", "kl",
           "erase.batch", "3", "erase.mix", "0,1")
CACHE_CASE(cache_hard_soft_retain, 1, "erase.loss", "hard", "erase.retain_loss", "soft")

/* A cache directory that cannot be made is an error at creation naming the key. */
START_TEST(cache_dir_error)
{
    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_config_set(cfg, "runtime.dtype", "float32"));
    ck_assert_elm_ok(elm_config_set(cfg, "erase.frozen_cache", "/nonexistent-elm-dir/cache"));
    elm_model *m;
    ck_assert_elm_ok(elm_model_open(tu_src(ER_MODEL), cfg, &m));
    elm_erase *e = NULL;
    ck_assert_elm_status(elm_erase_create(m, cfg, &e), ELM_E_IO);
    ck_assert_ptr_null(e);
    ck_assert_msg(strstr(elm_last_error(), "erase.frozen_cache") && strstr(elm_last_error(), "/nonexistent-elm-dir"),
                  "message: %s", elm_last_error());
    elm_model_unref(m);
    elm_config_free(cfg);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("erase_batch");
    TCase *t = tcase_create("batch");
    tcase_add_checked_fixture(t, er_one_thread, NULL);
    tcase_set_timeout(t, 600);
    tcase_add_test(t, batch2_soft_ce_concat);
    tcase_add_test(t, batch3_separate_soft_retain);
    tcase_add_test(t, batch4_two_groups_kl);
    tcase_add_test(t, batch4_hard_dense_const);
    tcase_add_test(t, batch2_finetune);
    tcase_add_test(t, batch4_all_layers);
    suite_add_tcase(s, t);
    t = tcase_create("prefix");
    tcase_add_checked_fixture(t, er_one_thread, NULL);
    tcase_set_timeout(t, 600);
    tcase_add_test(t, prefix_separate_dropout);
    tcase_add_test(t, prefix_concat_random_templates);
    tcase_add_test(t, prefix_separate_batch3_max_tokens);
    suite_add_tcase(s, t);
    t = tcase_create("frozen_cache");
    tcase_add_checked_fixture(t, er_one_thread, NULL);
    tcase_set_timeout(t, 600);
    tcase_add_test(t, cache_concat_random_templates);
    tcase_add_test(t, cache_separate_kl_batch3_two_groups);
    tcase_add_test(t, cache_hard_soft_retain);
    tcase_add_test(t, cache_dir_error);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
