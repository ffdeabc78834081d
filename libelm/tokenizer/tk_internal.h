/* Private structures of the tokenizer layer (shared by its .c files only). */
#ifndef ELM_TOKENIZER_TK_INTERNAL_H
#define ELM_TOKENIZER_TK_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizer/tokenizer.h"

/* string -> int32 hash map (keys are copied into the map) */
typedef struct tk_map {
    char **keys;
    uint32_t *klen;
    int32_t *vals;
    size_t cap, n; /* cap is a power of two */
} tk_map;
elm_status tk_map_put(tk_map *m, const char *k, size_t klen, int32_t v); /* replaces */
int32_t tk_map_get(const tk_map *m, const char *k, size_t klen);      /* -1 if absent */
void tk_map_free(tk_map *m);

/* (left id, right id) -> (rank, merged id) */
typedef struct tk_pairmap {
    uint64_t *keys; /* (left << 32 | right) + 1; 0 = empty */
    int32_t *rank, *merged;
    size_t cap, n;
} tk_pairmap;
elm_status tk_pairmap_put(tk_pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t merged);
int tk_pairmap_get(const tk_pairmap *m, int32_t a, int32_t b, int32_t *rank, int32_t *merged);
void tk_pairmap_free(tk_pairmap *m);

typedef enum { TK_NORM_NFC, TK_NORM_PREPEND, TK_NORM_REPLACE } tk_norm_kind;
typedef struct tk_norm {
    tk_norm_kind kind;
    char *a, *b; /* prepend: a; replace: a -> b */
    size_t alen, blen;
} tk_norm;

typedef enum { TK_SPLIT_REMOVED, TK_SPLIT_ISOLATED, TK_SPLIT_MERGED_PREV, TK_SPLIT_MERGED_NEXT,
               TK_SPLIT_CONTIGUOUS } tk_split_behavior;
typedef enum { TK_PRE_SPLIT, TK_PRE_BYTELEVEL, TK_PRE_METASPACE } tk_pre_kind;
typedef enum { TK_PREPEND_ALWAYS, TK_PREPEND_FIRST, TK_PREPEND_NEVER } tk_prepend_scheme;
typedef struct tk_pre {
    tk_pre_kind kind;
    pcre2_code *re; /* split (Split, Digits, ByteLevel use_regex) */
    char *src;      /* the pattern as given (for writing tokenizer.json) */
    int literal;    /* src is a String pattern, not a Regex */
    int jit;
    tk_split_behavior behavior;
    int invert;
    int add_prefix_space; /* ByteLevel */
    tk_prepend_scheme scheme; /* Metaspace */
    int meta_split;
    char meta[8];
    size_t meta_len;
} tk_pre;

typedef enum { TK_DEC_BYTELEVEL, TK_DEC_REPLACE, TK_DEC_BYTEFALLBACK, TK_DEC_FUSE, TK_DEC_STRIP,
               TK_DEC_METASPACE } tk_dec_kind;
typedef struct tk_dec {
    tk_dec_kind kind;
    char *a, *b; /* replace a -> b; strip: a = content char; metaspace: a = replacement */
    size_t alen, blen;
    int start, stop; /* strip */
    tk_prepend_scheme scheme;
} tk_dec;

typedef struct tk_added {
    char *text;
    size_t len;
    int32_t id;
    uint8_t special, lstrip, rstrip, single_word, normalized;
} tk_added;

/* bounded word cache: piece bytes -> ids */
typedef struct tk_cache {
    tk_map index;   /* piece -> slot */
    int32_t **ids;  /* per slot: [n, id...] */
    size_t n, cap;
} tk_cache;

struct elm_tokenizer {
    uint32_t magic; /* ELM_TOKENIZER_MAGIC while live */
    atomic_int refs;
    char *source; /* file the tokenizer came from (messages) */

    /* model (BPE) */
    int32_t n_ids;     /* max id + 1 over vocab and added tokens */
    int32_t cap_ids;   /* allocated length of pieces / piece_len (grows geometrically) */
    char **pieces;     /* id -> vocabulary form, NUL-terminated (NULL if unused) */
    uint32_t *piece_len;
    tk_map vocab;      /* model key -> id (raw bytes when byte_level) */
    tk_pairmap merges;
    int byte_level;    /* pieces are byte-level encoded; model keys are raw bytes */
    int byte_fallback, fuse_unk, ignore_merges;
    int32_t unk_id;    /* model unk or -1 */
    int32_t byte_tok[256]; /* <0xNN> ids (byte_fallback) or -1 */

    /* added tokens, sorted by first byte then length descending */
    tk_added *added;
    size_t n_added;
    size_t added_first[257]; /* index range per first byte */
    int has_normalized_added;
    uint8_t *id_special; /* per id: 1 = special added token */
    uint8_t *id_added;   /* per id: 1 = added token (decoded from its text) */
    char **added_text;   /* per id: added token content or NULL */

    tk_norm *norm;
    size_t n_norm;
    tk_pre *pre;
    size_t n_pre;
    int32_t *post_prefix, *post_suffix; /* ids around the sequence (ADD_SPECIAL) */
    size_t n_post_prefix, n_post_suffix;
    tk_dec *dec;
    size_t n_dec;
    int dec_none; /* no decoder: tokens joined with " " */

    int32_t special[4]; /* BOS, EOS, PAD, UNK */
    char *chat_template;

    pthread_mutex_t cache_mu;
    tk_cache cache;
};

/* Internal helpers between the .c files. */
elm_tokenizer *tk_alloc(const char *source);
/* After vocab/added/pipeline are filled: per-id tables, added token index. */
elm_status tk_finish(elm_tokenizer *t);
elm_status tk_set_piece(elm_tokenizer *t, int32_t id, const char *s, size_t len);
elm_status tk_add_added(elm_tokenizer *t, const char *text, size_t len, int32_t id, int special, int lstrip,
                        int rstrip, int single_word, int normalized);
/* Compile a split regex (PCRE2, UTF|UCP, \s as Unicode White_Space). */
elm_status tk_compile_regex(const char *ctx, const char *pattern, int literal, tk_pre *p);
/* Byte-level alphabet. */
char *tk_bytelevel_map(const char *s, size_t n, size_t *out_len); /* malloc'd */
int tk_cp_to_byte(uint32_t cp); /* -1 if not in the alphabet */
/* Decode byte-level text to raw bytes; 0 if some character is not in the
 * alphabet. *out malloc'd. */
int tk_bytelevel_unmap(const char *s, size_t n, char **out, size_t *out_len);

/* Builders shared by the JSON and GGUF loaders (load_json.c). */
elm_status tk_add_pre_bytelevel(elm_tokenizer *t, int add_prefix_space, int use_regex);
elm_status tk_add_pre_split(elm_tokenizer *t, const char *pattern, int literal, tk_split_behavior b, int invert);
elm_status tk_add_dec_simple(elm_tokenizer *t, int kind);
elm_status tk_vocab_put(elm_tokenizer *t, const char *piece, size_t n, int32_t id);
/* Model vocabulary id of a piece as the file spells it (byte-level pieces are
 * looked up by their raw bytes), or -1. */
int32_t tk_vocab_id(const elm_tokenizer *t, const char *piece, size_t n);
elm_status tk_add_merge(elm_tokenizer *t, const char *ctx, const char *a, size_t al, const char *b, size_t bl,
                        int32_t rank);
void tk_find_byte_tokens(elm_tokenizer *t);

extern const char *const tk_gpt2_regex;
extern const char *const tk_llama3_regex;
extern const char *const tk_qwen2_regex;

#endif
