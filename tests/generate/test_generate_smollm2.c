/* generate suite on SmolLM2-135M-Instruct (GGUF Q4_1 dequantized, fp32):
 * greedy decoding equals transformers' generate() (golden_logits.py's
 * greedy_ids, 32 tokens, no EOS stop), and the chat path stops at
 * <|im_end|>. Needs scripts/fetch-model; a missing model fails the test. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "generate/generate.h"
#include "io/safetensors.h"

static elm_model *load(void)
{
    elm_model *m = NULL;
    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_config_set(cfg, "runtime.dtype", "float32"));
    ck_assert_elm_ok(elm_model_load(tu_cache("models/SmolLM2-135M-Instruct.Q4_1.gguf", "scripts/fetch-model"), cfg, &m));
    elm_config_free(cfg);
    return m;
}

START_TEST(test_greedy_smollm2)
{
    elm_model *m = load();
    elm_safetensors *st = NULL;
    ck_assert_elm_ok(elm_st_open(tu_src("tests/fixtures/golden/smollm2.logits.safetensors"), &st));
    const elm_st_tensor *ids, *lens, *g;
    ck_assert_elm_ok(elm_st_get(st, "input_ids", &ids));
    ck_assert_elm_ok(elm_st_get(st, "lengths", &lens));
    ck_assert_elm_ok(elm_st_get(st, "greedy_ids", &g));
    size_t n = (size_t)((const int64_t *)lens->data)[0];
    int32_t *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i] = (int32_t)((const int64_t *)ids->data)[i];
    elm_gen_params gp;
    ck_assert_elm_ok(elm_gen_params_from_config(NULL, &gp));
    gp.max_new_tokens = (int64_t)g->numel;
    gp.no_eos = 1;
    const int32_t *pp[1] = {p};
    elm_gen_result r;
    ck_assert_elm_ok(elm_gen_ids(m, pp, &n, 1, &gp, NULL, NULL, &r));
    ck_assert_uint_eq(r.n_ids, (size_t)g->numel);
    for (size_t i = 0; i < r.n_ids; i++)
        ck_assert_msg(r.ids[i] == ((const int64_t *)g->data)[i], "token %zu: got %d, transformers %lld", i, r.ids[i],
                      (long long)((const int64_t *)g->data)[i]);
    elm_gen_result_clear(&r);
    free(p);
    elm_st_close(st);
    elm_model_free(m);
}
END_TEST

START_TEST(test_chat_smollm2)
{
    elm_model *m = load();
    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_config_set(cfg, "gen.chat", "true"));
    ck_assert_elm_ok(elm_config_set(cfg, "gen.max_new_tokens", "60"));
    const char *prompt = "What is the capital of France? Answer in one word.";
    char *out = NULL;
    ck_assert_elm_ok(elm_generate(m, &prompt, 1, cfg, NULL, NULL, &out));
    ck_assert_msg(strstr(out, "Paris") != NULL, "chat answer: '%s'", out);
    ck_assert_msg(strstr(out, "<|im_end|>") == NULL && strstr(out, "<|im_start|>") == NULL, "chat answer: '%s'", out);
    elm_free(out);
    elm_config_free(cfg);
    elm_model_free(m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("generate_smollm2");
    TCase *tc = tcase_create("smollm2");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_greedy_smollm2);
    tcase_add_test(tc, test_chat_smollm2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
