/* The config layer's internal query (config/config.h): which keys a config
 * was given explicitly. */
#include "testutil.h"

#include "config/config.h"

START_TEST(test_is_set)
{
    elm_config *cfg, *copy;
    ck_assert_int_eq(elm_config_is_set(NULL, "runtime.threads"), 0);
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_int_eq(elm_config_is_set(cfg, "runtime.threads"), 0);
    ck_assert_int_eq(elm_config_is_set(cfg, "no.such_key"), 0);
    ck_assert_int_eq(elm_config_is_set(cfg, NULL), 0);
    /* Set to the default value: still set explicitly. */
    ck_assert_elm_ok(elm_config_set_int(cfg, "runtime.threads", 0));
    ck_assert_elm_ok(elm_config_set(cfg, "runtime.dtype", "float32"));
    ck_assert_elm_ok(elm_config_set_bool(cfg, "erase.prefix_cache", 0));
    ck_assert_elm_ok(elm_config_set_double(cfg, "lora.alpha", 16));
    ck_assert_int_eq(elm_config_is_set(cfg, "runtime.threads"), 1);
    ck_assert_int_eq(elm_config_is_set(cfg, "runtime.dtype"), 1);
    ck_assert_int_eq(elm_config_is_set(cfg, "erase.prefix_cache"), 1);
    ck_assert_int_eq(elm_config_is_set(cfg, "lora.alpha"), 1);
    ck_assert_int_eq(elm_config_is_set(cfg, "runtime.cpu_cache_mb"), 0);
    /* A failed set leaves the key unset. */
    ck_assert_elm_status(elm_config_set_int(cfg, "runtime.cpu_cache_mb", -1), ELM_E_INVALID);
    ck_assert_int_eq(elm_config_is_set(cfg, "runtime.cpu_cache_mb"), 0);
    ck_assert_elm_ok(elm_config_clone(cfg, &copy));
    ck_assert_int_eq(elm_config_is_set(copy, "runtime.threads"), 1);
    ck_assert_int_eq(elm_config_is_set(copy, "runtime.cpu_cache_mb"), 0);
    elm_config_free(copy);
    elm_config_free(cfg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("store");
    tcase_add_test(tc, test_is_set);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
