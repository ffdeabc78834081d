/* Tokenizer layer: Hugging Face tokenizer.json (BPE: byte-level as in GPT-2,
 * Llama 3, Qwen, SmolLM2; SentencePiece-style as in Llama 2, Mistral) and
 * GGUF vocabularies (tokenizer.ggml.model gpt2 / llama), bit-exact with HF
 * `tokenizers` 0.20; decoding (also streaming) and chat templates.
 *
 * Input text that is not valid UTF-8 is repaired before encoding: every
 * ill-formed subsequence becomes U+FFFD (what Python's
 * bytes.decode("utf-8", "replace") gives, the only way such bytes reach HF).
 *
 * Flags (elm.h):
 *   ELM_TOKENIZE_PARSE_SPECIAL  every added token, special or not, is matched
 *       in the text — HF `encode`'s default. Without it special added tokens
 *       are plain text (HF's encode_special_tokens=True); non-special added
 *       tokens are still matched.
 *   ELM_TOKENIZE_ADD_SPECIAL    apply the post-processor (BOS/EOS):
 *       HF add_special_tokens=True.
 * So HF tok.encode(s, add_special_tokens=False) == flags PARSE_SPECIAL.
 *
 * A tokenizer is immutable after loading (its word cache is locked) and
 * reference counted: the model holds one and hands out references. */
#ifndef ELM_TOKENIZER_TOKENIZER_H
#define ELM_TOKENIZER_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "elm.h"

struct elm_gguf;

/* A model directory (tokenizer.json + tokenizer_config.json), a
 * tokenizer.json file (tokenizer_config.json beside it is read if present)
 * or a .gguf file. Ownership: elm_tokenizer_unref. */
elm_status elm_tok_load(const char *path, elm_tokenizer **out);
/* config_json may be NULL. */
elm_status elm_tok_load_json(const char *tokenizer_json, const char *config_json, elm_tokenizer **out);
/* From an open GGUF's tokenizer.ggml.* metadata (g stays the caller's). */
elm_status elm_tok_load_gguf(const struct elm_gguf *g, elm_tokenizer **out);

/* Magic tag of a live handle (first field); cleared on the final unref. */
#define ELM_TOKENIZER_MAGIC 0x4b544c45u /* "ELTK" */

/* Validate a public handle for entry points: ELM_E_INVALID naming fn when
 * t is NULL or its magic tag is wrong (freed or corrupted). */
elm_status elm_tok_check(const elm_tokenizer *t, const char *fn);
/* 1 when t is non-NULL and carries the magic tag. */
int elm_tok_valid(const elm_tokenizer *t);

/* New reference (returns t). */
elm_tokenizer *elm_tokenizer_ref(elm_tokenizer *t);
/* Drop a reference; frees on the last one. NULL is a no-op. */
void elm_tokenizer_unref(elm_tokenizer *t);

/* Encode len bytes. Ownership: *ids malloc'd (free / elm_free). */
elm_status elm_tok_encode(const elm_tokenizer *t, const char *text, size_t len, unsigned flags,
                          int32_t **ids, size_t *n_ids);
/* Decode (flags: ELM_DETOKENIZE_SKIP_SPECIAL) to NUL-terminated UTF-8
 * (ill-formed byte sequences become U+FFFD, as HF does). Out-of-range ids
 * are ELM_E_INVALID. Ownership: *text malloc'd; len may be NULL. */
elm_status elm_tok_decode(const elm_tokenizer *t, const int32_t *ids, size_t n_ids, unsigned flags,
                          char **text, size_t *len);

/* Number of ids (model vocabulary + added tokens: max id + 1). */
int32_t elm_tok_vocab_size(const elm_tokenizer *t);
/* BOS/EOS/PAD/UNK id or -1. */
int32_t elm_tok_special(const elm_tokenizer *t, elm_special_token which);
/* Vocabulary piece (as the file spells it, e.g. "Ġthe", "▁the", "<0x0A>"),
 * or NULL for an id out of range or unused. Borrowed from t. */
const char *elm_tok_piece(const elm_tokenizer *t, int32_t id);
/* 1 if id is a special (control) token. */
int elm_tok_is_special(const elm_tokenizer *t, int32_t id);
/* Id of an exact piece / added token text, or -1. */
int32_t elm_tok_find(const elm_tokenizer *t, const char *piece);
/* Chat template text or NULL. Borrowed. */
const char *elm_tok_chat_template(const elm_tokenizer *t);

/* Write t as Hugging Face files into the folder dir: tokenizer.json (the
 * pipeline libelm runs, the BPE vocabulary and merges in rank order, added
 * tokens), tokenizer_config.json (special tokens, chat template,
 * PreTrainedTokenizerFast) and special_tokens_map.json; each file is written
 * atomically. For models loaded from GGUF, whose merged saves would
 * otherwise have no tokenizer. */
elm_status elm_tok_save_hf(const elm_tokenizer *t, const char *dir);

/* Streaming decoder (see elm_detok_stream_* in elm.h). */
typedef struct tk_stream tk_stream;
elm_status tk_stream_new(const elm_tokenizer *t, unsigned flags, tk_stream **out);
/* *text: newly complete text (possibly ""), malloc'd; len may be NULL. */
elm_status tk_stream_push(tk_stream *s, int32_t id, char **text, size_t *len);
elm_status tk_stream_flush(tk_stream *s, char **text, size_t *len);
void tk_stream_free(tk_stream *s);

/* Chat templates recognised from the template text. */
typedef enum elm_chat_kind {
    ELM_CHAT_NONE = 0,
    ELM_CHAT_CHATML = 1, /* <|im_start|> (SmolLM2, Qwen) */
    ELM_CHAT_ZEPHYR = 2, /* <|user|> */
    ELM_CHAT_LLAMA2 = 3, /* [INST] */
    ELM_CHAT_LLAMA3 = 4  /* <|start_header_id|> */
} elm_chat_kind;
elm_chat_kind elm_chat_detect(const char *template_text);
/* chat.fallback's names: none|chatml|zephyr|llama2|llama3 (none: ELM_CHAT_NONE). */
elm_status elm_chat_kind_parse(const char *name, elm_chat_kind *out);
/* Render msgs with t's template, or with `fallback` when t's is not
 * recognised (ELM_CHAT_NONE: that is an ELM_E_UNSUPPORTED error naming the
 * choices). Ownership: *out malloc'd. */
elm_status elm_tok_chat_apply(const elm_tokenizer *t, const elm_chat_message *msgs, size_t n_msgs,
                              int add_generation_prompt, elm_chat_kind fallback, char **out);

#endif
