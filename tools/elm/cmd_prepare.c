/* elm prepare-consistency: erase-guided consistency data (method §4). */
#include "elm.h"
#include "commands.h"
#include "flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const elm_cli_alias prep_flags[] = {
    {"--seed", "gen.seed"}, {"--device", "runtime.device"}, {"--dtype", "runtime.dtype"}, {"--threads", "runtime.threads"},
    {"--concept", "erase.concept"},          {"--group", "prepare.group"},
    {"--limit", "prepare.limit"},            {"--guidance", "prepare.guidance"},
    {"--temperature", "prepare.temperature"}, {"--top-k", "prepare.top_k"}, {"--top-p", "prepare.top_p"},
    {"--redirect-sentences", "prepare.redirect_sentences"}, {"--join", "prepare.join"},
    {"--min-new-tokens", "prepare.min_new_tokens"}, {"--max-new-tokens", "prepare.max_new_tokens"},
    {"--min-cut", "prepare.min_cut"},        {"--max-cut", "prepare.max_cut"},
    {"--expert-templates", "erase.expert_templates"}, {"--novice-templates", "erase.novice_templates"},
};

const char elm_prepare_help[] =
    "usage: elm prepare-consistency --model M --forget F --concept TEXT --out FILE [options]\n"
    "\n"
    "Per forget text: a cut of it, \". \" and a change-of-subject sentence, continued by the\n"
    "frozen model with erase guidance (docs/erase.md, \"Making consistency data\"). FILE is the\n"
    "reference JSON ({\"<group>\": [...]}) or, for .jsonl, one object per line; an interrupted\n"
    "run resumes where it stopped.\n"
    "\n"
    "  --group N --limit N            dataset group stored under; entries to make (0: all)\n"
    "  --guidance G                   erase guidance gamma (3)\n"
    "  --temperature T --top-k K --top-p P\n"
    "                                 warpers after the guidance, as transformers' generate\n"
    "                                 (-1: the model's generation_config.json, else 1 / 50 / 1;\n"
    "                                 defaults -1, 0 (off, as erase.py), -1)\n"
    "  --min-new-tokens N --max-new-tokens N   length of each continuation (100..300)\n"
    "  --min-cut N --max-cut N        code points of the forget text kept (50..300)\n"
    "  --redirect-sentences FILE      change-of-subject sentences, one per line (built-in 20)\n"
    "  --join space|reference         how the continuation is stored (reference: erase.py's\n"
    "                                 decode(prompt + generated).replace(cut, ''))\n"
    "  --expert-templates FILE --novice-templates FILE   guidance prefixes with {concept}\n"
    "  --seed N --device D --dtype T --threads N\n"
    "  --<section>-<key> V            any configuration key (elm help keys)\n";

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
        else if ((rc = elm_cli_config_flag(cfg, cmd, argc, argv, &i, prep_flags, sizeof prep_flags / sizeof prep_flags[0],
                                       &handled)) != 0 || handled)
            continue;
        else
            rc = elm_cli_usage(cmd, "unknown argument %s", argv[i]);
    }
    if (rc == 0 && (!model_path || !forget || !out))
        rc = elm_cli_usage(cmd, "needs --model, --forget, --concept and --out");
    if (rc == 0 && elm_model_load(model_path, cfg, &m) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    if (rc == 0 && elm_dataset_load(forget, cfg, &ds) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    if (rc == 0 && elm_prepare_consistency(m, ds, cfg, out, progress_fn, NULL) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    elm_dataset_free(ds);
    elm_model_free(m);
    elm_config_free(cfg);
    return rc;
}
