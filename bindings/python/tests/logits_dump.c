/* Writes the logits of one token sequence as raw float32 to a file, through
 * the C API alone: the reference that test_model.py compares the Python
 * binding's logits with, bit for bit.
 * usage: logits_dump MODEL_DIR OUT_FILE ID... */
#include <elm.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    elm_config *cfg = NULL;
    elm_model *model = NULL;
    if (elm_config_new(&cfg) || elm_config_set(cfg, "runtime.device", "cpu") ||
        elm_config_set(cfg, "runtime.dtype", "float32") || elm_config_set(cfg, "runtime.threads", "1") ||
        elm_model_load(argv[1], cfg, &model)) {
        fprintf(stderr, "%s\n", elm_last_error());
        return 1;
    }
    size_t n = (size_t)(argc - 3);
    int32_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = (int32_t)atoi(argv[3 + i]);
    elm_model_info info;
    ELM_STRUCT_INIT(&info);
    if (elm_model_get_info(model, &info)) return 1;
    float *out = malloc(n * (size_t)info.n_vocab * sizeof *out);
    if (elm_model_logits(model, ids, &n, 1, out)) {
        fprintf(stderr, "%s\n", elm_last_error());
        return 1;
    }
    FILE *f = fopen(argv[2], "wb");
    if (!f || fwrite(out, sizeof *out, n * (size_t)info.n_vocab, f) != n * (size_t)info.n_vocab) return 1;
    fclose(f);
    free(out);
    free(ids);
    elm_model_free(model);
    elm_config_free(cfg);
    return 0;
}
