/* elm — the command-line front end. Uses only elm.h. */
#include "elm.h"
#include "commands.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cmd_eval(int argc, char **argv);     /* cmd_eval.c */
int cmd_generate(int argc, char **argv); /* cmd_generate.c */
int cmd_prepare(int argc, char **argv);  /* cmd_prepare.c */
int cmd_inspect(int argc, char **argv);  /* cmd_inspect.c */
int cmd_erase(int argc, char **argv);    /* cmd_erase.c */

/* One line per command; keep alphabetical after help. */
const elm_cli_command elm_cli_commands[] = {
    {"help", cmd_help, "elm help [keys|man [COMMAND]|completion bash|zsh|COMMAND]", "list commands, configuration keys, print the man page or a shell completion script", NULL},
    {"erase", cmd_erase, "elm erase --model M --forget F [--retain R] [--consistency C] (--concept TEXT | --keywords FILE[:KEY]) --steps N --out DIR [--save-every K] [--resume DIR] [--merged DIR] [--metrics FILE.jsonl] [--train F] [--<section>-<key> V ...]", "train an ELM erasure (or fine-tuning) LoRA adapter, saved as a PEFT directory; --forget/--retain/--consistency/--concept/--keywords repeat per dataset group (see elm erase --help)", elm_erase_help},
    {"eval", cmd_eval, "elm eval mcq|ppl|rppl --model M [--adapter DIR] [--scorer M2] FILE [--json] [--limit N] [--subject S] [--compare-base]", "multiple-choice accuracy, perplexity, reverse perplexity", NULL},
    {"generate", cmd_generate, "elm generate --model M [--adapter DIR] [--max-new-tokens N] [--temperature T] [--seed S] [--chat] PROMPT...", "continue prompts (streams one prompt's tokens)", NULL},
    {"inspect", cmd_inspect, "elm inspect PATH [--json] [--data-<key> V ...]", "describe any input (model dir/GGUF, tokenizer.json, dataset, MCQ, consistency, PEFT adapter) without loading weights", NULL},
    {"tokenize", cmd_tokenize, "elm tokenize --model PATH [--json] [--pieces] [--no-special] [--no-parse-special] TEXT", "token ids of TEXT under a model dir's, GGUF's or tokenizer.json's tokenizer", NULL},
    {"prepare-consistency", cmd_prepare, "elm prepare-consistency --model M --forget F --concept TEXT --out FILE [--group N] [--limit N]", "erase-guided consistency data (reference JSON or JSONL)", elm_prepare_help},
};
const int elm_cli_n_commands = (int)(sizeof elm_cli_commands / sizeof elm_cli_commands[0]);

int elm_cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "elm %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int elm_cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "elm %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    for (int i = 0; i < elm_cli_n_commands; i++)
        if (strcmp(elm_cli_commands[i].name, cmd) == 0)
            fprintf(stderr, "usage: %s\n", elm_cli_commands[i].synopsis);
    return 2;
}

static void log_to_stderr(elm_log_level level, const char *msg, void *user)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    (void)user;
    fprintf(stderr, "elm: %s: %s\n", names[level <= ELM_LOG_DEBUG ? level : ELM_LOG_DEBUG], msg);
}

void elm_cli_set_log_level(const char *name)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int l = ELM_LOG_ERROR; l <= ELM_LOG_DEBUG; l++)
        if (strcmp(name, names[l]) == 0)
            elm_set_log_callback(log_to_stderr, NULL, (elm_log_level)l);
}

void elm_cli_print_help(const elm_cli_command *c)
{
    if (c->help) {
        fputs(c->help, stdout);
        return;
    }
    printf("usage: %s\n\n%s.\n\nConfiguration keys are also flags (--<section>-<key> V) of the commands that use\nthem: see `elm help keys`.\n"
           "Exit status: 0 success, 1 runtime error (the message names the file, field, line or offset),\n"
           "2 usage error.\n",
           c->synopsis, c->summary);
}

/* --help or -h among a command's arguments (before a "--" that ends the
 * options): the one place every command gets its help from. */
static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: elm [--version] [--help] <command> [args]\n\ncommands:\n");
    for (int i = 0; i < elm_cli_n_commands; i++)
        fprintf(f, "  %-22s %s\n", elm_cli_commands[i].name, elm_cli_commands[i].summary);
    fprintf(f, "\nRun `elm help COMMAND` for a command's synopsis, `elm help keys` for the\n"
               "configuration keys (each is also a --flag of the commands that use it).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("elm %s (libtorch %s)\n", elm_version_string(), elm_backend_version());
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    elm_set_log_callback(log_to_stderr, NULL, ELM_LOG_WARN);
    for (int i = 0; i < elm_cli_n_commands; i++)
        if (strcmp(argv[1], elm_cli_commands[i].name) == 0) {
            if (wants_help(argc - 1, argv + 1)) {
                elm_cli_print_help(&elm_cli_commands[i]);
                return 0;
            }
            return elm_cli_commands[i].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "elm: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
