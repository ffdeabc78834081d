/* Generic configuration flags for CLI commands: every schema key is a flag
 * --<section>-<key, '_' as '-'> (lora.rank → --lora-rank, erase.lambda_erase
 * → --erase-lambda-erase), plus per-command short aliases. Values follow the
 * flag (--lora-rank 4 or --lora-rank=4); bool keys take no value
 * (--gen-chat) unless given with '=' (--gen-chat=false). */
#ifndef ELM_CLI_FLAGS_H
#define ELM_CLI_FLAGS_H

#include <stddef.h>

#include "elm.h"

typedef struct elm_cli_alias {
    const char *flag; /* "--rank" */
    const char *key;  /* "lora.rank" */
} elm_cli_alias;

/* If argv[*i] is a config flag (an alias or a schema key), set it in cfg,
 * advance *i past its value and set *handled = 1. Returns 0, or the exit
 * status of a usage error (2) already reported on stderr as "elm <cmd>: ...". */
int elm_cli_config_flag(elm_config *cfg, const char *cmd, int argc, char **argv, int *i,
                        const elm_cli_alias *aliases, size_t n_aliases, int *handled);

/* The flag of a key ("--lora-rank") into buf. */
void elm_cli_flag_of_key(const char *key, char *buf, size_t cap);

#endif
