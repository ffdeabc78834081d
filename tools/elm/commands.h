/* The CLI's subcommands. Each lives in its own cmd_<name>.c and is listed in
 * the table in main.c. Exit status: 0 ok, 1 runtime error, 2 usage error. */
#ifndef ELM_CLI_COMMANDS_H
#define ELM_CLI_COMMANDS_H

typedef struct elm_cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *synopsis;              /* "elm inspect PATH [--json]" */
    const char *summary;               /* one line */
    const char *help;                  /* the full --help text, or NULL: synopsis and summary */
} elm_cli_command;

/* `elm CMD --help`, `elm CMD -h` and `elm help CMD`: c's help on stdout. */
void elm_cli_print_help(const elm_cli_command *c);
/* The long help texts of the commands that have one (cmd_<name>.c). */
extern const char elm_erase_help[];
extern const char elm_prepare_help[];

/* Print "elm <cmd>: <message>" on stderr and return the exit status. */
int elm_cli_fail(const char *cmd, const char *fmt, ...);
int elm_cli_usage(const char *cmd, const char *fmt, ...);
/* runtime.log_level's value ("error|warn|info|debug"): the most detailed
 * level the CLI's stderr log shows from now on (default warn). */
void elm_cli_set_log_level(const char *name);

int cmd_help(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);

extern const elm_cli_command elm_cli_commands[];
extern const int elm_cli_n_commands;

#endif
