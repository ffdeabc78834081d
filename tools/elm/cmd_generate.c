/* elm generate: continue prompts with a model (streams a single prompt). */
#include "elm.h"
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Flags shared by generate / eval / prepare-consistency: a few named ones
 * plus any schema key as --section.key VALUE (or --section.key=VALUE). */
typedef struct gen_flag {
    const char *flag, *key;
    int is_bool;
} gen_flag;

static const gen_flag gen_flags[] = {
    {"--max-new-tokens", "gen.max_new_tokens", 0}, {"--temperature", "gen.temperature", 0},
    {"--top-k", "gen.top_k", 0},                   {"--top-p", "gen.top_p", 0},
    {"--seed", "gen.seed", 0},                     {"--stop", "gen.stop", 0},
    {"--chat", "gen.chat", 1},                     {"--device", "runtime.device", 0},
    {"--dtype", "runtime.dtype", 0},               {"--threads", "runtime.threads", 0},
};

int elm_cli_gen_set(elm_config *cfg, const char *cmd, int argc, char **argv, int *i, const gen_flag *extra,
                    size_t n_extra, int *handled);

/* Try argv[*i] as a config flag; *handled = 1 if it was one (then *i points
 * at its last word). Returns 0, or an exit status on a bad value. */
int elm_cli_gen_set(elm_config *cfg, const char *cmd, int argc, char **argv, int *i, const gen_flag *extra,
                    size_t n_extra, int *handled)
{
    const char *a = argv[*i];
    *handled = 0;
    const gen_flag *tables[2] = {gen_flags, extra};
    size_t counts[2] = {sizeof gen_flags / sizeof gen_flags[0], n_extra};
    for (int t = 0; t < 2; t++)
        for (size_t k = 0; k < counts[t]; k++) {
            const gen_flag *f = &tables[t][k];
            size_t fl = strlen(f->flag);
            if (strncmp(a, f->flag, fl) != 0 || (a[fl] != 0 && a[fl] != '='))
                continue;
            const char *v = a[fl] == '=' ? a + fl + 1 : NULL;
            if (!v && f->is_bool)
                v = "true";
            if (!v) {
                if (*i + 1 >= argc)
                    return elm_cli_usage(cmd, "%s needs a value", f->flag);
                v = argv[++*i];
            }
            *handled = 1;
            if (elm_config_set(cfg, f->key, v) != ELM_OK)
                return elm_cli_usage(cmd, "%s: %s", f->flag, elm_last_error());
            return 0;
        }
    if (strncmp(a, "--", 2) == 0 && strchr(a + 2, '.')) {
        char key[128];
        const char *eq = strchr(a, '=');
        size_t kl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (kl >= sizeof key)
            return elm_cli_usage(cmd, "unknown option %s", a);
        memcpy(key, a + 2, kl);
        key[kl] = 0;
        elm_key_info info;
        ELM_STRUCT_INIT(&info);
        if (elm_config_find_key(key, &info) != ELM_OK)
            return elm_cli_usage(cmd, "%s", elm_last_error());
        const char *v = eq ? eq + 1 : NULL;
        if (!v && info.type == ELM_TYPE_BOOL)
            v = "true";
        if (!v) {
            if (*i + 1 >= argc)
                return elm_cli_usage(cmd, "--%s needs a value", key);
            v = argv[++*i];
        }
        *handled = 1;
        if (elm_config_set(cfg, key, v) != ELM_OK)
            return elm_cli_usage(cmd, "--%s: %s", key, elm_last_error());
    }
    return 0;
}

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
        } else if ((rc = elm_cli_gen_set(cfg, cmd, argc, argv, &i, NULL, 0, &handled)) != 0 || handled) {
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
