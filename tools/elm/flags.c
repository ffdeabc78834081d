#include "flags.h"

#include "commands.h"

#include <stdio.h>
#include <string.h>

void elm_cli_flag_of_key(const char *key, char *buf, size_t cap)
{
    size_t n = 0;
    if (cap < 3)
        return;
    buf[n++] = '-';
    buf[n++] = '-';
    for (const char *c = key; *c && n + 1 < cap; c++)
        buf[n++] = (*c == '.' || *c == '_') ? '-' : *c;
    buf[n] = 0;
}

/* "--lora-rank" → "lora.rank": the first '-' after the dashes separates
 * the section (sections have no '-'), the other '-' are '_'. */
static int key_of_flag(const char *flag, char *buf, size_t cap)
{
    if (strncmp(flag, "--", 2) != 0)
        return 0;
    const char *f = flag + 2;
    size_t n = 0;
    int dot = 0;
    for (; *f && *f != '=' && n + 1 < cap; f++) {
        char c = *f;
        if (c == '-')
            c = dot ? '_' : '.', dot = 1;
        buf[n++] = c;
    }
    buf[n] = 0;
    return dot;
}

int elm_cli_config_flag(elm_config *cfg, const char *cmd, int argc, char **argv, int *i,
                        const elm_cli_alias *aliases, size_t n_aliases, int *handled)
{
    *handled = 0;
    const char *arg = argv[*i];
    if (strncmp(arg, "--", 2) != 0)
        return 0;
    const char *eq = strchr(arg, '=');
    size_t flen = eq ? (size_t)(eq - arg) : strlen(arg);
    char key[128];
    const char *k = NULL;
    for (size_t a = 0; a < n_aliases; a++)
        if (strlen(aliases[a].flag) == flen && strncmp(aliases[a].flag, arg, flen) == 0)
            k = aliases[a].key;
    elm_key_info info;
    ELM_STRUCT_INIT(&info);
    if (!k) {
        if (!key_of_flag(arg, key, sizeof key))
            return 0;
        if (elm_config_find_key(key, &info) != ELM_OK)
            return 0;
        k = key;
    } else if (elm_config_find_key(k, &info) != ELM_OK) {
        return elm_cli_usage(cmd, "%s", elm_last_error());
    }
    const char *val;
    if (eq)
        val = eq + 1;
    else if (info.type == ELM_TYPE_BOOL)
        val = "true";
    else if (*i + 1 < argc)
        val = argv[++*i];
    else
        return elm_cli_usage(cmd, "%.*s needs a value (%s)", (int)flen, arg, info.doc);
    if (elm_config_set(cfg, k, val) != ELM_OK)
        return elm_cli_usage(cmd, "%.*s: %s", (int)flen, arg, elm_last_error());
    if (strcmp(k, "runtime.log_level") == 0) /* the library reads no log level from a config */
        elm_cli_set_log_level(val);
    *handled = 1;
    return 0;
}
