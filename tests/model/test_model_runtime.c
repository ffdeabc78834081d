/* Process-wide settings and model loads (issue #19): the intra-op thread
 * count and the CPU cache budget belong to the process, so a model load
 * changes them only when its config sets runtime.threads /
 * runtime.cpu_cache_mb; with nothing set anywhere the first load applies
 * the schema defaults, as it always did (threads 0: the CPUs of the
 * affinity mask that other processes do not keep busy, core/cpuload.h). */
#include "testutil.h"

#include "tensor/shim.h"

#include <sched.h>
#include <stdint.h>

#define MODEL "tests/fixtures/models/llama-tied"

static int affinity_cpus(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

static void load_free(const elm_config *cfg)
{
    elm_model *m = NULL;
    ck_assert_elm_ok(elm_model_load(tu_src(MODEL), cfg, &m));
    elm_model_free(m);
}

static size_t cache_budget(void)
{
    et_cpu_cache_info info;
    et_cpu_cache_stats(&info);
    return info.budget;
}

/* Each test runs in its own process under Check's default fork mode; under
 * CK_FORK=no (scripts/leakcheck) an earlier test has already configured the
 * process, and this one has nothing to show. */
START_TEST(test_first_load_applies_defaults)
{
    if (et_num_threads_configured() || et_cpu_cache_configured())
        return;
    load_free(NULL);
    ck_assert_int_eq(et_num_threads_configured(), 1);
    ck_assert_int_eq(et_cpu_cache_configured(), 1);
    /* 0: the CPUs other work does not keep busy (core/cpuload.h; other
     * tests may run beside this one), never more than the mask, at least 1 */
    ck_assert_int_ge(elm_get_num_threads(), 1);
    ck_assert_int_le(elm_get_num_threads(), affinity_cpus());
    ck_assert_uint_eq(cache_budget(), (size_t)256 << 20);
}
END_TEST

START_TEST(test_load_keeps_threads)
{
    ck_assert_elm_ok(elm_set_num_threads(1));
    load_free(NULL);
    ck_assert_int_eq(elm_get_num_threads(), 1);

    /* A config that leaves runtime.threads alone keeps it too. */
    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_config_set(cfg, "runtime.dtype", "float32"));
    load_free(cfg);
    ck_assert_int_eq(elm_get_num_threads(), 1);

    /* A count that is not the default (0: every CPU) on any machine. */
    int n = affinity_cpus() + 1;
    ck_assert_elm_ok(elm_set_num_threads(n));
    load_free(NULL);
    ck_assert_int_eq(elm_get_num_threads(), n);

    /* Set explicitly, the key still wins, also when set to its default. */
    ck_assert_elm_ok(elm_config_set_int(cfg, "runtime.threads", 1));
    load_free(cfg);
    ck_assert_int_eq(elm_get_num_threads(), 1);
    ck_assert_elm_ok(elm_config_set_int(cfg, "runtime.threads", 0));
    load_free(cfg);
    ck_assert_int_ge(elm_get_num_threads(), 1);
    ck_assert_int_le(elm_get_num_threads(), affinity_cpus());
    elm_config_free(cfg);
}
END_TEST

START_TEST(test_load_keeps_cpu_cache)
{
    ck_assert_elm_ok(et_set_cpu_cache((size_t)8 << 20));
    load_free(NULL);
    ck_assert_uint_eq(cache_budget(), (size_t)8 << 20);

    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_config_set_int(cfg, "runtime.cpu_cache_mb", 16));
    load_free(cfg);
    ck_assert_uint_eq(cache_budget(), (size_t)16 << 20);
    load_free(NULL);
    ck_assert_uint_eq(cache_budget(), (size_t)16 << 20);

    /* A clone keeps what was set explicitly. */
    elm_config *copy;
    ck_assert_elm_ok(elm_config_set_int(cfg, "runtime.cpu_cache_mb", 0));
    ck_assert_elm_ok(elm_config_clone(cfg, &copy));
    load_free(copy);
    ck_assert_uint_eq(cache_budget(), 0);
    elm_config_free(copy);
    elm_config_free(cfg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model_runtime");
    TCase *tc = tcase_create("process_settings");
    tcase_add_test(tc, test_first_load_applies_defaults);
    tcase_add_test(tc, test_load_keeps_threads);
    tcase_add_test(tc, test_load_keeps_cpu_cache);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
