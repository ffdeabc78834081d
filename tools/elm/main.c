/* elm — the command-line front end. Uses only elm.h. */
#include "elm.h"

#include <stdio.h>
#include <string.h>

static int cmd_help(int argc, char **argv);

static void usage(FILE *f)
{
    fprintf(f, "usage: elm [--version] [--help] <command> [args]\n\n"
               "commands:\n"
               "  help keys        list every configuration key with its default and doc\n");
}

static int print_keys(void)
{
    size_t n = elm_config_key_count();
    for (size_t i = 0; i < n; i++) {
        elm_key_info info;
        ELM_STRUCT_INIT(&info);
        if (elm_config_key_info(i, &info) != ELM_OK)
            return 1;
        printf("%-28s %-7s default %-12s %s\n", info.key,
               info.type == ELM_TYPE_INT ? "int" : info.type == ELM_TYPE_DOUBLE ? "double"
               : info.type == ELM_TYPE_BOOL ? "bool" : info.type == ELM_TYPE_CHOICE ? "choice" : "string",
               info.default_text[0] ? info.default_text : "\"\"", info.doc);
    }
    return 0;
}

static int cmd_help(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "keys") == 0)
        return print_keys();
    usage(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("elm %s (libtorch %s)\n", elm_version_string(), elm_backend_version());
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0)
        return cmd_help(argc - 1, argv + 1);
    fprintf(stderr, "elm: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
