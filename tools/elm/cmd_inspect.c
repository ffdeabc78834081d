/* elm inspect PATH [--json]: describe a file libelm can read. Kinds are
 * tried in table order; each has a `detect` (cheap look at the path) and a
 * `show`. To add a kind (tokenizer.json, datasets, adapters), write the two
 * functions and add a row to `kinds`. */
#include "elm.h"
#include "commands.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* In libelm but not yet in elm.h (proposed for elm_model_info). */


typedef struct inspect_kind {
    const char *name;
    int (*detect)(const char *path);
    int (*show)(const char *path, int json); /* exit status */
} inspect_kind;

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* ---- models ---- */

static int model_detect(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return 0;
    if (S_ISDIR(sb.st_mode)) {
        char p[4200];
        snprintf(p, sizeof p, "%s/config.json", path);
        return access(p, F_OK) == 0;
    }
    if (ends_with(path, ".gguf"))
        return 1;
    FILE *f = fopen(path, "rb");
    char magic[4] = {0};
    int gguf = f && fread(magic, 1, 4, f) == 4 && memcmp(magic, "GGUF", 4) == 0;
    if (f)
        fclose(f);
    return gguf;
}

static int model_show(const char *path, int json)
{
    elm_model *m = NULL;
    if (elm_model_load(path, NULL, &m) != ELM_OK)
        return elm_cli_fail("inspect", "%s", elm_last_error());
    elm_model_info in;
    ELM_STRUCT_INIT(&in);
    if (elm_model_get_info(m, &in) != ELM_OK) {
        elm_model_free(m);
        return elm_cli_fail("inspect", "%s", elm_last_error());
    }
    const char *src = in.source_dtype;
    if (json) {
        printf("{\"kind\": \"model\", \"path\": ");
        json_str(path);
        printf(", \"architecture\": ");
        json_str(in.architecture);
        printf(", \"n_layers\": %d, \"n_embd\": %d, \"n_heads\": %d, \"n_kv_heads\": %d, \"head_dim\": %d, "
               "\"n_ff\": %d, \"n_vocab\": %d, \"n_ctx\": %d, \"n_params\": %lld, \"tied_embeddings\": %s, "
               "\"dtype\": ",
               in.n_layers, in.n_embd, in.n_heads, in.n_kv_heads, in.head_dim, in.n_ff, in.n_vocab, in.n_ctx,
               (long long)in.n_params, in.tied_embeddings ? "true" : "false");
        json_str(src);
        printf(", \"compute_dtype\": ");
        json_str(in.dtype);
        printf("}\n");
    } else {
        printf("%s: model\n", path);
        printf("  architecture   %s\n", in.architecture);
        printf("  layers         %d\n", in.n_layers);
        printf("  hidden         %d (heads %d, kv heads %d, head dim %d)\n", in.n_embd, in.n_heads,
               in.n_kv_heads, in.head_dim);
        printf("  feed-forward   %d\n", in.n_ff);
        printf("  vocabulary     %d\n", in.n_vocab);
        printf("  context        %d\n", in.n_ctx);
        printf("  parameters     %lld (%.1fM)%s\n", (long long)in.n_params, in.n_params / 1e6,
               in.tied_embeddings ? ", tied embeddings" : "");
        printf("  file dtype     %s\n", src);
        printf("  loaded as      %s on %s\n", in.dtype, in.device);
    }
    elm_model_free(m);
    return 0;
}

static const inspect_kind kinds[] = {
    {"model", model_detect, model_show},
};

int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (argv[i][0] == '-' && argv[i][1])
            return elm_cli_usage("inspect", "unknown option '%s'", argv[i]);
        else if (!path)
            path = argv[i];
        else
            return elm_cli_usage("inspect", "one PATH only");
    }
    if (!path)
        return elm_cli_usage("inspect", "PATH is missing");
    struct stat sb;
    if (stat(path, &sb) != 0)
        return elm_cli_fail("inspect", "%s: no such file or directory", path);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].detect(path))
            return kinds[i].show(path, json);
    return elm_cli_fail("inspect", "%s: not a kind of file elm inspect knows (model directory with "
                                   "config.json, or .gguf)", path);
}
