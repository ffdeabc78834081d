/* Writing a loaded tokenizer as Hugging Face files: tokenizer.json (the
 * pipeline libelm runs: normalizers, pre-tokenizers, the BPE model with its
 * vocabulary and merges in rank order, added tokens, post-processor,
 * decoders), tokenizer_config.json and special_tokens_map.json.
 *
 * What it is for: a model loaded from GGUF has no tokenizer.json, so a merged
 * model saved from it would not load in transformers. The files describe the
 * tokenizer libelm built from the GGUF vocabulary; tests/tokenizer checks
 * that libelm reloads them to the same ids on the tokenizer corpus, and
 * tools/reference/check_tokenizer_export.py that HF tokenizers does. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/json.h"
#include "tokenizer/tk_internal.h"

static json_object *jstr_n(const char *s, size_t n) { return json_object_new_string_len(s, (int)n); }

static void put(json_object *o, const char *k, json_object *v) { json_object_object_add(o, k, v); }

static json_object *typed(const char *type)
{
    json_object *o = json_object_new_object();
    put(o, "type", json_object_new_string(type));
    return o;
}

static json_object *string_pattern(const char *s, size_t n)
{
    json_object *p = json_object_new_object();
    put(p, "String", jstr_n(s, n));
    return p;
}

static const char *scheme_name(tk_prepend_scheme s)
{
    return s == TK_PREPEND_FIRST ? "first" : s == TK_PREPEND_NEVER ? "never" : "always";
}

/* One element, or a Sequence of them (`key` names the Sequence's array). */
static json_object *maybe_sequence(json_object *arr, const char *key)
{
    size_t n = json_object_array_length(arr);
    if (n == 0) {
        json_object_put(arr);
        return NULL;
    }
    if (n == 1) {
        json_object *one = json_object_get(json_object_array_get_idx(arr, 0));
        json_object_put(arr);
        return one;
    }
    json_object *seq = typed("Sequence");
    put(seq, key, arr);
    return seq;
}

static json_object *normalizer(const elm_tokenizer *t)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < t->n_norm; i++) {
        const tk_norm *n = &t->norm[i];
        json_object *o;
        if (n->kind == TK_NORM_NFC) {
            o = typed("NFC");
        } else if (n->kind == TK_NORM_PREPEND) {
            o = typed("Prepend");
            put(o, "prepend", jstr_n(n->a, n->alen));
        } else {
            o = typed("Replace");
            put(o, "pattern", string_pattern(n->a, n->alen));
            put(o, "content", jstr_n(n->b, n->blen));
        }
        json_object_array_add(arr, o);
    }
    return maybe_sequence(arr, "normalizers");
}

static const char *const behavior_names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext",
                                             "Contiguous"};

static json_object *pre_tokenizer(const elm_tokenizer *t)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < t->n_pre; i++) {
        const tk_pre *p = &t->pre[i];
        json_object *o;
        if (p->kind == TK_PRE_BYTELEVEL) {
            o = typed("ByteLevel");
            put(o, "add_prefix_space", json_object_new_boolean(p->add_prefix_space));
            put(o, "trim_offsets", json_object_new_boolean(1));
            put(o, "use_regex", json_object_new_boolean(p->re != NULL));
        } else if (p->kind == TK_PRE_METASPACE) {
            o = typed("Metaspace");
            put(o, "replacement", jstr_n(p->meta, p->meta_len));
            put(o, "prepend_scheme", json_object_new_string(scheme_name(p->scheme)));
            put(o, "split", json_object_new_boolean(p->meta_split));
        } else {
            o = typed("Split");
            json_object *pat = json_object_new_object();
            put(pat, p->literal ? "String" : "Regex", json_object_new_string(p->src ? p->src : ""));
            put(o, "pattern", pat);
            put(o, "behavior", json_object_new_string(behavior_names[p->behavior]));
            put(o, "invert", json_object_new_boolean(p->invert));
        }
        json_object_array_add(arr, o);
    }
    return maybe_sequence(arr, "pretokenizers");
}

static json_object *decoder(const elm_tokenizer *t)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; !t->dec_none && i < t->n_dec; i++) {
        const tk_dec *d = &t->dec[i];
        json_object *o;
        switch (d->kind) {
        case TK_DEC_BYTELEVEL:
            o = typed("ByteLevel");
            put(o, "add_prefix_space", json_object_new_boolean(1));
            put(o, "trim_offsets", json_object_new_boolean(1));
            put(o, "use_regex", json_object_new_boolean(1));
            break;
        case TK_DEC_REPLACE:
            o = typed("Replace");
            put(o, "pattern", string_pattern(d->a, d->alen));
            put(o, "content", jstr_n(d->b, d->blen));
            break;
        case TK_DEC_BYTEFALLBACK:
            o = typed("ByteFallback");
            break;
        case TK_DEC_FUSE:
            o = typed("Fuse");
            break;
        case TK_DEC_STRIP:
            o = typed("Strip");
            put(o, "content", jstr_n(d->a, d->alen));
            put(o, "start", json_object_new_int(d->start));
            put(o, "stop", json_object_new_int(d->stop));
            break;
        default: /* TK_DEC_METASPACE */
            o = typed("Metaspace");
            put(o, "replacement", jstr_n(d->a, d->alen));
            put(o, "prepend_scheme", json_object_new_string(scheme_name(d->scheme)));
            put(o, "split", json_object_new_boolean(1));
            break;
        }
        json_object_array_add(arr, o);
    }
    return maybe_sequence(arr, "decoders");
}

static const char *piece(const elm_tokenizer *t, int32_t id)
{
    return id >= 0 && id < t->n_ids && t->pieces[id] ? t->pieces[id] : NULL;
}

static void template_ids(const elm_tokenizer *t, const int32_t *ids, size_t n, int type_id, json_object *into,
                         json_object *specials)
{
    for (size_t j = 0; j < n; j++) {
        const char *s = piece(t, ids[j]);
        json_object *tok = json_object_new_object(), *in = json_object_new_object();
        put(in, "id", json_object_new_string(s ? s : ""));
        put(in, "type_id", json_object_new_int(type_id));
        put(tok, "SpecialToken", in);
        json_object_array_add(into, tok);
        if (s && !json_object_object_get_ex(specials, s, NULL)) {
            json_object *sp = json_object_new_object(), *v = json_object_new_array(), *w = json_object_new_array();
            json_object_array_add(v, json_object_new_int(ids[j]));
            json_object_array_add(w, json_object_new_string(s));
            put(sp, "id", json_object_new_string(s));
            put(sp, "ids", v);
            put(sp, "tokens", w);
            put(specials, s, sp);
        }
    }
}

/* prefix, $A or $B, suffix */
static void template_part(const elm_tokenizer *t, const char *seq_id, int type_id, json_object *into,
                          json_object *specials)
{
    template_ids(t, t->post_prefix, t->n_post_prefix, type_id, into, specials);
    json_object *seq = json_object_new_object(), *in = json_object_new_object();
    put(in, "id", json_object_new_string(seq_id));
    put(in, "type_id", json_object_new_int(type_id));
    put(seq, "Sequence", in);
    json_object_array_add(into, seq);
    template_ids(t, t->post_suffix, t->n_post_suffix, type_id, into, specials);
}

/* TemplateProcessing: the ids libelm puts around a sequence (ADD_SPECIAL);
 * a pair repeats them around the second sequence (type id 1). */
static json_object *post_processor(const elm_tokenizer *t)
{
    if (!t->n_post_prefix && !t->n_post_suffix)
        return NULL;
    json_object *single = json_object_new_array(), *pair = json_object_new_array();
    json_object *specials = json_object_new_object();
    template_part(t, "A", 0, single, specials);
    template_part(t, "A", 0, pair, specials);
    template_part(t, "B", 1, pair, specials);
    json_object *o = typed("TemplateProcessing");
    put(o, "single", single);
    put(o, "pair", pair);
    put(o, "special_tokens", specials);
    return o;
}

typedef struct { int32_t rank, merged, a, b; } merge_row;

static int merge_cmp(const void *x, const void *y)
{
    const merge_row *p = x, *q = y;
    if (p->rank != q->rank)
        return p->rank < q->rank ? -1 : 1;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return p->b < q->b ? -1 : p->b > q->b;
}

static elm_status model(const elm_tokenizer *t, json_object **out)
{
    json_object *m = typed("BPE");
    put(m, "dropout", NULL);
    const char *unk = piece(t, t->unk_id);
    put(m, "unk_token", unk ? json_object_new_string(unk) : NULL);
    put(m, "continuing_subword_prefix", NULL);
    put(m, "end_of_word_suffix", NULL);
    put(m, "fuse_unk", json_object_new_boolean(t->fuse_unk));
    put(m, "byte_fallback", json_object_new_boolean(t->byte_fallback));
    put(m, "ignore_merges", json_object_new_boolean(t->ignore_merges));
    json_object *vocab = json_object_new_object();
    for (int32_t id = 0; id < t->n_ids; id++)
        if (t->pieces[id] && tk_vocab_id(t, t->pieces[id], t->piece_len[id]) == id)
            json_object_object_add_ex(vocab, t->pieces[id], json_object_new_int(id), 0);
    put(m, "vocab", vocab);
    merge_row *rows = malloc((t->merges.n + 1) * sizeof *rows);
    if (!rows) {
        json_object_put(m);
        return elm_err(ELM_E_NOMEM, "%s: out of memory", t->source);
    }
    size_t n = 0;
    for (size_t i = 0; i < t->merges.cap; i++) {
        if (!t->merges.keys[i])
            continue;
        uint64_t k = t->merges.keys[i] - 1;
        rows[n++] = (merge_row){t->merges.rank[i], t->merges.merged[i], (int32_t)(k >> 32), (int32_t)(k & 0xFFFFFFFFu)};
    }
    qsort(rows, n, sizeof *rows, merge_cmp);
    json_object *merges = json_object_new_array_ext((int)n);
    for (size_t i = 0; i < n; i++) {
        const char *a = piece(t, rows[i].a), *b = piece(t, rows[i].b);
        if (!a || !b)
            continue;
        json_object *pr = json_object_new_array();
        json_object_array_add(pr, jstr_n(a, t->piece_len[rows[i].a]));
        json_object_array_add(pr, jstr_n(b, t->piece_len[rows[i].b]));
        json_object_array_add(merges, pr);
    }
    free(rows);
    put(m, "merges", merges);
    *out = m;
    return ELM_OK;
}

static json_object *added_entry(const tk_added *a, int with_id)
{
    json_object *o = json_object_new_object();
    if (with_id)
        put(o, "id", json_object_new_int(a->id));
    put(o, "content", jstr_n(a->text, a->len));
    put(o, "single_word", json_object_new_boolean(a->single_word));
    put(o, "lstrip", json_object_new_boolean(a->lstrip));
    put(o, "rstrip", json_object_new_boolean(a->rstrip));
    put(o, "normalized", json_object_new_boolean(a->normalized));
    put(o, "special", json_object_new_boolean(a->special));
    return o;
}

/* Added tokens by id (the loaders keep them sorted for matching). */
static size_t *added_by_id(const elm_tokenizer *t)
{
    size_t *ord = malloc((t->n_added + 1) * sizeof *ord);
    if (!ord)
        return NULL;
    for (size_t i = 0; i < t->n_added; i++)
        ord[i] = i;
    for (size_t i = 1; i < t->n_added; i++) /* insertion sort: added token lists are short */
        for (size_t j = i; j > 0 && t->added[ord[j - 1]].id > t->added[ord[j]].id; j--) {
            size_t x = ord[j];
            ord[j] = ord[j - 1];
            ord[j - 1] = x;
        }
    return ord;
}

static const char *const special_keys[4] = {"bos_token", "eos_token", "pad_token", "unk_token"};

static elm_status write_one(const char *dir, const char *name, json_object *o)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    elm_status st = p ? elm_json_write_file(p, o) : elm_err(ELM_E_NOMEM, "%s: out of memory", dir);
    free(p);
    json_object_put(o);
    return st;
}

elm_status elm_tok_save_hf(const elm_tokenizer *t, const char *dir)
{
    ELM_TRY(elm_tok_check(t, "elm_tok_save_hf"));
    size_t *ord = added_by_id(t);
    if (!ord)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", dir);
    json_object *tj = json_object_new_object(), *m = NULL;
    put(tj, "version", json_object_new_string("1.0"));
    put(tj, "truncation", NULL);
    put(tj, "padding", NULL);
    json_object *added = json_object_new_array(), *decoder_map = json_object_new_object();
    for (size_t i = 0; i < t->n_added; i++) {
        const tk_added *a = &t->added[ord[i]];
        char key[16];
        snprintf(key, sizeof key, "%d", (int)a->id);
        if (json_object_object_get_ex(decoder_map, key, NULL))
            continue; /* one entry per id, as HF keeps */
        json_object_array_add(added, added_entry(a, 1));
        put(decoder_map, key, added_entry(a, 0));
    }
    free(ord);
    put(tj, "added_tokens", added);
    put(tj, "normalizer", normalizer(t));
    put(tj, "pre_tokenizer", pre_tokenizer(t));
    elm_status st = model(t, &m);
    if (st != ELM_OK) {
        json_object_put(tj);
        json_object_put(decoder_map);
        return st;
    }
    put(tj, "model", m);
    put(tj, "post_processor", post_processor(t));
    put(tj, "decoder", decoder(t));

    json_object *cfg = json_object_new_object(), *map = json_object_new_object();
    put(cfg, "added_tokens_decoder", decoder_map);
    for (int i = 0; i < 4; i++) {
        const char *s = piece(t, t->special[i]);
        put(cfg, special_keys[i], s ? json_object_new_string(s) : NULL);
        if (s)
            put(map, special_keys[i], json_object_new_string(s));
    }
    if (t->chat_template)
        put(cfg, "chat_template", json_object_new_string(t->chat_template));
    put(cfg, "clean_up_tokenization_spaces", json_object_new_boolean(0));
    put(cfg, "tokenizer_class", json_object_new_string("PreTrainedTokenizerFast"));

    st = write_one(dir, "tokenizer.json", tj);
    if (st == ELM_OK)
        st = write_one(dir, "tokenizer_config.json", cfg);
    else
        json_object_put(cfg);
    if (st == ELM_OK)
        st = write_one(dir, "special_tokens_map.json", map);
    else
        json_object_put(map);
    return st;
}
