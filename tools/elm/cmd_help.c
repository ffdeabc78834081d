/* elm help: commands, configuration keys, and the man page — all generated
 * from the command table and the configuration schema so they cannot drift. */
#include "elm.h"
#include "commands.h"

#include <stdio.h>
#include <string.h>

static const char *type_name(elm_type t)
{
    switch (t) {
    case ELM_TYPE_INT: return "int";
    case ELM_TYPE_DOUBLE: return "double";
    case ELM_TYPE_BOOL: return "bool";
    case ELM_TYPE_CHOICE: return "choice";
    case ELM_TYPE_STRING: return "string";
    }
    return "?";
}

/* "lora.rank" → "--lora-rank" */
static void flag_of(const char *key, char *buf, size_t cap)
{
    size_t j = 0;
    buf[j++] = '-';
    buf[j++] = '-';
    for (const char *p = key; *p && j + 1 < cap; p++)
        buf[j++] = (*p == '.' || *p == '_') ? '-' : *p;
    buf[j] = '\0';
}

/* The i-th configuration key, and its --flag when flag is not NULL. */
static int key_at(size_t i, elm_key_info *info, char *flag, size_t cap)
{
    ELM_STRUCT_INIT(info);
    if (elm_config_key_info(i, info) != ELM_OK)
        return -1;
    if (flag)
        flag_of(info->key, flag, cap);
    return 0;
}

static int print_keys(void)
{
    size_t n = elm_config_key_count();
    printf("%-28s %-7s %-14s %s\n", "KEY", "TYPE", "DEFAULT", "DOC");
    for (size_t i = 0; i < n; i++) {
        elm_key_info info;
        if (key_at(i, &info, NULL, 0) != 0)
            return elm_cli_fail("help", "%s", elm_last_error());
        printf("%-28s %-7s %-14s %s", info.key, type_name(info.type),
               info.default_text[0] ? info.default_text : "\"\"", info.doc);
        if (info.type == ELM_TYPE_CHOICE)
            printf(" [%s]", info.choices);
        putchar('\n');
    }
    return 0;
}

/* roff-escape a doc line: backslashes and leading dots/quotes. */
static void roff(const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", stdout);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", stdout);
        else if (*s == '-')
            fputs("\\-", stdout);
        else if (*s == '\n')
            fputs("\\n", stdout);
        else
            putchar(*s);
    }
}

static int print_man(void)
{
    printf(".TH ELM 1 \"\" \"libelm %s\" \"User Commands\"\n", elm_version_string());
    printf(".SH NAME\nelm \\- erase concepts from causal language models (ELM)\n");
    printf(".SH SYNOPSIS\n.B elm\n[\\fB\\-\\-version\\fR] [\\fB\\-\\-help\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n");
    printf(".SH DESCRIPTION\n"
           "\\fBelm\\fR trains a LoRA adapter that erases a concept from a Hugging Face or GGUF\n"
           "causal language model with the ELM objective, and generates and evaluates with it.\n"
           "It is the command-line front end of libelm.\n");
    printf(".SH COMMANDS\n");
    for (int i = 0; i < elm_cli_n_commands; i++) {
        printf(".TP\n.B ");
        roff(elm_cli_commands[i].synopsis);
        printf("\n");
        roff(elm_cli_commands[i].summary);
        printf("\n");
    }
    printf(".SH CONFIGURATION KEYS\n"
           "Every key is also a flag of the commands that use it: \\fBlora.rank\\fR is\n"
           "\\fB\\-\\-lora\\-rank\\fR.\n");
    size_t n = elm_config_key_count();
    for (size_t i = 0; i < n; i++) {
        elm_key_info info;
        char flag[96];
        if (key_at(i, &info, flag, sizeof flag) != 0)
            return 1;
        printf(".TP\n.BR ");
        roff(flag);
        printf(" \" \\fI%s\\fR\"\n", type_name(info.type));
        roff(info.doc);
        printf(" (key \\fB");
        roff(info.key);
        printf("\\fR, default \\fB");
        roff(info.default_text[0] ? info.default_text : "\"\"");
        printf("\\fR");
        if (info.type == ELM_TYPE_CHOICE) {
            printf("; one of ");
            roff(info.choices);
        }
        printf(")\n");
    }
    printf(".SH EXIT STATUS\n0 on success, 1 on a runtime error (the message names the file, field,\n"
           "line or offset at fault), 2 on a usage error.\n");
    printf(".SH SEE ALSO\nThe libelm C API: \\fIelm.h\\fR.\n");
    return 0;
}

/* The --flags a command's help text or synopsis names, space separated. */
static void print_own_flags(const elm_cli_command *c)
{
    const char *t = c->help ? c->help : c->synopsis;
    char seen[8192] = " ";
    for (const char *p = t; (p = strstr(p, "--")) != NULL;) {
        const char *q = p + 2;
        while ((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '-')
            q++;
        size_t n = (size_t)(q - p);
        char flag[96];
        if (n > 2 && n < sizeof flag && p[2] != '-' && q[-1] != '-' && (p == t || p[-1] != '-')) {
            memcpy(flag, p, n);
            flag[n] = 0;
            char probe[100];
            snprintf(probe, sizeof probe, " %s ", flag);
            if (!strstr(seen, probe) && strlen(seen) + n + 2 < sizeof seen) {
                strcat(seen, flag);
                strcat(seen, " ");
                printf(" %s", flag);
            }
        }
        p = q;
    }
}

/* A bash completion function, made from the command table and the schema
 * (zsh: the same through bashcompinit): commands, eval's subcommands, each
 * command's own flags, every configuration key as a flag, a choice key's
 * values, file names otherwise. */
static int print_completion(const char *shell)
{
    int zsh = strcmp(shell, "zsh") == 0;
    if (!zsh && strcmp(shell, "bash") != 0)
        return elm_cli_usage("help", "completion: unknown shell '%s' (bash, zsh)", shell);
    if (zsh)
        printf("#compdef elm\n# zsh completion for elm (libelm %s), generated by `elm help completion zsh`\n"
               "autoload -U +X bashcompinit && bashcompinit\n",
               elm_version_string());
    else
        printf("# bash completion for elm (libelm %s), generated by `elm help completion bash`\n",
               elm_version_string());
    printf("_elm_keys='");
    size_t n = elm_config_key_count();
    for (size_t i = 0; i < n; i++) {
        elm_key_info info;
        char flag[96];
        if (key_at(i, &info, flag, sizeof flag) != 0)
            return elm_cli_fail("help", "%s", elm_last_error());
        printf("%s%s", i ? " " : "", flag);
    }
    printf("'\n_elm() {\n"
           "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd=${COMP_WORDS[1]}\n"
           "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
           "    COMPREPLY=($(compgen -W '--help --version");
    for (int i = 0; i < elm_cli_n_commands; i++)
        printf(" %s", elm_cli_commands[i].name);
    printf("' -- \"$cur\")); return\n  fi\n"
           "  case $cmd in\n"
           "    help) if [ \"$COMP_CWORD\" -eq 2 ]; then COMPREPLY=($(compgen -W 'keys man completion");
    for (int i = 0; i < elm_cli_n_commands; i++)
        printf(" %s", elm_cli_commands[i].name);
    printf("' -- \"$cur\")); fi; return;;\n"
           "    eval) if [ \"$COMP_CWORD\" -eq 2 ]; then COMPREPLY=($(compgen -W 'mcq ppl rppl' -- \"$cur\")); "
           "return; fi;;\n"
           "  esac\n"
           "  case $prev in\n");
    for (size_t i = 0; i < n; i++) {
        elm_key_info info;
        char flag[96];
        if (key_at(i, &info, flag, sizeof flag) != 0)
            return elm_cli_fail("help", "%s", elm_last_error());
        if (info.type != ELM_TYPE_CHOICE && info.type != ELM_TYPE_BOOL)
            continue;
        printf("    %s) COMPREPLY=($(compgen -W '", flag);
        if (info.type == ELM_TYPE_BOOL) {
            printf("true false");
        } else {
            for (const char *c = info.choices; *c; c++)
                putchar(*c == '|' ? ' ' : *c);
        }
        printf("' -- \"$cur\")); return;;\n");
    }
    printf("  esac\n"
           "  if [[ $cur == -* ]]; then\n"
           "    local own=''\n"
           "    case $cmd in\n");
    for (int i = 0; i < elm_cli_n_commands; i++) {
        printf("      %s) own='--help", elm_cli_commands[i].name);
        print_own_flags(&elm_cli_commands[i]);
        printf("';;\n");
    }
    printf("    esac\n"
           "    COMPREPLY=($(compgen -W \"$own $_elm_keys\" -- \"$cur\")); return\n"
           "  fi\n"
           "  COMPREPLY=($(compgen -f -- \"$cur\"))\n"
           "}\n"
           "complete -o filenames -F _elm elm\n");
    return 0;
}

/* roff for a block of help text kept as it is laid out (.nf). */
static void roff_block(const char *t)
{
    printf(".nf\n");
    for (const char *p = t; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char line[1024];
        if (n >= sizeof line)
            n = sizeof line - 1;
        memcpy(line, p, n);
        line[n] = 0;
        roff(line);
        putchar('\n');
        p = e ? e + 1 : p + n;
    }
    printf(".fi\n");
}

/* elm-COMMAND(1): the command's synopsis, summary and whole help text. */
static int print_command_man(const elm_cli_command *c)
{
    printf(".TH ELM-%s 1 \"\" \"libelm %s\" \"User Commands\"\n", c->name, elm_version_string());
    printf(".SH NAME\nelm\\-%s \\- ", c->name);
    roff(c->summary);
    printf("\n.SH SYNOPSIS\n");
    roff_block(c->synopsis);
    printf(".SH DESCRIPTION\n");
    if (c->help) {
        roff_block(c->help);
    } else {
        roff(c->summary);
        printf(".\n.PP\nConfiguration keys are also flags (\\fB\\-\\-<section>\\-<key>\\fR \\fIV\\fR) of "
               "the commands that use them: see \\fBelm help keys\\fR and \\fBelm\\fR(1).\n");
    }
    printf(".SH EXIT STATUS\n0 on success, 1 on a runtime error (the message names the file, field,\n"
           "line or offset at fault), 2 on a usage error.\n");
    printf(".SH SEE ALSO\n\\fBelm\\fR(1)\n");
    return 0;
}

int cmd_help(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "man") == 0) {
        for (int i = 0; i < elm_cli_n_commands; i++)
            if (strcmp(elm_cli_commands[i].name, argv[2]) == 0)
                return print_command_man(&elm_cli_commands[i]);
        return elm_cli_usage("help", "man: unknown command '%s'", argv[2]);
    }
    if (argc >= 2 && strcmp(argv[1], "completion") == 0)
        return print_completion(argc >= 3 ? argv[2] : "bash");
    if (argc >= 2 && strcmp(argv[1], "keys") == 0)
        return print_keys();
    if (argc >= 2 && strcmp(argv[1], "man") == 0)
        return print_man();
    if (argc >= 2) {
        for (int i = 0; i < elm_cli_n_commands; i++)
            if (strcmp(elm_cli_commands[i].name, argv[1]) == 0) {
                elm_cli_print_help(&elm_cli_commands[i]);
                return 0;
            }
        return elm_cli_usage("help", "unknown command '%s'", argv[1]);
    }
    printf("usage: elm [--version] [--help] <command> [args]\n\ncommands:\n");
    for (int i = 0; i < elm_cli_n_commands; i++)
        printf("  %-22s %s\n", elm_cli_commands[i].name, elm_cli_commands[i].summary);
    return 0;
}
