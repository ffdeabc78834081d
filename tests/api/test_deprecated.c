/* The names elm.h keeps for one release after their rename: each still links
 * and behaves exactly as its new name (same result, same errors). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

/* this file calls the old names on purpose */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#define MODEL "tests/fixtures/models/llama-tied"
#define EDIR "tests/fixtures/erase"

START_TEST(test_old_names_are_the_new_functions)
{
    elm_model *m = NULL;
    elm_tokenizer *tok = NULL;
    ck_assert_elm_ok(elm_model_load(tu_src(MODEL), NULL, &m));
    ck_assert_elm_ok(elm_model_tokenizer(m, &tok));

    const char *text = "Hello world, hello.";
    int32_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    ck_assert_elm_ok(elm_tokenizer_encode(tok, text, strlen(text), 0, &a, &na));
    ck_assert_elm_ok(elm_tokenize(tok, text, strlen(text), 0, &b, &nb));
    ck_assert_uint_eq(na, nb);
    ck_assert_int_eq(memcmp(a, b, na * sizeof *a), 0);

    char *ta = NULL, *tb = NULL;
    ck_assert_elm_ok(elm_tokenizer_decode(tok, a, na, 0, &ta));
    ck_assert_elm_ok(elm_detokenize(tok, a, na, 0, &tb));
    ck_assert_str_eq(ta, tb);

    const char *pa = NULL, *pb = NULL;
    ck_assert_elm_ok(elm_tokenizer_piece(tok, a[0], &pa));
    ck_assert_elm_ok(elm_token_piece(tok, a[0], &pb));
    ck_assert_str_eq(pa, pb);
    ck_assert_elm_status(elm_token_piece(tok, -1, &pb), ELM_E_INVALID);

    elm_chat_message msg = {"user", "Hi"};
    elm_free(tb);
    char *ca = NULL, *cb = NULL;
    elm_status sa = elm_tokenizer_apply_chat(tok, &msg, 1, 1, NULL, &ca);
    elm_status sb = elm_chat_apply(tok, &msg, 1, 1, NULL, &cb);
    ck_assert_int_eq(sa, sb);
    if (sa == ELM_OK)
        ck_assert_str_eq(ca, cb);
    elm_free(ca);
    elm_free(cb);
    elm_free(ta);
    elm_free(a);
    elm_free(b);

    elm_dataset *d1 = NULL, *d2 = NULL;
    ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/forget0.jsonl"), NULL, &d1));
    ck_assert_elm_ok(elm_dataset_open(tu_src(EDIR "/forget0.jsonl"), NULL, &d2));
    ck_assert_uint_eq(elm_dataset_size(d1), elm_dataset_size(d2));
    elm_dataset_free(d2);
    ck_assert_elm_status(elm_dataset_open("/nonexistent/x.jsonl", NULL, &d2), ELM_E_IO);
    elm_dataset_free(d1);

    elm_session *s = NULL;
    ck_assert_elm_ok(elm_session_create(m, NULL, &s));
    ck_assert_ptr_nonnull(s);
    elm_session_free(s);
    ck_assert_elm_status(elm_session_create(NULL, NULL, &s), ELM_E_INVALID);

    elm_tokenizer_free(tok);
    elm_model_free(m);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("api_deprecated");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_old_names_are_the_new_functions);
    suite_add_tcase(su, tc);
    return tu_run(su);
}
