/* API misuse through elm.h: NULL and freed-looking handles, calls in the
 * wrong state, mismatched model/adapter shapes. Each must be an error status
 * with a message — never a crash, an abort or a silent success.
 *
 * "Freed-looking" handles are buffers that were never a live handle: all
 * zeros (what a cleared magic tag looks like after _free) and all 0xA5
 * (garbage). An entry point that checks its handle's magic tag answers
 * ELM_E_INVALID; one that does not dereferences garbage and crashes, which
 * Check (forking per test) reports as an error of that test. */
#include "testutil.h"

#include "io/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#define MODEL "tests/fixtures/models/llama-tied"
#define NO_TOK_MODEL "tests/fixtures/model/malformed/ok_llama" /* config + weights, no tokenizer */
#define EDIR "tests/fixtures/erase"

/* Zero-filled or 0xA5-filled memory posing as a handle (large enough for
 * any handle's leading fields). */
static void *fake_handle(int fill)
{
    static unsigned char buf[2][4096] __attribute__((aligned(64)));
    unsigned char *b = buf[fill == 0 ? 0 : 1];
    memset(b, fill, sizeof buf[0]);
    return b;
}

static void expect_invalid_msg(elm_status st, const char *what)
{
    ck_assert_msg(st == ELM_E_INVALID, "%s -> %s (want ELM_E_INVALID): %s", what, elm_status_name(st),
                  elm_last_error());
    ck_assert_msg(elm_last_error()[0] != '\0', "%s: no message", what);
}

/* ---- NULL handles and arguments ---- */

START_TEST(test_null_handles)
{
    int32_t ids[1] = {1};
    size_t lens[1] = {1}, n = 0;
    float out[4];
    elm_model_info info;
    ELM_STRUCT_INIT(&info);
    elm_step_stats stats;
    ELM_STRUCT_INIT(&stats);
    char *text = NULL, *outs[1] = {NULL};
    int32_t *pids = NULL;
    const char *s1 = NULL, *s2 = NULL;
    const char *prompts[1] = {"x"};
    elm_ppl_result ppl;
    ELM_STRUCT_INIT(&ppl);
    elm_mcq_result *mcq = NULL;

    expect_invalid_msg(elm_model_get_info(NULL, &info), "model_get_info(NULL)");
    expect_invalid_msg(elm_model_logits(NULL, ids, lens, 1, out), "model_logits(NULL)");
    expect_invalid_msg(elm_model_load_adapter(NULL, "x"), "model_load_adapter(NULL)");
    expect_invalid_msg(elm_model_unload_adapter(NULL), "model_unload_adapter(NULL)");
    elm_tokenizer *tok = NULL;
    expect_invalid_msg(elm_model_tokenizer(NULL, &tok), "model_tokenizer(NULL)");
    expect_invalid_msg(elm_session_new(NULL, NULL, NULL), "session_create(NULL, out NULL)");
    elm_session *sess = NULL;
    expect_invalid_msg(elm_session_new(NULL, NULL, &sess), "session_create(NULL model)");
    ck_assert_ptr_null(sess);
    expect_invalid_msg(elm_session_step(NULL, &stats), "session_step(NULL)");
    expect_invalid_msg(elm_session_attach(NULL, ELM_ROLE_FORGET, 0, NULL), "session_attach(NULL)");
    expect_invalid_msg(elm_session_set_concept(NULL, 0, "x"), "session_set_concept(NULL)");
    expect_invalid_msg(elm_session_set_progress(NULL, NULL, NULL), "session_set_progress(NULL)");
    expect_invalid_msg(elm_session_save(NULL, "x"), "session_save(NULL)");
    expect_invalid_msg(elm_session_resume(NULL, "x"), "session_resume(NULL)");
    expect_invalid_msg(elm_session_save_merged(NULL, "x"), "session_save_merged(NULL)");
    expect_invalid_msg(elm_session_apply_to_model(NULL), "session_apply_to_model(NULL)");
    expect_invalid_msg(elm_tokenizer_encode(NULL, "a", 1, 0, &pids, &n), "tokenize(NULL)");
    expect_invalid_msg(elm_tokenizer_decode(NULL, ids, 1, 0, &text), "detokenize(NULL)");
    expect_invalid_msg(elm_tokenizer_piece(NULL, 0, &s1), "token_piece(NULL)");
    ck_assert_int_eq(elm_tokenizer_vocab_size(NULL), 0);
    ck_assert_int_eq(elm_tokenizer_special(NULL, ELM_TOKEN_BOS), -1);
    elm_detok_stream *ds = NULL;
    expect_invalid_msg(elm_detok_stream_new(NULL, 0, &ds), "detok_stream_new(NULL)");
    expect_invalid_msg(elm_detok_stream_push(NULL, 1, &text), "detok_stream_push(NULL)");
    expect_invalid_msg(elm_detok_stream_flush(NULL, &text), "detok_stream_flush(NULL)");
    expect_invalid_msg(elm_tokenizer_apply_chat(NULL, NULL, 0, 1, NULL, &text), "chat_apply(NULL)");
    ck_assert_uint_eq(elm_dataset_size(NULL), 0);
    expect_invalid_msg(elm_dataset_text(NULL, 0, &s1), "dataset_text(NULL)");
    expect_invalid_msg(elm_dataset_pair(NULL, 0, &s1, &s2), "dataset_pair(NULL)");
    expect_invalid_msg(elm_keywords_read(NULL, NULL, &text), "keywords_read(NULL)");
    expect_invalid_msg(elm_keywords_read("x.json", NULL, NULL), "keywords_read(out NULL)");
    expect_invalid_msg(elm_generate(NULL, prompts, 1, NULL, NULL, NULL, outs), "generate(NULL)");
    expect_invalid_msg(elm_eval_mcq(NULL, "x", NULL, NULL, NULL, &mcq), "eval_mcq(NULL)");
    expect_invalid_msg(elm_eval_perplexity(NULL, NULL, NULL, NULL, NULL, &ppl), "eval_perplexity(NULL)");
    expect_invalid_msg(elm_eval_reverse_perplexity(NULL, NULL, NULL, NULL, NULL, NULL, &ppl), "eval_rppl(NULL)");
    expect_invalid_msg(elm_prepare_consistency(NULL, NULL, NULL, "x", NULL, NULL), "prepare_consistency(NULL)");
    expect_invalid_msg(elm_config_set_int(NULL, "lora.rank", 4), "config_set_int(NULL)");
    expect_invalid_msg(elm_inspect(NULL, NULL, &text), "inspect(NULL path)");
    expect_invalid_msg(elm_inspect("x", NULL, NULL), "inspect(NULL out)");
    expect_invalid_msg(elm_model_load(NULL, NULL, NULL), "model_load(NULL)");
    expect_invalid_msg(elm_dataset_load(NULL, NULL, NULL), "dataset_open(NULL)");
    expect_invalid_msg(elm_tokenizer_load(NULL, NULL, &tok), "tokenizer_load(NULL)");

    /* _free(NULL) is a no-op everywhere */
    elm_model_free(NULL);
    elm_session_free(NULL);
    elm_dataset_free(NULL);
    elm_tokenizer_free(NULL);
    elm_detok_stream_free(NULL);
    elm_config_free(NULL);
    elm_mcq_result_free(NULL);
    elm_free(NULL);
}
END_TEST

/* ---- freed-looking handles: magic tags ---- */

START_TEST(test_fake_model_and_session)
{
    for (int k = 0; k < 2; k++) {
        int fill = k ? 0xA5 : 0;
        elm_model *m = fake_handle(fill);
        elm_model_info info;
        ELM_STRUCT_INIT(&info);
        int32_t ids[1] = {1};
        size_t lens[1] = {1};
        float out[4];
        expect_invalid_msg(elm_model_get_info(m, &info), "model_get_info(fake)");
        expect_invalid_msg(elm_model_logits(m, ids, lens, 1, out), "model_logits(fake)");
        expect_invalid_msg(elm_model_unload_adapter(m), "model_unload_adapter(fake)");
        elm_session *s = NULL;
        expect_invalid_msg(elm_session_new(m, NULL, &s), "session_create(fake model)");
        const char *prompts[1] = {"x"};
        char *outs[1] = {NULL};
        expect_invalid_msg(elm_generate(m, prompts, 1, NULL, NULL, NULL, outs), "generate(fake model)");
        elm_model_free(m); /* not a model: ignored, not freed */

        elm_session *fs = fake_handle(fill);
        elm_step_stats st;
        ELM_STRUCT_INIT(&st);
        expect_invalid_msg(elm_session_step(fs, &st), "session_step(fake)");
        expect_invalid_msg(elm_session_save(fs, "x"), "session_save(fake)");
        expect_invalid_msg(elm_session_apply_to_model(fs), "session_apply_to_model(fake)");
        elm_session_free(fs); /* ignored */
    }
}
END_TEST

START_TEST(test_fake_dataset)
{
    const char *s1 = NULL, *s2 = NULL;
    elm_dataset *d = fake_handle(0xA5);
    expect_invalid_msg(elm_dataset_text(d, 0, &s1), "dataset_text(fake)");
    expect_invalid_msg(elm_dataset_pair(d, 0, &s1, &s2), "dataset_pair(fake)");
    ck_assert_uint_eq(elm_dataset_size(d), 0);
}
END_TEST

START_TEST(test_fake_tokenizer)
{
    int32_t *ids = NULL;
    size_t n = 0;
    elm_tokenizer *t = fake_handle(0xA5);
    expect_invalid_msg(elm_tokenizer_encode(t, "hello", 5, 0, &ids, &n), "tokenize(fake)");
    ck_assert_int_eq(elm_tokenizer_vocab_size(t), 0);
}
END_TEST

START_TEST(test_fake_config)
{
    elm_config *c = fake_handle(0xA5);
    expect_invalid_msg(elm_config_set_int(c, "lora.rank", 4), "config_set_int(fake)");
    int64_t v = 0;
    expect_invalid_msg(elm_config_get_int(c, "lora.rank", &v), "config_get_int(fake)");
}
END_TEST

START_TEST(test_fake_session_attach_fake_dataset)
{
    elm_config *cfg = NULL;
    ck_assert_elm_ok(elm_config_new(&cfg));
    elm_model *m = NULL;
    ck_assert_elm_ok(elm_model_load(tu_src(MODEL), cfg, &m));
    elm_session *s = NULL;
    ck_assert_elm_ok(elm_session_new(m, cfg, &s));
    expect_invalid_msg(elm_session_attach(s, ELM_ROLE_FORGET, 0, fake_handle(0xA5)), "session_attach(fake ds)");
    elm_session_free(s);
    elm_model_free(m);
    elm_config_free(cfg);
}
END_TEST

/* ---- wrong state ---- */

START_TEST(test_wrong_state)
{
    elm_config *cfg = NULL;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_config_set(cfg, "erase.concept", "zephyrite"));
    ck_assert_elm_ok(elm_config_set(cfg, "lora.rank", "2"));
    elm_model *m = NULL;
    ck_assert_elm_ok(elm_model_load(tu_src(MODEL), cfg, &m));
    elm_session *s = NULL;
    ck_assert_elm_ok(elm_session_new(m, cfg, &s));
    elm_step_stats st;
    ELM_STRUCT_INIT(&st);
    /* step before any data is attached */
    ck_assert_elm_status(elm_session_step(s, &st), ELM_E_STATE);
    ck_assert_msg(strstr(elm_last_error(), "forget") != NULL, "message: %s", elm_last_error());
    /* a consistency set as the forget set, a text set as consistency */
    elm_dataset *f = NULL, *c = NULL;
    ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/forget0.jsonl"), cfg, &f));
    ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/consistency.json"), cfg, &c));
    ck_assert_int_ne(elm_session_attach(s, ELM_ROLE_FORGET, 0, c), ELM_OK);
    ck_assert_int_ne(elm_session_attach(s, ELM_ROLE_CONSISTENCY, 0, f), ELM_OK);
    /* records of the wrong kind */
    const char *p = NULL, *q = NULL;
    ck_assert_elm_status(elm_dataset_pair(f, 0, &p, &q), ELM_E_STATE);
    ck_assert_elm_status(elm_dataset_text(c, 0, &p), ELM_E_STATE);
    ck_assert_elm_status(elm_dataset_text(f, elm_dataset_size(f), &p), ELM_E_INVALID);
    /* stats struct without its size */
    elm_step_stats bad;
    memset(&bad, 0, sizeof bad);
    bad.size = 1;
    ck_assert_elm_status(elm_session_step(s, &bad), ELM_E_INVALID);
    /* model info without its size */
    elm_model_info info;
    memset(&info, 0, sizeof info);
    ck_assert_elm_status(elm_model_get_info(m, &info), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "out->size is 0: set it with ELM_STRUCT_INIT"));
    /* one size policy (elm.h): a caller of an older, shorter struct gets the
     * fields its size covers, nothing past it, and its size back */
    unsigned char raw[sizeof(elm_model_info) + 16];
    memset(raw, 0xAB, sizeof raw);
    uint32_t old_size = (uint32_t)offsetof(elm_model_info, source_dtype);
    memcpy(raw, &old_size, sizeof old_size);
    ck_assert_elm_ok(elm_model_get_info(m, (elm_model_info *)raw));
    elm_model_info full;
    ELM_STRUCT_INIT(&full);
    ck_assert_elm_ok(elm_model_get_info(m, &full));
    ck_assert_uint_eq(full.size, sizeof full);
    ck_assert_int_eq(memcmp(raw + sizeof old_size, (unsigned char *)&full + sizeof old_size, old_size - sizeof old_size), 0);
    for (size_t i = old_size; i < sizeof raw; i++)
        ck_assert_uint_eq(raw[i], 0xAB);
    ck_assert_int_eq(memcmp(raw, &old_size, sizeof old_size), 0);
    elm_step_stats zero;
    memset(&zero, 0, sizeof zero);
    ck_assert_elm_status(elm_session_step(s, &zero), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "stats->size is 0"));
    elm_key_info short_key;
    memset(&short_key, 0xCD, sizeof short_key);
    short_key.size = (uint32_t)offsetof(elm_key_info, type);
    ck_assert_elm_ok(elm_config_find_key("lora.rank", &short_key));
    ck_assert_str_eq(short_key.key, "lora.rank");
    ck_assert_uint_eq(short_key.size, offsetof(elm_key_info, type));
    unsigned char *kb = (unsigned char *)&short_key;
    ck_assert_uint_eq(kb[offsetof(elm_key_info, type)], 0xCD);
    elm_key_info zk;
    memset(&zk, 0, sizeof zk);
    ck_assert_elm_status(elm_config_key_info(0, &zk), ELM_E_INVALID);
    elm_ppl_result zp;
    memset(&zp, 0, sizeof zp);
    ck_assert_elm_status(elm_eval_perplexity(m, f, NULL, NULL, NULL, &zp), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "out->size is 0"));
    /* logits: empty sequence, id outside the vocabulary */
    int32_t ids[2] = {1, 1 << 30};
    size_t lens0[1] = {0}, lens2[1] = {2};
    float out[2 * 600];
    ck_assert_elm_status(elm_model_logits(m, ids, lens0, 1, out), ELM_E_INVALID);
    ck_assert_elm_status(elm_model_logits(m, ids, lens2, 1, out), ELM_E_INVALID);
    /* freeing the model first is allowed: the session holds a reference */
    elm_model_free(m);
    ck_assert_elm_ok(elm_session_attach(s, ELM_ROLE_FORGET, 0, f));
    ck_assert_elm_ok(elm_session_step(s, &st));
    elm_dataset_free(f);
    elm_dataset_free(c);
    elm_session_free(s);
    elm_config_free(cfg);
}
END_TEST

/* A model without a tokenizer: no tokenizer handle, and training refuses. */
START_TEST(test_no_tokenizer_state)
{
    elm_model *m = NULL;
    ck_assert_elm_ok(elm_model_load(tu_src(NO_TOK_MODEL), NULL, &m));
    elm_tokenizer *t = NULL;
    ck_assert_int_ne(elm_model_tokenizer(m, &t), ELM_OK);
    ck_assert_ptr_null(t);
    elm_config *cfg = NULL;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_config_set(cfg, "erase.concept", "x"));
    ck_assert_elm_ok(elm_config_set(cfg, "lora.layers", "all"));
    elm_session *s = NULL;
    ck_assert_elm_ok(elm_session_new(m, cfg, &s));
    elm_dataset *f = NULL;
    ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/forget0.jsonl"), cfg, &f));
    ck_assert_elm_ok(elm_session_attach(s, ELM_ROLE_FORGET, 0, f));
    elm_step_stats st;
    ELM_STRUCT_INIT(&st);
    ck_assert_elm_status(elm_session_step(s, &st), ELM_E_STATE);
    elm_dataset_free(f);
    elm_session_free(s);
    elm_model_free(m);
    elm_config_free(cfg);
}
END_TEST

/* ---- mismatched shapes ---- */

START_TEST(test_session_config_mismatch)
{
    elm_model *m = NULL;
    ck_assert_elm_ok(elm_model_load(tu_src(MODEL), NULL, &m));
    elm_config *cfg = NULL;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_config_set(cfg, "lora.layers", "20-30")); /* the model has 8 layers */
    elm_session *s = NULL;
    elm_status st = elm_session_new(m, cfg, &s);
    ck_assert_msg(st == ELM_E_INVALID || st == ELM_E_FORMAT, "status %s: %s", elm_status_name(st),
                  elm_last_error());
    ck_assert_ptr_null(s);
    elm_config_free(cfg);
    elm_model_free(m);
}
END_TEST

/* An adapter directory for layer 0's q_proj (adapter_config.json) holding
 * one pair of the given shapes in `layer`. */
static void write_adapter(const char *dir, int layer, int64_t a0, int64_t a1, int64_t b0, int64_t b1)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/adapter_config.json", dir);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"q_proj\"], "
               "\"layers_to_transform\": [0], \"task_type\": \"CAUSAL_LM\", \"bias\": \"none\"}\n");
    fclose(f);
    float *A = calloc((size_t)(a0 * a1), sizeof *A), *B = calloc((size_t)(b0 * b1), sizeof *B);
    ck_assert_ptr_nonnull(A);
    ck_assert_ptr_nonnull(B);
    char na[160], nb[160];
    snprintf(na, sizeof na, "base_model.model.model.layers.%d.self_attn.q_proj.lora_A.weight", layer);
    snprintf(nb, sizeof nb, "base_model.model.model.layers.%d.self_attn.q_proj.lora_B.weight", layer);
    int64_t sa[2] = {a0, a1}, sb[2] = {b0, b1};
    elm_st_write_tensor t[2] = {{na, ELM_ST_F32, 2, sa, A}, {nb, ELM_ST_F32, 2, sb, B}};
    snprintf(p, sizeof p, "%s/adapter_model.safetensors", dir);
    ck_assert_elm_ok(elm_st_write(p, t, 2, NULL));
    free(A);
    free(B);
}

START_TEST(test_adapter_shape_mismatch)
{
    elm_model *m = NULL;
    ck_assert_elm_ok(elm_model_load(tu_src(MODEL), NULL, &m));
    elm_model_info info;
    ELM_STRUCT_INIT(&info);
    ck_assert_elm_ok(elm_model_get_info(m, &info));
    int64_t E = info.n_embd, Q = (int64_t)info.n_heads * info.head_dim;
    char *tmp = tu_tmpdir();

    /* the right shapes load (control) */
    write_adapter(tmp, 0, 2, E, Q, 2);
    ck_assert_elm_ok(elm_model_load_adapter(m, tmp));
    ck_assert_elm_ok(elm_model_unload_adapter(m));
    /* A's input size is not the model's hidden size */
    write_adapter(tmp, 0, 2, E + 1, Q, 2);
    ck_assert_elm_status(elm_model_load_adapter(m, tmp), ELM_E_FORMAT);
    ck_assert_msg(strstr(elm_last_error(), "lora_A") != NULL, "message: %s", elm_last_error());
    /* B's output size is wrong */
    write_adapter(tmp, 0, 2, E, Q * 2, 2);
    ck_assert_elm_status(elm_model_load_adapter(m, tmp), ELM_E_FORMAT);
    /* rank disagrees with adapter_config.json's r */
    write_adapter(tmp, 0, 3, E, Q, 3);
    ck_assert_elm_status(elm_model_load_adapter(m, tmp), ELM_E_FORMAT);
    /* a layer the model does not have */
    write_adapter(tmp, info.n_layers + 3, 2, E, Q, 2);
    ck_assert_elm_status(elm_model_load_adapter(m, tmp), ELM_E_FORMAT);
    /* a failed load leaves no adapter attached */
    ELM_STRUCT_INIT(&info);
    ck_assert_elm_ok(elm_model_get_info(m, &info));
    ck_assert_int_eq(info.has_adapter, 0);
    /* a directory with no adapter at all */
    char empty[4200];
    snprintf(empty, sizeof empty, "%s/none", tmp);
    ck_assert_int_ne(elm_model_load_adapter(m, empty), ELM_OK);
    tu_rmtree(tmp);
    free(tmp);
    elm_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api_misuse");
    TCase *tc = tcase_create("handles");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_null_handles);
    tcase_add_test(tc, test_fake_model_and_session);
    tcase_add_test(tc, test_fake_dataset);
    tcase_add_test(tc, test_fake_tokenizer);
    tcase_add_test(tc, test_fake_config);
    tcase_add_test(tc, test_fake_session_attach_fake_dataset);
    suite_add_tcase(s, tc);
    TCase *st = tcase_create("state");
    tcase_set_timeout(st, 300);
    tcase_add_test(st, test_wrong_state);
    tcase_add_test(st, test_no_tokenizer_state);
    tcase_add_test(st, test_session_config_mismatch);
    tcase_add_test(st, test_adapter_shape_mismatch);
    suite_add_tcase(s, st);
    return tu_run(s);
}
