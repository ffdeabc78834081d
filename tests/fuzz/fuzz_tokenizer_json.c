/* Fuzz the tokenizer.json loader (tokenizer/load_json.c) and, for every
 * tokenizer it accepts, the BPE encoder, decoders and chat templates on a
 * fixed set of texts. The input is tokenizer.json, optionally followed by
 * FZ_SEP and a tokenizer_config.json. */
#include "fz_tok_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p0, *p1;
    size_t n0, n1;
    int parts = fz_split(data, size, &p0, &n0, &p1, &n1);
    const char *tj = fz_write(0, "tokenizer.json", p0, n0);
    const char *cj = parts == 2 ? fz_write(1, "tokenizer_config.json", p1, n1) : NULL;
    elm_tokenizer *t = NULL;
    elm_status rc = elm_tok_load_json(tj, cj, &t);
    fz_check_error(rc);
    if (rc == ELM_OK) {
        fz_tok_walk(t);
        elm_tokenizer_unref(t);
    } else {
        FZ_ASSERT(t == NULL);
    }
    if (cj)
        fz_remove("tokenizer_config.json");
    return 0;
}
