/* Fuzz the Hugging Face config.json parser of the model layer
 * (elm_llama_config_from_json_text, and the file form), then the rotary
 * frequencies of every accepted configuration. */
#include <math.h>

#include "fuzz_common.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fz_strndup(data, size);
    elm_llama_config c;
    elm_status rc = elm_llama_config_from_json_text(text, "config.json", &c);
    fz_check_error(rc);
    if (rc == ELM_OK) {
        FZ_ASSERT(elm_llama_config_check(&c, "config.json") == ELM_OK);
        FZ_ASSERT(memchr(c.architecture, 0, sizeof c.architecture) != NULL);
        /* bounded by the harness: the loader, not this parser, owns sizes */
        if (c.head_dim <= (1 << 16)) {
            float *f = malloc((size_t)(c.head_dim / 2 + 1) * sizeof *f);
            FZ_ASSERT(f);
            elm_llama_inv_freq(&c, f);
            fz_touch(f, (size_t)(c.head_dim / 2) * sizeof *f);
            free(f);
        }
    }
    /* the file form must agree with the text form */
    const char *path = fz_write(0, "config.json", text, strlen(text));
    elm_llama_config c2;
    elm_status rc2 = elm_llama_config_from_json(path, &c2);
    fz_check_error(rc2);
    FZ_ASSERT((rc == ELM_OK) == (rc2 == ELM_OK));
    free(text);
    return 0;
}
