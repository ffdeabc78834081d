/* elm_tok_load: a model directory, a tokenizer.json or a GGUF file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/tk_internal.h"

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

elm_status elm_tok_load(const char *path, elm_tokenizer **out)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return elm_err(ELM_E_IO, "%s: no such file or directory", path);
    size_t n = strlen(path);
    char *a = malloc(n + 40), *b = malloc(n + 40);
    if (!a || !b) {
        free(a);
        free(b);
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    }
    elm_status rc;
    if (S_ISDIR(st.st_mode)) {
        snprintf(a, n + 40, "%s/tokenizer.json", path);
        snprintf(b, n + 40, "%s/tokenizer_config.json", path);
        if (!is_file(a))
            rc = elm_err(ELM_E_IO, "%s: no tokenizer.json in this directory", path);
        else
            rc = elm_tok_load_json(a, is_file(b) ? b : NULL, out);
    } else if (elm_gguf_file_has_magic(path)) {
        elm_gguf *g;
        rc = elm_gguf_open(path, &g);
        if (rc == ELM_OK) {
            rc = elm_tok_load_gguf(g, out);
            elm_gguf_close(g);
        }
    } else {
        /* tokenizer_config.json beside the file */
        const char *slash = strrchr(path, '/');
        size_t dl = slash ? (size_t)(slash - path) : 0;
        if (slash)
            snprintf(b, n + 40, "%.*s/tokenizer_config.json", (int)dl, path);
        else
            snprintf(b, n + 40, "tokenizer_config.json");
        rc = elm_tok_load_json(path, is_file(b) ? b : NULL, out);
    }
    free(a);
    free(b);
    return rc;
}
