/* elm eval mcq|ppl|rppl: multiple-choice accuracy, perplexity, reverse perplexity. */
#include "elm.h"
#include "commands.h"
#include "flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const elm_cli_alias eval_flags[] = {
    {"--limit", "eval.limit"},     {"--subject", "eval.mcq_subject"}, {"--scoring", "eval.mcq_scoring"},
    {"--max-new-tokens", "gen.max_new_tokens"}, {"--temperature", "gen.temperature"}, {"--seed", "gen.seed"},
    {"--chat", "gen.chat"}, {"--device", "runtime.device"}, {"--dtype", "runtime.dtype"}, {"--threads", "runtime.threads"},
    {"--batch", "eval.batch"},     {"--window", "eval.window"},       {"--stride", "eval.stride"},
};

typedef struct eval_args {
    const char *model, *adapter, *scorer, *file;
    int json, compare_base;
} eval_args;

static int parse(const char *cmd, int argc, char **argv, elm_config *cfg, eval_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        int handled = 0, rc;
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc)
            a->model = argv[++i];
        else if (strcmp(argv[i], "--adapter") == 0 && i + 1 < argc)
            a->adapter = argv[++i];
        else if (strcmp(argv[i], "--scorer") == 0 && i + 1 < argc)
            a->scorer = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            a->json = 1;
        else if (strcmp(argv[i], "--compare-base") == 0)
            a->compare_base = 1;
        else if ((rc = elm_cli_config_flag(cfg, cmd, argc, argv, &i, eval_flags, sizeof eval_flags / sizeof eval_flags[0],
                                       &handled)) != 0)
            return rc;
        else if (handled)
            continue;
        else if (strncmp(argv[i], "--", 2) == 0)
            return elm_cli_usage(cmd, "unknown option %s", argv[i]);
        else if (!a->file)
            a->file = argv[i];
        else
            return elm_cli_usage(cmd, "one FILE only (got %s and %s)", a->file, argv[i]);
    }
    if (!a->model || !a->file)
        return elm_cli_usage(cmd, "needs --model and FILE");
    return 0;
}

static int progress_fn(const elm_progress *p, void *user)
{
    (void)user;
    fprintf(stderr, "\r%s %llu/%llu %.0fs", p->what, (unsigned long long)p->done, (unsigned long long)p->total,
            p->seconds);
    if (p->total && p->done >= p->total)
        fputc('\n', stderr);
    return 0;
}

static void json_ints(const char *name, const int32_t *v, size_t n)
{
    printf("\"%s\": [", name);
    for (size_t i = 0; i < n; i++)
        printf("%s%d", i ? ", " : "", v[i]);
    printf("]");
}

static void mcq_json(const elm_mcq_result *r)
{
    printf("{\"accuracy\": %.6f, \"n\": %zu, \"n_correct\": %zu, \"ci_low\": %.6f, \"ci_high\": %.6f, "
           "\"seconds\": %.3f, \"questions_per_second\": %.3f, ",
           r->accuracy, r->n, r->n_correct, r->ci_low, r->ci_high, r->seconds,
           r->seconds > 0 ? (double)r->n / r->seconds : 0.0);
    json_ints("predictions", r->predicted, r->n);
    printf(", ");
    json_ints("answers", r->answers, r->n);
    printf(", \"margins\": [");
    for (size_t i = 0; i < r->n; i++)
        printf("%s%.6g", i ? ", " : "", r->margins[i]);
    printf("]");
    /* per-choice log-likelihoods and token counts; lm-eval's acc beside acc_norm for cloze */
    printf(", \"accuracy_unnormalized\": %.6f, \"n_correct_unnormalized\": %zu, ", r->accuracy_unnormalized,
           r->n_correct_unnormalized);
    json_ints("predictions_unnormalized", r->predicted_unnormalized, r->n);
    printf(", \"loglik\": [");
    for (size_t i = 0; i < r->n; i++) {
        printf("%s[", i ? ", " : "");
        for (size_t j = 0; j < r->stride && r->n_tokens[i * r->stride + j] > 0; j++)
            printf("%s%.17g", j ? ", " : "", r->loglik[i * r->stride + j]);
        printf("]");
    }
    printf("], \"n_tokens\": [");
    for (size_t i = 0; i < r->n; i++) {
        printf("%s[", i ? ", " : "");
        for (size_t j = 0; j < r->stride && r->n_tokens[i * r->stride + j] > 0; j++)
            printf("%s%d", j ? ", " : "", r->n_tokens[i * r->stride + j]);
        printf("]");
    }
    printf("]}");
}

static int run_mcq(int argc, char **argv)
{
    const char *cmd = "eval mcq";
    elm_config *cfg = NULL;
    elm_model *m = NULL;
    elm_mcq_result *with = NULL, *base = NULL;
    eval_args a;
    if (elm_config_new(&cfg) != ELM_OK)
        return elm_cli_fail(cmd, "out of memory");
    int rc = parse(cmd, argc, argv, cfg, &a);
    if (rc == 0 && a.compare_base && !a.adapter)
        rc = elm_cli_usage(cmd, "--compare-base needs --adapter");
    if (rc == 0 && elm_model_load(a.model, cfg, &m) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    if (rc == 0 && a.adapter && elm_model_load_adapter(m, a.adapter) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    if (rc == 0 && elm_eval_mcq(m, a.file, cfg, progress_fn, NULL, &with) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    if (rc == 0 && a.compare_base) {
        if (elm_model_unload_adapter(m) != ELM_OK || elm_eval_mcq(m, a.file, cfg, progress_fn, NULL, &base) != ELM_OK)
            rc = elm_cli_fail(cmd, "%s", elm_last_error());
    }
    if (rc == 0) {
        if (a.json && base) {
            printf("{\"base\": ");
            mcq_json(base);
            printf(", \"adapter\": ");
            mcq_json(with);
            printf("}\n");
        } else if (a.json) {
            mcq_json(with);
            printf("\n");
        } else if (base) {
            size_t changed = 0, gained = 0, lost = 0;
            for (size_t i = 0; i < with->n; i++) {
                changed += with->predicted[i] != base->predicted[i];
                gained += with->predicted[i] == with->answers[i] && base->predicted[i] != base->answers[i];
                lost += with->predicted[i] != with->answers[i] && base->predicted[i] == base->answers[i];
            }
            printf("%-14s %-22s %-22s\n", "", "base", "adapter");
            printf("%-14s %-22.4f %-22.4f\n", "accuracy", base->accuracy, with->accuracy);
            printf("%-14s %-22zu %-22zu\n", "correct", base->n_correct, with->n_correct);
            char b1[64], b2[64];
            snprintf(b1, sizeof b1, "[%.4f, %.4f]", base->ci_low, base->ci_high);
            snprintf(b2, sizeof b2, "[%.4f, %.4f]", with->ci_low, with->ci_high);
            printf("%-14s %-22s %-22s\n", "95% CI", b1, b2);
            printf("%-14s %-22.1f %-22.1f\n", "questions/s", base->seconds > 0 ? base->n / base->seconds : 0.0,
                   with->seconds > 0 ? with->n / with->seconds : 0.0);
            printf("n %zu; predictions changed %zu (now right %zu, now wrong %zu)\n", with->n, changed, gained, lost);
        } else {
            printf("accuracy %.4f (%zu/%zu), 95%% CI [%.4f, %.4f], %.1f questions/s\n", with->accuracy,
                   with->n_correct, with->n, with->ci_low, with->ci_high,
                   with->seconds > 0 ? with->n / with->seconds : 0.0);
            if (with->n_correct_unnormalized != with->n_correct || memcmp(with->predicted, with->predicted_unnormalized,
                                                                          with->n * sizeof(int32_t)) != 0)
                printf("unnormalized (argmax log-likelihood) accuracy %.4f (%zu/%zu)\n", with->accuracy_unnormalized,
                       with->n_correct_unnormalized, with->n);
        }
    }
    elm_mcq_result_free(with);
    elm_mcq_result_free(base);
    elm_model_free(m);
    elm_config_free(cfg);
    return rc;
}

static void ppl_print(const elm_ppl_result *r, int json)
{
    if (json)
        printf("{\"perplexity\": %.6f, \"nll\": %.8f, \"n_tokens\": %lld, \"seconds\": %.3f}\n", r->perplexity, r->nll,
               (long long)r->n_tokens, r->seconds);
    else
        printf("perplexity %.4f (mean NLL %.6f over %lld tokens, %.1fs)\n", r->perplexity, r->nll,
               (long long)r->n_tokens, r->seconds);
}

static int run_ppl(int argc, char **argv, int reverse)
{
    const char *cmd = reverse ? "eval rppl" : "eval ppl";
    elm_config *cfg = NULL;
    elm_model *m = NULL, *scorer = NULL;
    elm_dataset *ds = NULL;
    eval_args a;
    elm_ppl_result r;
    ELM_STRUCT_INIT(&r);
    if (elm_config_new(&cfg) != ELM_OK)
        return elm_cli_fail(cmd, "out of memory");
    int rc = parse(cmd, argc, argv, cfg, &a);
    if (rc == 0 && reverse && !a.scorer)
        rc = elm_cli_usage(cmd, "needs --scorer MODEL");
    if (rc == 0 && elm_model_load(a.model, cfg, &m) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    if (rc == 0 && a.adapter && elm_model_load_adapter(m, a.adapter) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    if (rc == 0 && reverse && elm_model_load(a.scorer, cfg, &scorer) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    if (rc == 0 && elm_dataset_load(a.file, cfg, &ds) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    if (rc == 0) {
        elm_status st = reverse ? elm_eval_reverse_perplexity(m, scorer, ds, cfg, progress_fn, NULL, &r)
                                : elm_eval_perplexity(m, ds, cfg, progress_fn, NULL, &r);
        if (st != ELM_OK)
            rc = elm_cli_fail(cmd, "%s", elm_last_error());
        else
            ppl_print(&r, a.json);
    }
    elm_dataset_free(ds);
    elm_model_free(scorer);
    elm_model_free(m);
    elm_config_free(cfg);
    return rc;
}

int cmd_eval(int argc, char **argv);

int cmd_eval(int argc, char **argv)
{
    if (argc < 2)
        return elm_cli_usage("eval", "needs a subcommand: mcq, ppl or rppl");
    if (strcmp(argv[1], "mcq") == 0)
        return run_mcq(argc - 1, argv + 1);
    if (strcmp(argv[1], "ppl") == 0)
        return run_ppl(argc - 1, argv + 1, 0);
    if (strcmp(argv[1], "rppl") == 0)
        return run_ppl(argc - 1, argv + 1, 1);
    return elm_cli_usage("eval", "unknown subcommand '%s' (mcq, ppl, rppl)", argv[1]);
}
