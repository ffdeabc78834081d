/* Fuzz the GGUF vocabulary loader (tokenizer/load_gguf.c: tokenizer.ggml.*
 * metadata) on top of the GGUF reader, then encode/decode as
 * fuzz_tokenizer_json does. */
#include "fz_tok_walk.h"
#include "io/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write(0, "t.gguf", data, size);
    elm_gguf *g = NULL;
    if (elm_gguf_open(path, &g) != ELM_OK)
        return 0;
    elm_tokenizer *t = NULL;
    elm_status rc = elm_tok_load_gguf(g, &t);
    fz_check_error(rc);
    elm_gguf_close(g); /* the tokenizer must not borrow from the file */
    if (rc == ELM_OK) {
        fz_tok_walk(t);
        elm_tokenizer_unref(t);
    }
    return 0;
}
