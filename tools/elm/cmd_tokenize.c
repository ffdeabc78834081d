/* elm tokenize: ids of a text under a model's tokenizer (a model directory,
 * a GGUF file or a bare tokenizer.json) — exactly what the erasure objective
 * and the evaluators feed the model. */
#include "elm.h"
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_tokenize(int argc, char **argv);

static void json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

int cmd_tokenize(int argc, char **argv)
{
    const char *cmd = "tokenize", *path = NULL, *text = NULL;
    int json = 0, pieces = 0;
    unsigned flags = ELM_TOKENIZE_ADD_SPECIAL | ELM_TOKENIZE_PARSE_SPECIAL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--pieces") == 0)
            pieces = 1;
        else if (strcmp(argv[i], "--no-special") == 0)
            flags &= ~(unsigned)ELM_TOKENIZE_ADD_SPECIAL;
        else if (strcmp(argv[i], "--no-parse-special") == 0)
            flags &= ~(unsigned)ELM_TOKENIZE_PARSE_SPECIAL;
        else if (strcmp(argv[i], "--") == 0 && i + 1 < argc && !text)
            text = argv[++i];
        else if (strncmp(argv[i], "--", 2) == 0)
            return elm_cli_usage(cmd, "unknown option %s", argv[i]);
        else if (!text)
            text = argv[i];
        else
            return elm_cli_usage(cmd, "one TEXT only (quote it)");
    }
    if (!path || !text)
        return elm_cli_usage(cmd, "needs --model PATH and a TEXT");

    elm_tokenizer *tok = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    if (elm_tokenizer_load(path, NULL, &tok) != ELM_OK)
        return elm_cli_fail(cmd, "%s", elm_last_error());
    if (elm_tokenizer_encode(tok, text, strlen(text), flags, &ids, &n) != ELM_OK) {
        elm_tokenizer_free(tok);
        return elm_cli_fail(cmd, "%s", elm_last_error());
    }
    if (json)
        printf("{\"ids\": [");
    for (size_t i = 0; i < n; i++) {
        const char *piece = NULL;
        if (json) {
            printf("%s%d", i ? ", " : "", ids[i]);
        } else if (pieces && elm_tokenizer_piece(tok, ids[i], &piece) == ELM_OK) {
            printf("%d\t%s\n", ids[i], piece);
        } else {
            printf("%s%d", i ? " " : "", ids[i]);
        }
    }
    if (json) {
        printf("]");
        if (pieces) {
            printf(", \"pieces\": [");
            for (size_t i = 0; i < n; i++) {
                const char *piece = "";
                elm_tokenizer_piece(tok, ids[i], &piece);
                if (i)
                    printf(", ");
                json_string(piece);
            }
            printf("]");
        }
        printf("}\n");
    } else if (!pieces) {
        putchar('\n');
    }
    elm_free(ids);
    elm_tokenizer_free(tok);
    return 0;
}
