/* Fuzz the BPE encoder and the decoders on arbitrary bytes with a fixed,
 * real tokenizer: the fixture model's byte-level BPE
 * (tests/fixtures/models/llama-tied), or the tokenizer directory / .json /
 * .gguf named by $ELM_FUZZ_TOKENIZER (e.g. a fetched Llama 2 SentencePiece
 * tokenizer). The first byte picks the encode flags; the rest is the text.
 * The same bytes are also decoded as int32 ids and used as chat content. */
#include "fz_tok_walk.h"

static elm_tokenizer *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *p = getenv("ELM_FUZZ_TOKENIZER");
    char def[4096];
    if (!p || !*p) {
        const char *root = getenv("ELM_SOURCE_ROOT");
        snprintf(def, sizeof def, "%s/tests/fixtures/models/llama-tied", root && *root ? root : ELM_SOURCE_ROOT);
        p = def;
    }
    if (elm_tok_load(p, &tok) != ELM_OK) {
        fprintf(stderr, "fuzz_tokenizer_encode: cannot load %s: %s\n", p, elm_last_error());
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0] & 3;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    fz_tok_encode(tok, text, len, flags);

    /* the bytes as ids (decoders must refuse out-of-range ids cleanly) */
    size_t n = len / 4;
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    FZ_ASSERT(ids);
    memcpy(ids, text, n * 4);
    if (data[0] & 4) { /* mostly valid ids */
        int32_t V = elm_tok_vocab_size(tok);
        for (size_t i = 0; i < n; i++)
            ids[i] = (int32_t)((uint32_t)ids[i] % (uint32_t)(V + 1)) - (ids[i] < 0);
    }
    fz_tok_decode_ids(tok, ids, n);
    free(ids);

    if (data[0] & 8) {
        char *content = fz_strndup(text, len);
        elm_chat_message m[2] = {{"user", content}, {"assistant", content}};
        char *out = NULL;
        elm_status rc = elm_tok_chat_apply(tok, m, 2, 1, ELM_CHAT_NONE, &out);
        fz_check_error(rc);
        if (rc == ELM_OK) {
            fz_tok_encode(tok, out, strlen(out), ELM_TOKENIZE_PARSE_SPECIAL);
            free(out);
        }
        free(content);
    }
    return 0;
}
