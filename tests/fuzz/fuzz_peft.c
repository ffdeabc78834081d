/* Fuzz PEFT adapter loading (model/peft.c: adapter_config.json +
 * adapter_model.safetensors) against the tiny fixture model
 * (tests/fixtures/models/llama-tied: 8 layers, hidden 32, 4 heads, 2 KV
 * heads, intermediate 64). The input is adapter_config.json, FZ_SEP, then
 * adapter_model.safetensors; without the separator the weights file is
 * absent. An accepted adapter is attached, run once and detached. */
#include <sys/stat.h>

#include "fuzz_common.h"
#include "model/model.h"

static elm_model *model;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *root = getenv("ELM_SOURCE_ROOT");
    char p[4096];
    snprintf(p, sizeof p, "%s/tests/fixtures/models/llama-tied", root && *root ? root : ELM_SOURCE_ROOT);
    elm_config *cfg = NULL;
    if (elm_config_new(&cfg) != ELM_OK || elm_config_set(cfg, "runtime.dtype", "float32") != ELM_OK ||
        elm_model_load(p, cfg, &model) != ELM_OK) {
        fprintf(stderr, "fuzz_peft: cannot load %s: %s\n", p, elm_last_error());
        exit(1);
    }
    elm_config_free(cfg);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p0, *p1;
    size_t n0, n1;
    int parts = fz_split(data, size, &p0, &n0, &p1, &n1);
    const char *dir = fz_path(2, "adapter");
    mkdir(dir, 0700);
    fz_write(0, "adapter/adapter_config.json", p0, n0);
    if (parts == 2)
        fz_write(1, "adapter/adapter_model.safetensors", p1, n1);
    elm_lora *l = NULL;
    elm_status rc = elm_lora_load_peft(model, dir, &l);
    fz_check_error(rc);
    if (rc == ELM_OK) {
        FZ_ASSERT(l);
        elm_lora_free(l);
        /* the public path: attach, one forward pass, detach */
        rc = elm_model_load_adapter(model, dir);
        fz_check_error(rc);
        if (rc == ELM_OK) {
            int32_t ids[3] = {1, 2, 3};
            size_t lens[1] = {3};
            float *logits = malloc(3 * 512 * sizeof *logits);
            FZ_ASSERT(logits);
            fz_check_error(elm_model_logits(model, ids, lens, 1, logits));
            free(logits);
            FZ_ASSERT(elm_model_unload_adapter(model) == ELM_OK);
        }
    } else {
        FZ_ASSERT(l == NULL);
    }
    fz_remove("adapter/adapter_config.json");
    fz_remove("adapter/adapter_model.safetensors");
    return 0;
}
