/* Loading a tokenizer from GGUF metadata (tokenizer.ggml.*): model "gpt2"
 * (byte-level BPE, pre-tokenizer named by tokenizer.ggml.pre) and "llama"
 * (SentencePiece vocabulary with scores, run as BPE whose merge ranks follow
 * the merged piece's score, byte fallback). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/tk_internal.h"

enum { GGUF_TT_NORMAL = 1, GGUF_TT_UNKNOWN = 2, GGUF_TT_CONTROL = 3, GGUF_TT_USER = 4, GGUF_TT_UNUSED = 5,
       GGUF_TT_BYTE = 6 };

static elm_status push_id(int32_t **v, size_t *n, int32_t id)
{
    int32_t *nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv)
        return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");
    nv[(*n)++] = id;
    *v = nv;
    return ELM_OK;
}

static int32_t opt_id(const elm_gguf *g, const char *key)
{
    uint32_t v;
    if (!elm_gguf_has(g, key) || elm_gguf_get_u32(g, key, &v) != ELM_OK) {
        elm_err_clear();
        return -1;
    }
    /* ids beyond int32 cannot name a token; callers range-check the rest */
    return v > (uint32_t)INT32_MAX ? -1 : (int32_t)v;
}

static int opt_bool(const elm_gguf *g, const char *key, int def)
{
    int v;
    if (!elm_gguf_has(g, key) || elm_gguf_get_bool(g, key, &v) != ELM_OK) {
        elm_err_clear();
        return def;
    }
    return v;
}

/* tokenizer.ggml.pre -> pre-tokenizer pipeline (as the matching tokenizer.json) */
static elm_status gpt2_pre(elm_tokenizer *t, const char *path, const char *pre)
{
    if (!pre || !strcmp(pre, "default") || !strcmp(pre, "gpt2") || !strcmp(pre, "gpt-2"))
        return tk_add_pre_bytelevel(t, 0, 1);
    if (!strcmp(pre, "llama3") || !strcmp(pre, "llama-v3") || !strcmp(pre, "llama-bpe") || !strcmp(pre, "smaug-bpe")) {
        ELM_TRY(tk_add_pre_split(t, tk_llama3_regex, 0, TK_SPLIT_ISOLATED, 0));
        return tk_add_pre_bytelevel(t, 0, 0);
    }
    if (!strcmp(pre, "qwen2") || !strcmp(pre, "deepseek-r1-qwen")) {
        tk_norm *n = calloc(1, sizeof *n);
        if (!n)
            return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
        n->kind = TK_NORM_NFC;
        t->norm = n;
        t->n_norm = 1;
        ELM_TRY(tk_add_pre_split(t, tk_qwen2_regex, 0, TK_SPLIT_ISOLATED, 0));
        return tk_add_pre_bytelevel(t, 0, 0);
    }
    if (!strcmp(pre, "smollm") || !strcmp(pre, "starcoder") || !strcmp(pre, "refact")) {
        ELM_TRY(tk_add_pre_split(t, "\\p{N}", 0, TK_SPLIT_ISOLATED, 0));
        return tk_add_pre_bytelevel(t, 0, 1);
    }
    return elm_err(ELM_E_UNSUPPORTED,
                   "%s: tokenizer.ggml.pre '%s' is not supported (supported: default, gpt2, llama3, llama-bpe, "
                   "qwen2, smollm, starcoder, refact)",
                   path, pre);
}

typedef struct { float score; int32_t id; } scored;

static int scored_cmp(const void *x, const void *y)
{
    const scored *a = x, *b = y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* SentencePiece vocabulary -> BPE merges: every split of a piece into two
 * vocabulary pieces, ranked by the piece's score (highest first) */
static elm_status spm_merges(elm_tokenizer *t, const char *path, const elm_gguf_arr *types, const float *scores,
                             int32_t n)
{
    scored *order = malloc((size_t)n * sizeof *order);
    if (!order)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    for (int32_t i = 0; i < n; i++) {
        order[i].score = scores ? scores[i] : (float)-i;
        order[i].id = i;
    }
    qsort(order, (size_t)n, sizeof *order, scored_cmp);
    elm_status st = ELM_OK;
    for (int32_t r = 0; r < n && st == ELM_OK; r++) {
        int32_t id = order[r].id;
        int64_t ty = GGUF_TT_NORMAL;
        if (types && elm_gguf_arr_i64(types, (uint64_t)id, &ty) != ELM_OK) {
            elm_err_clear();
            ty = GGUF_TT_NORMAL;
        }
        if (ty != GGUF_TT_NORMAL && ty != GGUF_TT_USER)
            continue;
        const char *p = t->pieces[id];
        size_t pl = t->piece_len[id];
        for (size_t k = 1; p && k < pl; k++) {
            if (((unsigned char)p[k] & 0xC0) == 0x80)
                continue;
            int32_t a = tk_map_get(&t->vocab, p, k), b = tk_map_get(&t->vocab, p + k, pl - k);
            if (a >= 0 && b >= 0)
                st = tk_pairmap_put(&t->merges, a, b, r, id);
            if (st != ELM_OK)
                break;
        }
    }
    free(order);
    return st;
}

elm_status elm_tok_load_gguf(const struct elm_gguf *g, elm_tokenizer **out)
{
    const char *path = elm_gguf_path(g);
    const char *model, *pre = NULL, *tmpl = NULL;
    ELM_TRY(elm_gguf_get_str(g, "tokenizer.ggml.model", &model));
    int gpt2 = !strcmp(model, "gpt2"), llama = !strcmp(model, "llama");
    if (!gpt2 && !llama)
        return elm_err(ELM_E_UNSUPPORTED, "%s: tokenizer.ggml.model '%s' is not supported (supported: gpt2, llama)",
                       path, model);
    if (elm_gguf_has(g, "tokenizer.ggml.pre"))
        ELM_TRY(elm_gguf_get_str(g, "tokenizer.ggml.pre", &pre));
    if (elm_gguf_has(g, "tokenizer.chat_template"))
        ELM_TRY(elm_gguf_get_str(g, "tokenizer.chat_template", &tmpl));
    elm_gguf_arr tokens, types, merges, scores;
    ELM_TRY(elm_gguf_get_arr(g, "tokenizer.ggml.tokens", &tokens));
    if (tokens.type != ELM_GGUF_STRING)
        return elm_err(ELM_E_FORMAT, "%s: tokenizer.ggml.tokens: expected an array of strings", path);
    if (tokens.count > 0x7FFFFFF)
        return elm_err(ELM_E_FORMAT, "%s: tokenizer.ggml.tokens: %llu entries", path,
                       (unsigned long long)tokens.count);
    int has_types = elm_gguf_has(g, "tokenizer.ggml.token_type");
    if (has_types)
        ELM_TRY(elm_gguf_get_arr(g, "tokenizer.ggml.token_type", &types));
    if (has_types && types.count != tokens.count)
        return elm_err(ELM_E_FORMAT, "%s: tokenizer.ggml.token_type has %llu entries, tokens %llu", path,
                       (unsigned long long)types.count, (unsigned long long)tokens.count);

    elm_tokenizer *t = tk_alloc(path);
    if (!t)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    elm_status st = ELM_OK;
    int32_t n = (int32_t)tokens.count;
    if (gpt2)
        st = gpt2_pre(t, path, pre);
    else { /* llama: Prepend("▁") (add_space_prefix) + Replace(" ", "▁") */
        int asp = opt_bool(g, "tokenizer.ggml.add_space_prefix", 1);
        t->norm = calloc(2, sizeof *t->norm);
        if (!t->norm)
            st = elm_err(ELM_E_NOMEM, "%s: out of memory", path);
        else {
            if (asp) {
                t->norm[t->n_norm].kind = TK_NORM_PREPEND;
                t->norm[t->n_norm].a = strdup("\xE2\x96\x81");
                t->norm[t->n_norm++].alen = 3;
            }
            t->norm[t->n_norm].kind = TK_NORM_REPLACE;
            t->norm[t->n_norm].a = strdup(" ");
            t->norm[t->n_norm].alen = 1;
            t->norm[t->n_norm].b = strdup("\xE2\x96\x81");
            t->norm[t->n_norm++].blen = 3;
        }
        t->byte_fallback = 1;
        t->fuse_unk = 1;
    }
    for (int32_t i = 0; i < n && st == ELM_OK; i++) {
        const char *s;
        size_t sl;
        st = elm_gguf_arr_str(&tokens, (uint64_t)i, &s, &sl);
        if (st == ELM_OK)
            st = tk_vocab_put(t, s, sl, i);
        int64_t ty = GGUF_TT_NORMAL;
        if (st == ELM_OK && has_types)
            st = elm_gguf_arr_i64(&types, (uint64_t)i, &ty);
        if (st == ELM_OK && (ty == GGUF_TT_CONTROL || ty == GGUF_TT_USER)) {
            if (gpt2 && ty == GGUF_TT_USER) { /* user-defined pieces are stored byte-level encoded */
                char *raw;
                size_t rl;
                if (tk_bytelevel_unmap(s, sl, &raw, &rl)) {
                    st = tk_add_added(t, raw, rl, i, 0, 0, 0, 0, 0);
                    free(raw);
                    continue;
                }
            }
            st = tk_add_added(t, s, sl, i, ty == GGUF_TT_CONTROL, 0, 0, 0, 0);
        }
    }
    if (st == ELM_OK && gpt2) {
        st = elm_gguf_get_arr(g, "tokenizer.ggml.merges", &merges);
        if (st == ELM_OK && merges.type != ELM_GGUF_STRING)
            st = elm_err(ELM_E_FORMAT, "%s: tokenizer.ggml.merges: expected an array of strings", path);
        for (uint64_t i = 0; st == ELM_OK && i < merges.count; i++) {
            const char *s;
            size_t sl;
            st = elm_gguf_arr_str(&merges, i, &s, &sl);
            const char *sp = st == ELM_OK ? memchr(s, ' ', sl) : NULL;
            if (st == ELM_OK && !sp)
                st = elm_err(ELM_E_FORMAT, "%s: tokenizer.ggml.merges[%llu]: expected 'a b'", path,
                             (unsigned long long)i);
            if (st == ELM_OK)
                st = tk_add_merge(t, path, s, (size_t)(sp - s), sp + 1, sl - (size_t)(sp - s) - 1, (int32_t)i);
        }
        if (st == ELM_OK)
            st = tk_add_dec_simple(t, TK_DEC_BYTELEVEL);
    } else if (st == ELM_OK) {
        float *sc = NULL;
        if (elm_gguf_has(g, "tokenizer.ggml.scores")) {
            st = elm_gguf_get_arr(g, "tokenizer.ggml.scores", &scores);
            if (st == ELM_OK && scores.count != tokens.count)
                st = elm_err(ELM_E_FORMAT, "%s: tokenizer.ggml.scores has %llu entries, tokens %llu", path,
                             (unsigned long long)scores.count, (unsigned long long)tokens.count);
            if (st == ELM_OK && !(sc = malloc((size_t)n * sizeof *sc)))
                st = elm_err(ELM_E_NOMEM, "%s: out of memory", path);
            for (int32_t i = 0; st == ELM_OK && i < n; i++) {
                double d;
                st = elm_gguf_arr_f64(&scores, (uint64_t)i, &d);
                sc[i] = (float)d;
            }
        }
        if (st == ELM_OK)
            st = spm_merges(t, path, has_types ? &types : NULL, sc, n);
        free(sc);
        tk_find_byte_tokens(t);
        t->unk_id = opt_id(g, "tokenizer.ggml.unknown_token_id");
        if (t->unk_id >= n)
            t->unk_id = -1;
        /* decoder: Replace("▁", " "), ByteFallback, Fuse, Strip(" ", 1, 0) */
        if (st == ELM_OK) {
            t->dec = calloc(4, sizeof *t->dec);
            if (!t->dec)
                st = elm_err(ELM_E_NOMEM, "%s: out of memory", path);
            else {
                t->n_dec = 4;
                t->dec[0].kind = TK_DEC_REPLACE;
                t->dec[0].a = strdup("\xE2\x96\x81");
                t->dec[0].alen = 3;
                t->dec[0].b = strdup(" ");
                t->dec[0].blen = 1;
                t->dec[1].kind = TK_DEC_BYTEFALLBACK;
                t->dec[2].kind = TK_DEC_FUSE;
                t->dec[3].kind = TK_DEC_STRIP;
                t->dec[3].a = strdup(" ");
                t->dec[3].alen = 1;
                t->dec[3].start = 1;
            }
        }
    }
    if (st == ELM_OK && tmpl && !(t->chat_template = strdup(tmpl)))
        st = elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    if (st == ELM_OK) {
        t->special[ELM_TOKEN_BOS] = opt_id(g, "tokenizer.ggml.bos_token_id");
        t->special[ELM_TOKEN_EOS] = opt_id(g, "tokenizer.ggml.eos_token_id");
        t->special[ELM_TOKEN_PAD] = opt_id(g, "tokenizer.ggml.padding_token_id");
        t->special[ELM_TOKEN_UNK] = opt_id(g, "tokenizer.ggml.unknown_token_id");
        for (int i = 0; i < 4; i++)
            if (t->special[i] < 0 || t->special[i] >= n)
                t->special[i] = -1;
        if (opt_bool(g, "tokenizer.ggml.add_bos_token", llama) && t->special[ELM_TOKEN_BOS] >= 0)
            st = push_id(&t->post_prefix, &t->n_post_prefix, t->special[ELM_TOKEN_BOS]);
        if (st == ELM_OK && opt_bool(g, "tokenizer.ggml.add_eos_token", 0) && t->special[ELM_TOKEN_EOS] >= 0)
            st = push_id(&t->post_suffix, &t->n_post_suffix, t->special[ELM_TOKEN_EOS]);
    }
    if (st == ELM_OK)
        st = tk_finish(t);
    if (st != ELM_OK) {
        elm_tokenizer_unref(t);
        return st;
    }
    *out = t;
    return ELM_OK;
}
