/* elm generate: continue prompts with a model (streams a single prompt). */
#include "elm.h"
#include "commands.h"
#include "flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --<section>-<key> for every schema key (flags.c), plus these short forms. */
static const elm_cli_alias gen_aliases[] = {
    {"--max-new-tokens", "gen.max_new_tokens"}, {"--temperature", "gen.temperature"}, {"--top-k", "gen.top_k"},
    {"--top-p", "gen.top_p"}, {"--seed", "gen.seed"}, {"--stop", "gen.stop"}, {"--chat", "gen.chat"},
    {"--device", "runtime.device"}, {"--dtype", "runtime.dtype"}, {"--threads", "runtime.threads"},
};

static int on_token(size_t index, int32_t id, const char *text, void *user)
{
    (void)index;
    (void)id;
    (void)user;
    fputs(text, stdout);
    fflush(stdout);
    return 0;
}

int cmd_generate(int argc, char **argv);

int cmd_generate(int argc, char **argv)
{
    const char *cmd = "generate", *model_path = NULL, *adapter = NULL;
    const char **prompts = calloc((size_t)argc, sizeof *prompts);
    size_t n = 0;
    int rc = 0;
    elm_config *cfg = NULL;
    elm_model *m = NULL;
    char **outs = NULL;
    if (!prompts || elm_config_new(&cfg) != ELM_OK) {
        free(prompts);
        return elm_cli_fail(cmd, "out of memory");
    }
    for (int i = 1; i < argc && rc == 0; i++) {
        int handled = 0;
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            model_path = argv[++i];
        } else if (strcmp(argv[i], "--adapter") == 0 && i + 1 < argc) {
            adapter = argv[++i];
        } else if (strcmp(argv[i], "--") == 0) {
            while (++i < argc)
                prompts[n++] = argv[i];
        } else if ((rc = elm_cli_config_flag(cfg, cmd, argc, argv, &i, gen_aliases, sizeof gen_aliases / sizeof gen_aliases[0], &handled)) != 0 || handled) {
            continue;
        } else if (strncmp(argv[i], "--", 2) == 0) {
            rc = elm_cli_usage(cmd, "unknown option %s", argv[i]);
        } else {
            prompts[n++] = argv[i];
        }
    }
    if (rc == 0 && (!model_path || n == 0))
        rc = elm_cli_usage(cmd, "needs --model and at least one PROMPT");
    if (rc == 0 && elm_model_load(model_path, cfg, &m) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    if (rc == 0 && adapter && elm_model_load_adapter(m, adapter) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    if (rc == 0) {
        outs = calloc(n, sizeof *outs);
        /* one prompt streams; several are batched and printed at the end */
        if (!outs || elm_generate(m, prompts, n, cfg, n == 1 ? on_token : NULL, NULL, outs) != ELM_OK)
            rc = elm_cli_fail(cmd, "%s", outs ? elm_last_error() : "out of memory");
        else if (n == 1)
            fputc('\n', stdout);
        else
            for (size_t i = 0; i < n; i++)
                printf("=== %zu: %s\n%s\n", i, prompts[i], outs[i]);
    }
    for (size_t i = 0; outs && i < n; i++)
        elm_free(outs[i]);
    free(outs);
    free(prompts);
    elm_model_free(m);
    elm_config_free(cfg);
    return rc;
}
