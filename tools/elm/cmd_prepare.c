/* elm prepare-consistency: erase-guided consistency data (method §4). */
#include "elm.h"
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Same layout as in cmd_generate.c, which defines elm_cli_gen_set. */
typedef struct gen_flag {
    const char *flag, *key;
    int is_bool;
} gen_flag;
int elm_cli_gen_set(elm_config *cfg, const char *cmd, int argc, char **argv, int *i, const gen_flag *extra,
                    size_t n_extra, int *handled);

static const gen_flag prep_flags[] = {
    {"--concept", "erase.concept", 0},          {"--group", "prepare.group", 0},
    {"--limit", "prepare.limit", 0},            {"--guidance", "prepare.guidance", 0},
    {"--min-new-tokens", "prepare.min_new_tokens", 0}, {"--max-new-tokens", "prepare.max_new_tokens", 0},
    {"--min-cut", "prepare.min_cut", 0},        {"--max-cut", "prepare.max_cut", 0},
    {"--expert-templates", "erase.expert_templates", 0}, {"--novice-templates", "erase.novice_templates", 0},
};

static int progress_fn(const elm_progress *p, void *user)
{
    (void)user;
    fprintf(stderr, "\rprepare %llu/%llu %.0fs", (unsigned long long)p->done, (unsigned long long)p->total,
            p->seconds);
    if (p->total && p->done >= p->total)
        fputc('\n', stderr);
    return 0;
}

int cmd_prepare(int argc, char **argv);

int cmd_prepare(int argc, char **argv)
{
    const char *cmd = "prepare-consistency", *model_path = NULL, *forget = NULL, *out = NULL;
    elm_config *cfg = NULL;
    elm_model *m = NULL;
    elm_dataset *ds = NULL;
    int rc = 0;
    if (elm_config_new(&cfg) != ELM_OK)
        return elm_cli_fail(cmd, "out of memory");
    for (int i = 1; i < argc && rc == 0; i++) {
        int handled = 0;
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc)
            model_path = argv[++i];
        else if (strcmp(argv[i], "--forget") == 0 && i + 1 < argc)
            forget = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if ((rc = elm_cli_gen_set(cfg, cmd, argc, argv, &i, prep_flags, sizeof prep_flags / sizeof prep_flags[0],
                                       &handled)) != 0 || handled)
            continue;
        else
            rc = elm_cli_usage(cmd, "unknown argument %s", argv[i]);
    }
    if (rc == 0 && (!model_path || !forget || !out))
        rc = elm_cli_usage(cmd, "needs --model, --forget, --concept and --out");
    if (rc == 0 && elm_model_load(model_path, cfg, &m) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    if (rc == 0 && elm_dataset_open(forget, cfg, &ds) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    if (rc == 0 && elm_prepare_consistency(m, ds, cfg, out, progress_fn, NULL) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    elm_dataset_free(ds);
    elm_model_free(m);
    elm_config_free(cfg);
    return rc;
}
