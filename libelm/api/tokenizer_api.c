/* Public tokenizer entry points (elm.h): argument checks and magic tags over
 * libelm/tokenizer. */
#include <stdlib.h>

#include "config/config.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"

elm_status elm_tokenizer_load(const char *path, const elm_config *cfg, elm_tokenizer **out)
{
    (void)cfg;
    ELM_CHECK_ARG(path, "path");
    ELM_CHECK_ARG(out, "out");
    *out = NULL;
    return elm_tok_load(path, out);
}

void elm_tokenizer_free(elm_tokenizer *tok)
{
    if (!elm_tok_valid(tok)) /* NULL, or not a tokenizer: ignored */
        return;
    elm_tokenizer_unref(tok);
}

elm_status elm_tokenizer_encode(const elm_tokenizer *tok, const char *text, size_t len, unsigned flags, int32_t **ids,
                        size_t *n_ids)
{
    ELM_CHECK_ARG(tok, "tok");
    ELM_TRY(elm_tok_check(tok, __func__));
    ELM_CHECK_ARG(text || len == 0, "text");
    ELM_CHECK_ARG(ids, "ids");
    ELM_CHECK_ARG(n_ids, "n_ids");
    ELM_CHECK_ARG((flags & ~3u) == 0, "flags");
    return elm_tok_encode(tok, text ? text : "", len, flags, ids, n_ids);
}

elm_status elm_tokenizer_decode(const elm_tokenizer *tok, const int32_t *ids, size_t n_ids, unsigned flags, char **text)
{
    ELM_CHECK_ARG(tok, "tok");
    ELM_TRY(elm_tok_check(tok, __func__));
    ELM_CHECK_ARG(ids || n_ids == 0, "ids");
    ELM_CHECK_ARG(text, "text");
    ELM_CHECK_ARG((flags & ~1u) == 0, "flags");
    return elm_tok_decode(tok, ids, n_ids, flags, text, NULL);
}

elm_status elm_tokenizer_piece(const elm_tokenizer *tok, int32_t id, const char **piece)
{
    ELM_CHECK_ARG(tok, "tok");
    ELM_TRY(elm_tok_check(tok, __func__));
    ELM_CHECK_ARG(piece, "piece");
    const char *p = elm_tok_piece(tok, id);
    if (!p)
        return elm_err(ELM_E_INVALID, "elm_tokenizer_piece: id %d out of range [0, %d) or unused", (int)id,
                       (int)elm_tok_vocab_size(tok));
    *piece = p;
    return ELM_OK;
}

int32_t elm_tokenizer_vocab_size(const elm_tokenizer *tok)
{
    return elm_tok_valid(tok) ? elm_tok_vocab_size(tok) : 0;
}

int32_t elm_tokenizer_special(const elm_tokenizer *tok, elm_special_token which)
{
    return elm_tok_valid(tok) ? elm_tok_special(tok, which) : -1;
}

#define ELM_DETOK_STREAM_MAGIC 0x54444c45u /* "ELDT" */

struct elm_detok_stream {
    uint32_t magic; /* ELM_DETOK_STREAM_MAGIC while live */
    tk_stream *s;
    elm_tokenizer *tok; /* the stream's own reference: the caller may free theirs first */
};

static elm_status stream_check(const elm_detok_stream *st, const char *fn)
{
    if (!st)
        return elm_err(ELM_E_INVALID, "%s: invalid argument 'st'", fn);
    if (st->magic != ELM_DETOK_STREAM_MAGIC || !st->s)
        return elm_err(ELM_E_INVALID, "%s: not a valid detok stream handle (freed or corrupted?)", fn);
    return ELM_OK;
}

elm_status elm_detok_stream_new(const elm_tokenizer *tok, unsigned flags, elm_detok_stream **out)
{
    ELM_CHECK_ARG(tok, "tok");
    ELM_TRY(elm_tok_check(tok, __func__));
    ELM_CHECK_ARG(out, "out");
    ELM_CHECK_ARG((flags & ~1u) == 0, "flags");
    elm_detok_stream *d = calloc(1, sizeof *d);
    if (!d)
        return elm_err(ELM_E_NOMEM, "elm_detok_stream_new: out of memory");
    elm_status st = tk_stream_new(tok, flags, &d->s);
    if (st != ELM_OK) {
        free(d);
        return st;
    }
    /* The reference count is the tokenizer's only mutable state (atomic); the const in the
     * signature promises the vocabulary and rules are not changed. */
    d->tok = elm_tokenizer_ref((elm_tokenizer *)tok);
    d->magic = ELM_DETOK_STREAM_MAGIC;
    *out = d;
    return ELM_OK;
}

elm_status elm_detok_stream_push(elm_detok_stream *st, int32_t id, char **text)
{
    ELM_TRY(stream_check(st, __func__));
    ELM_CHECK_ARG(text, "text");
    return tk_stream_push(st->s, id, text, NULL);
}

elm_status elm_detok_stream_flush(elm_detok_stream *st, char **text)
{
    ELM_TRY(stream_check(st, __func__));
    ELM_CHECK_ARG(text, "text");
    return tk_stream_flush(st->s, text, NULL);
}

void elm_detok_stream_free(elm_detok_stream *st)
{
    if (!st || st->magic != ELM_DETOK_STREAM_MAGIC) /* NULL, or not a stream: ignored */
        return;
    st->magic = 0;
    tk_stream_free(st->s);
    st->s = NULL;
    elm_tokenizer_unref(st->tok);
    free(st);
}

elm_status elm_tokenizer_apply_chat(const elm_tokenizer *tok, const elm_chat_message *msgs, size_t n_msgs,
                          int add_generation_prompt, const elm_config *cfg, char **out)
{
    ELM_CHECK_ARG(tok, "tok");
    ELM_TRY(elm_tok_check(tok, __func__));
    ELM_CHECK_ARG(msgs || n_msgs == 0, "msgs");
    ELM_CHECK_ARG(out, "out");
    for (size_t i = 0; i < n_msgs; i++)
        if (!msgs[i].role || !msgs[i].content)
            return elm_err(ELM_E_INVALID, "elm_tokenizer_apply_chat: message %zu has a NULL role or content", i);
    const char *name = "none";
    elm_chat_kind fallback = ELM_CHAT_NONE;
    ELM_TRY(elm_config_string(cfg, ELM_KEY_CHAT_FALLBACK, &name));
    ELM_TRY(elm_chat_kind_parse(name, &fallback));
    return elm_tok_chat_apply(tok, msgs, n_msgs, add_generation_prompt, fallback, out);
}
