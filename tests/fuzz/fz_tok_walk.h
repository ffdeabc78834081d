/* Exercise a loaded tokenizer: encode texts with every flag combination,
 * decode the ids (batch and streaming) and read pieces, specials and the
 * chat template. Shared by the tokenizer targets. */
#ifndef ELM_FUZZ_TOK_WALK_H
#define ELM_FUZZ_TOK_WALK_H

#include "fuzz_common.h"
#include "tokenizer/tokenizer.h"

static inline void fz_tok_decode_ids(const elm_tokenizer *t, const int32_t *ids, size_t n)
{
    for (unsigned fl = 0; fl < 2; fl++) {
        char *text = NULL;
        size_t len = 0;
        elm_status rc = elm_tok_decode(t, ids, n, fl, &text, &len);
        fz_check_error(rc);
        if (rc == ELM_OK) {
            FZ_ASSERT(text && text[len] == 0 && strlen(text) <= len); /* NUL may be decoded text */
            free(text);
        }
    }
    /* streaming, through the public API (the internal one is still moving) */
    elm_detok_stream *s = NULL;
    if (elm_detok_stream_new(t, 0, &s) == ELM_OK) {
        for (size_t i = 0; i < n; i++) {
            char *piece = NULL;
            elm_status rc = elm_detok_stream_push(s, ids[i], &piece);
            fz_check_error(rc);
            if (rc == ELM_OK) {
                FZ_ASSERT(piece);
                fz_touch(piece, strlen(piece));
            }
            free(piece);
        }
        char *rest = NULL;
        if (elm_detok_stream_flush(s, &rest) == ELM_OK)
            fz_touch(rest, strlen(rest));
        free(rest);
        elm_detok_stream_free(s);
    }
}

static inline void fz_tok_encode(const elm_tokenizer *t, const char *text, size_t len, unsigned flags)
{
    int32_t *ids = NULL;
    size_t n = 0;
    elm_status rc = elm_tok_encode(t, text, len, flags, &ids, &n);
    fz_check_error(rc);
    if (rc != ELM_OK)
        return;
    int32_t V = elm_tok_vocab_size(t);
    for (size_t i = 0; i < n; i++)
        FZ_ASSERT(ids[i] >= 0 && ids[i] < V);
    fz_tok_decode_ids(t, ids, n);
    free(ids);
}

static inline void fz_tok_walk(const elm_tokenizer *t)
{
    static const char *const texts[] = {
        "Hello world", " Hello  world\n\n", "Harry Potter's wand, 1234 €!", "<|im_start|>user\nhi<|im_end|>",
        "\xF0\x9F\x98\x80 caf\xC3\xA9 e\xCC\x81 \xE4\xBD\xA0\xE5\xA5\xBD", "\xff\xfe bad \xc3", "", " ",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        for (unsigned fl = 0; fl < 4; fl++)
            fz_tok_encode(t, texts[i], strlen(texts[i]), fl);
    int32_t V = elm_tok_vocab_size(t);
    FZ_ASSERT(V >= 0);
    int32_t lim = V < 2048 ? V : 2048;
    for (int32_t id = 0; id < lim; id++) {
        const char *p = elm_tok_piece(t, id);
        if (p)
            fz_touch(p, strlen(p));
        (void)elm_tok_is_special(t, id);
    }
    FZ_ASSERT(elm_tok_piece(t, V) == NULL && elm_tok_piece(t, -1) == NULL);
    int32_t some[6] = {0, 1, 2, V > 0 ? V - 1 : 0, V / 2, 3};
    for (int i = 0; i < 6; i++)
        if (some[i] >= V)
            some[i] = 0;
    if (V > 0)
        fz_tok_decode_ids(t, some, 6);
    int32_t bad[2] = {V, -1};
    fz_tok_decode_ids(t, bad, 2);
    for (int w = 0; w < 4; w++) {
        int32_t id = elm_tok_special(t, (elm_special_token)w);
        FZ_ASSERT(id >= -1 && id < V);
    }
    const char *tmpl = elm_tok_chat_template(t);
    if (tmpl)
        fz_touch(tmpl, strlen(tmpl));
    elm_chat_message msgs[3] = {{"system", "Be brief."}, {"user", "Who is Harry?"}, {"assistant", "A wizard."}};
    for (int gen = 0; gen < 2; gen++) {
        char *out = NULL;
        elm_status rc = elm_tok_chat_apply(t, msgs, 3, gen, ELM_CHAT_NONE, &out);
        fz_check_error(rc);
        if (rc == ELM_OK)
            free(out);
    }
}

#endif
