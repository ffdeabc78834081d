/* elm inspect PATH [--json]: describe any input libelm reads — model
 * directory or file, tokenizer.json, dataset, multiple-choice file,
 * consistency file, PEFT adapter directory. Data files are read as the
 * data.* keys say (--data-format consistency, --data-min-chars 0, ...).
 *
 * All the recognising and checking is elm_inspect's (metadata and headers
 * only: no weight is loaded). With --json its object is printed as is;
 * otherwise the object's fields are listed one per line. A malformed input
 * exits 1 with a single line on stderr that names the file. */
#include "elm.h"
#include "commands.h"
#include "flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a reader for the flat object elm_inspect returns ----
 * {"key": scalar or [scalars], ...}; strings are JSON-escaped. */

typedef struct cur {
    const char *p;
} cur;

static void skip_ws(cur *c)
{
    while (*c->p == ' ' || *c->p == '\n' || *c->p == '\t' || *c->p == '\r')
        c->p++;
}

/* Copy a JSON string (c->p at the opening quote) into out, unescaped
 * (\uXXXX below 0x80 kept, others shown as '?': display only). */
static int read_string(cur *c, char *out, size_t cap)
{
    size_t k = 0;
    if (*c->p != '"')
        return 0;
    c->p++;
    while (*c->p && *c->p != '"') {
        char ch = *c->p++;
        if (ch == '\\') {
            char e = *c->p ? *c->p++ : 0;
            switch (e) {
            case 'n': ch = '\n'; break;
            case 't': ch = '\t'; break;
            case 'r': ch = '\r'; break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case 'u': {
                unsigned v = 0;
                for (int i = 0; i < 4 && *c->p; i++, c->p++) {
                    char h = *c->p;
                    v = v * 16 + (unsigned)(h >= 'a' ? h - 'a' + 10 : h >= 'A' ? h - 'A' + 10 : h - '0');
                }
                ch = v < 0x80 ? (char)v : '?';
                break;
            }
            default: ch = e;
            }
        }
        if (k + 1 < cap)
            out[k++] = ch;
    }
    if (*c->p != '"')
        return 0;
    c->p++;
    out[k] = 0;
    return 1;
}

/* A scalar as display text. */
static int read_scalar(cur *c, char *out, size_t cap)
{
    skip_ws(c);
    if (*c->p == '"') {
        char tmp[1024];
        if (!read_string(c, tmp, sizeof tmp))
            return 0;
        /* control characters would break the one-field-per-line layout */
        for (char *q = tmp; *q; q++)
            if ((unsigned char)*q < 0x20)
                *q = ' ';
        snprintf(out, cap, "%s", tmp);
        return 1;
    }
    size_t k = 0;
    while (*c->p && *c->p != ',' && *c->p != '}' && *c->p != ']' && *c->p != ' ') {
        if (k + 1 < cap)
            out[k++] = *c->p;
        c->p++;
    }
    out[k] = 0;
    return k > 0;
}

static int read_value(cur *c, char *out, size_t cap)
{
    skip_ws(c);
    if (*c->p != '[')
        return read_scalar(c, out, cap);
    c->p++;
    size_t k = 0;
    out[0] = 0;
    skip_ws(c);
    while (*c->p && *c->p != ']') {
        char item[512];
        if (!read_scalar(c, item, sizeof item))
            return 0;
        k += (size_t)snprintf(out + k, k < cap ? cap - k : 0, "%s%s", k ? ", " : "", item);
        if (k >= cap)
            k = cap - 1;
        skip_ws(c);
        if (*c->p == ',')
            c->p++;
        skip_ws(c);
    }
    if (*c->p != ']')
        return 0;
    c->p++;
    return 1;
}

static int print_human(const char *path, const char *json)
{
    cur c = {json};
    skip_ws(&c);
    if (*c.p != '{')
        return 0;
    c.p++;
    char key[128], val[2048], kind[64] = "?";
    /* first pass: the kind, for the heading */
    const char *k = strstr(json, "\"kind\":");
    if (k) {
        cur kc = {k + 7};
        skip_ws(&kc);
        read_string(&kc, kind, sizeof kind);
    }
    printf("%s: %s\n", path, kind);
    for (;;) {
        skip_ws(&c);
        if (*c.p == '}')
            return 1;
        if (!read_string(&c, key, sizeof key))
            return 0;
        skip_ws(&c);
        if (*c.p != ':')
            return 0;
        c.p++;
        if (!read_value(&c, val, sizeof val))
            return 0;
        if (strcmp(key, "kind") != 0 && strcmp(key, "path") != 0)
            printf("  %-18s %s\n", key, val);
        skip_ws(&c);
        if (*c.p == ',')
            c.p++;
    }
}

/* One line that names the file: the library's message with line breaks
 * folded, prefixed with the path when the message does not mention it. */
static int fail_one_line(const char *path)
{
    const char *msg = elm_last_error();
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", msg && *msg ? msg : "unknown error");
    for (char *q = buf; *q; q++)
        if (*q == '\n' || *q == '\r' || *q == '\t')
            *q = ' ';
    const char *base = strrchr(path, '/');
    base = base && base[1] ? base + 1 : path;
    if (strstr(buf, path) || strstr(buf, base))
        return elm_cli_fail("inspect", "%s", buf);
    return elm_cli_fail("inspect", "%s: %s", path, buf);
}

static const elm_cli_alias inspect_aliases[] = {
    {"--format", "data.format"},
    {"--text-field", "data.text_field"},
};

int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0, rc = 0;
    elm_config *cfg = NULL;
    if (elm_config_new(&cfg) != ELM_OK)
        return elm_cli_fail("inspect", "%s", elm_last_error());
    for (int i = 1; i < argc && rc == 0; i++) {
        int handled = 0;
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            rc = elm_cli_config_flag(cfg, "inspect", argc, argv, &i, inspect_aliases,
                                     sizeof inspect_aliases / sizeof inspect_aliases[0], &handled);
            if (rc == 0 && !handled)
                rc = elm_cli_usage("inspect", "unknown option '%s'", argv[i]);
        } else if (!path) {
            path = argv[i];
        } else {
            rc = elm_cli_usage("inspect", "one PATH only");
        }
    }
    if (rc == 0 && !path)
        rc = elm_cli_usage("inspect", "PATH is missing");
    if (rc != 0) {
        elm_config_free(cfg);
        return rc;
    }
    char *out = NULL;
    if (elm_inspect(path, cfg, &out) != ELM_OK) {
        elm_config_free(cfg);
        return fail_one_line(path);
    }
    elm_config_free(cfg);
    if (json) {
        printf("%s\n", out);
    } else if (!print_human(path, out)) {
        rc = elm_cli_fail("inspect", "%s: could not read the summary (a bug; --json shows it)", path);
    }
    elm_free(out);
    return rc;
}
