/* elm_inspect and elm_model_load_adapter judge adapter_config.json alike
 * (issue #19): both run model/peft.c's elm_peft_check_config, so every field
 * the loader refuses (fan_in_fan_out, bias, task_type, modules_to_save,
 * rank_pattern, layer_replication, ...) makes `elm inspect` fail too, with
 * the loader's status and, word for word, its message. */
#include "testutil.h"

#include "io/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL "tests/fixtures/models/llama-tied"

/* A rank-2 adapter of layer 0's q_proj for a model of hidden size E and
 * Q = n_heads * head_dim; extra (may be "") is spliced into the config. */
static void write_adapter(const char *dir, int64_t E, int64_t Q, const char *extra)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/adapter_config.json", dir);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"q_proj\"], "
               "\"layers_to_transform\": [0]%s%s}\n",
            extra[0] ? ", " : "", extra);
    fclose(f);
    float *A = calloc((size_t)(2 * E), sizeof *A), *B = calloc((size_t)(Q * 2), sizeof *B);
    ck_assert_ptr_nonnull(A);
    ck_assert_ptr_nonnull(B);
    int64_t sa[2] = {2, E}, sb[2] = {Q, 2};
    elm_st_write_tensor t[2] = {
        {"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", ELM_ST_F32, 2, sa, A},
        {"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", ELM_ST_F32, 2, sb, B},
    };
    snprintf(p, sizeof p, "%s/adapter_model.safetensors", dir);
    ck_assert_elm_ok(elm_st_write(p, t, 2, NULL));
    free(A);
    free(B);
}

static elm_model *load_model(int64_t *E, int64_t *Q)
{
    elm_model *m = NULL;
    ck_assert_elm_ok(elm_model_load(tu_src(MODEL), NULL, &m));
    elm_model_info info;
    ELM_STRUCT_INIT(&info);
    ck_assert_elm_ok(elm_model_get_info(m, &info));
    *E = info.n_embd;
    *Q = (int64_t)info.n_heads * info.head_dim;
    return m;
}

/* The adapter in dir: inspect's and the loader's status and message. */
static void judge(elm_model *m, const char *dir, elm_status *si, char **mi, elm_status *sl, char **ml)
{
    char *json = NULL;
    *si = elm_inspect(dir, NULL, &json);
    *mi = strdup(*si == ELM_OK ? "" : elm_last_error());
    elm_free(json);
    *sl = elm_model_load_adapter(m, dir);
    *ml = strdup(*sl == ELM_OK ? "" : elm_last_error());
    if (*sl == ELM_OK)
        ck_assert_elm_ok(elm_model_unload_adapter(m));
}

START_TEST(test_inspect_refuses_fan_in_fan_out)
{
    int64_t E, Q;
    elm_model *m = load_model(&E, &Q);
    char *tmp = tu_tmpdir();
    write_adapter(tmp, E, Q, "\"fan_in_fan_out\": true");
    elm_status si, sl;
    char *mi, *ml;
    judge(m, tmp, &si, &mi, &sl, &ml);
    char want[4400];
    snprintf(want, sizeof want,
             "%s/adapter_config.json: field 'fan_in_fan_out' is true; not supported for Llama-family models", tmp);
    ck_assert_msg(si == ELM_E_UNSUPPORTED, "inspect: %s: %s", elm_status_name(si), mi);
    ck_assert_str_eq(mi, want);
    ck_assert_msg(sl == ELM_E_UNSUPPORTED, "load_adapter: %s: %s", elm_status_name(sl), ml);
    ck_assert_str_eq(ml, want);
    free(mi);
    free(ml);
    tu_rmtree(tmp);
    free(tmp);
    elm_model_free(m);
}
END_TEST

/* Each config the loader refuses: inspect refuses it the same way. */
START_TEST(test_inspect_agrees_with_loader)
{
    static const struct {
        const char *extra, *field;
    } bad[] = {
        {"\"fan_in_fan_out\": true", "fan_in_fan_out"},
        {"\"bias\": \"all\"", "bias"},
        {"\"bias\": \"lora_only\"", "bias"},
        {"\"task_type\": \"SEQ_CLS\"", "task_type"},
        {"\"modules_to_save\": [\"lm_head\"]", "modules_to_save"},
        {"\"rank_pattern\": {\"q_proj\": 4}", "rank_pattern"},
        {"\"alpha_pattern\": {\"q_proj\": 8}", "alpha_pattern"},
        {"\"layer_replication\": [[0, 1]]", "layer_replication"},
        {"\"lora_dropout\": 1.5", "lora_dropout"},
        {"\"use_dora\": true", "use_dora"},
        {"\"target_modules\": \"q_.*\"", "target_modules"},
        {"\"target_modules\": [\"embed_tokens\"]", "embed_tokens"},
    };
    int64_t E, Q;
    elm_model *m = load_model(&E, &Q);
    char *tmp = tu_tmpdir();
    elm_status si, sl;
    char *mi, *ml;
    /* control: the plain adapter passes both */
    write_adapter(tmp, E, Q, "");
    judge(m, tmp, &si, &mi, &sl, &ml);
    ck_assert_msg(si == ELM_OK, "inspect: %s", mi);
    ck_assert_msg(sl == ELM_OK, "load_adapter: %s", ml);
    free(mi);
    free(ml);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_adapter(tmp, E, Q, bad[i].extra);
        judge(m, tmp, &si, &mi, &sl, &ml);
        ck_assert_msg(sl != ELM_OK, "%s: the loader accepts it", bad[i].extra);
        ck_assert_msg(si == sl, "%s: inspect %s (%s), loader %s (%s)", bad[i].extra, elm_status_name(si), mi,
                      elm_status_name(sl), ml);
        ck_assert_msg(strcmp(mi, ml) == 0, "%s: inspect says '%s', the loader '%s'", bad[i].extra, mi, ml);
        ck_assert_msg(strstr(mi, bad[i].field) != NULL, "%s: message '%s' does not name %s", bad[i].extra, mi,
                      bad[i].field);
        free(mi);
        free(ml);
    }
    tu_rmtree(tmp);
    free(tmp);
    elm_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api_inspect_adapter");
    TCase *tc = tcase_create("peft_config");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_inspect_refuses_fan_in_fan_out);
    tcase_add_test(tc, test_inspect_agrees_with_loader);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
