/* Error model, version and configuration schema through the public API. */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_version)
{
    ck_assert_int_eq(elm_version(), ELM_VERSION_NUMBER);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", ELM_VERSION_MAJOR, ELM_VERSION_MINOR, ELM_VERSION_PATCH);
    ck_assert_str_eq(elm_version_string(), want);
    ck_assert_ptr_nonnull(elm_backend_version());
}
END_TEST

START_TEST(test_status_names)
{
    ck_assert_str_eq(elm_status_name(ELM_OK), "ELM_OK");
    ck_assert_str_eq(elm_status_name(ELM_E_FORMAT), "ELM_E_FORMAT");
    ck_assert_str_eq(elm_status_name(ELM_E_INTERNAL), "ELM_E_INTERNAL");
    ck_assert_str_eq(elm_status_name((elm_status)-99), "ELM_E_UNKNOWN");
    /* Pinned values: the ABI promises these numbers. */
    ck_assert_int_eq(ELM_E_INVALID, -1);
    ck_assert_int_eq(ELM_E_NUMERIC, -7);
    ck_assert_int_eq(ELM_E_INTERNAL, -10);
    ck_assert_ptr_nonnull(elm_last_error());
}
END_TEST

static void *other_thread(void *arg)
{
    (void)arg;
    /* A fresh thread has an empty message, not the main thread's. */
    return (void *)(intptr_t)(elm_last_error()[0] == '\0');
}

START_TEST(test_error_per_thread)
{
    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_status(elm_config_set_int(cfg, "no.such_key", 1), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "no.such_key"));
    pthread_t th;
    void *res;
    pthread_create(&th, NULL, other_thread, NULL);
    pthread_join(th, &res);
    ck_assert_int_eq((int)(intptr_t)res, 1);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "no.such_key"));
    elm_config_free(cfg);
}
END_TEST

START_TEST(test_null_arguments)
{
    ck_assert_elm_status(elm_config_new(NULL), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "out"));
    ck_assert_elm_status(elm_config_set_int(NULL, "lora.rank", 4), ELM_E_INVALID);
    ck_assert_elm_status(elm_config_set(NULL, "lora.rank", "4"), ELM_E_INVALID);
    elm_config_free(NULL); /* no-op */
    elm_free(NULL);
}
END_TEST

START_TEST(test_defaults_and_set)
{
    elm_config *cfg;
    int64_t i;
    double d;
    const char *s;
    int b;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_config_get_int(cfg, "lora.rank", &i));
    ck_assert_int_eq(i, 256);
    ck_assert_elm_ok(elm_config_get_double(cfg, "erase.eta", &d));
    ck_assert_double_eq(d, 1000.0);
    ck_assert_elm_ok(elm_config_get_string(cfg, "lora.targets", &s));
    ck_assert_str_eq(s, "q,k,v,o,gate,up,down");
    ck_assert_elm_ok(elm_config_get_bool(cfg, "gen.chat", &b));
    ck_assert_int_eq(b, 0);
    /* NULL config reads defaults */
    ck_assert_elm_ok(elm_config_get_double(NULL, "erase.tau", &d));
    ck_assert_double_eq_tol(d, 1.2, 1e-15);

    ck_assert_elm_ok(elm_config_set_int(cfg, "lora.rank", 4));
    ck_assert_elm_ok(elm_config_get_int(cfg, "lora.rank", &i));
    ck_assert_int_eq(i, 4);
    ck_assert_elm_ok(elm_config_set(cfg, "erase.eta", "500"));
    ck_assert_elm_ok(elm_config_get_double(cfg, "erase.eta", &d));
    ck_assert_double_eq(d, 500.0);
    ck_assert_elm_ok(elm_config_set(cfg, "optim.lr", "1e-4"));
    ck_assert_elm_ok(elm_config_get_double(cfg, "optim.lr", &d));
    ck_assert_double_eq(d, 1e-4);
    ck_assert_elm_ok(elm_config_set(cfg, "gen.chat", "true"));
    ck_assert_elm_ok(elm_config_get_bool(cfg, "gen.chat", &b));
    ck_assert_int_eq(b, 1);
    ck_assert_elm_ok(elm_config_set_string(cfg, "erase.loss", "kl"));
    ck_assert_elm_ok(elm_config_get_string(cfg, "erase.loss", &s));
    ck_assert_str_eq(s, "kl");
    /* an int key accepts an integral double; a double key accepts an int */
    ck_assert_elm_ok(elm_config_set_double(cfg, "optim.accum", 8.0));
    ck_assert_elm_ok(elm_config_set_int(cfg, "erase.tau", 2));

    char *text;
    ck_assert_elm_ok(elm_config_get_text(cfg, "erase.tau", &text));
    ck_assert_str_eq(text, "2");
    elm_free(text);

    elm_config *copy;
    ck_assert_elm_ok(elm_config_clone(cfg, &copy));
    elm_config_free(cfg);
    ck_assert_elm_ok(elm_config_get_string(copy, "erase.loss", &s));
    ck_assert_str_eq(s, "kl");
    elm_config_free(copy);
}
END_TEST

START_TEST(test_bad_values)
{
    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_status(elm_config_set_int(cfg, "lora.rank", 0), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "lora.rank"));
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "out of range"));
    ck_assert_elm_status(elm_config_set_double(cfg, "erase.eta", NAN), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "finite"));
    ck_assert_elm_status(elm_config_set_double(cfg, "erase.eta", INFINITY), ELM_E_INVALID);
    ck_assert_elm_status(elm_config_set(cfg, "lora.rank", "four"), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "not an integer"));
    ck_assert_elm_status(elm_config_set(cfg, "erase.loss", "mse"), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "soft_ce|kl|hard"));
    ck_assert_elm_status(elm_config_set_string(cfg, "lora.rank", "4"), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "type int"));
    ck_assert_elm_status(elm_config_set_double(cfg, "optim.accum", 2.5), ELM_E_INVALID);
    /* unknown key: suggestions from the same section */
    ck_assert_elm_status(elm_config_set(cfg, "lora.rnak", "4"), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "lora.rank"));
    /* failed sets leave the old value */
    int64_t i;
    ck_assert_elm_ok(elm_config_get_int(cfg, "lora.rank", &i));
    ck_assert_int_eq(i, 256);
    elm_config_free(cfg);
}
END_TEST

START_TEST(test_schema_table)
{
    size_t n = elm_config_key_count();
    ck_assert_uint_gt(n, 40);
    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    for (size_t i = 0; i < n; i++) {
        elm_key_info info;
        ELM_STRUCT_INIT(&info);
        ck_assert_elm_ok(elm_config_key_info(i, &info));
        ck_assert_ptr_nonnull(info.key);
        ck_assert_ptr_nonnull(info.doc);
        ck_assert_msg(strchr(info.key, '.') != NULL, "key %s has no section", info.key);
        /* every default round-trips through the text setter */
        ck_assert_elm_ok(elm_config_set(cfg, info.key, info.default_text));
        for (size_t j = 0; j < i; j++) {
            elm_key_info other;
            ELM_STRUCT_INIT(&other);
            ck_assert_elm_ok(elm_config_key_info(j, &other));
            ck_assert_str_ne(other.key, info.key);
        }
    }
    elm_key_info info;
    ELM_STRUCT_INIT(&info);
    ck_assert_elm_status(elm_config_key_info(n, &info), ELM_E_INVALID);
    ck_assert_elm_ok(elm_config_find_key("optim.lr", &info));
    ck_assert_int_eq(info.type, ELM_TYPE_DOUBLE);
    /* the one size policy: 0 (a caller that forgot ELM_STRUCT_INIT) is refused ... */
    info.size = 0;
    ck_assert_elm_status(elm_config_key_info(0, &info), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "ELM_STRUCT_INIT"));
    /* ... a caller built against a shorter struct gets the fields it knows, nothing past */
    memset(&info, 0xAB, sizeof info);
    info.size = (uint32_t)(offsetof(elm_key_info, type) + sizeof info.type);
    ck_assert_elm_ok(elm_config_key_info(0, &info));
    ck_assert_ptr_nonnull(info.key);
    ck_assert_uint_eq(info.size, offsetof(elm_key_info, type) + sizeof info.type);
    {
        const unsigned char *past = (const unsigned char *)&info + info.size;
        for (size_t b = 0; b < sizeof info - info.size; b++)
            ck_assert_uint_eq(past[b], 0xAB);
    }
    elm_config_free(cfg);
}
END_TEST

static int log_calls;
static void count_log(elm_log_level level, const char *msg, void *user)
{
    (void)level; (void)msg;
    (*(int *)user)++;
}

START_TEST(test_log_callback)
{
    elm_set_log_callback(count_log, &log_calls, ELM_LOG_DEBUG);
    elm_set_log_callback(NULL, NULL, ELM_LOG_ERROR);
    ck_assert_int_eq(log_calls, 0);
}
END_TEST

START_TEST(test_threads)
{
    ck_assert_elm_ok(elm_set_num_threads(1));
    ck_assert_int_eq(elm_get_num_threads(), 1);
    ck_assert_elm_ok(elm_set_num_threads(0));
    ck_assert_int_ge(elm_get_num_threads(), 1);
    ck_assert_elm_status(elm_set_num_threads(-3), ELM_E_INVALID);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_status_names);
    tcase_add_test(tc, test_error_per_thread);
    tcase_add_test(tc, test_null_arguments);
    tcase_add_test(tc, test_defaults_and_set);
    tcase_add_test(tc, test_bad_values);
    tcase_add_test(tc, test_schema_table);
    tcase_add_test(tc, test_log_callback);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
