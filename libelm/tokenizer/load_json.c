/* Loading Hugging Face tokenizer.json (+ tokenizer_config.json). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/str.h"
#include "io/json.h"
#include "tokenizer/nfc.h"
#include "tokenizer/tk_internal.h"

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int jbool(json_object *o, const char *key, int def)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return def;
    return json_object_get_boolean(v);
}

static json_object *jget(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return NULL;
    return v;
}


/* pattern: {"String": s} or {"Regex": r} */
static elm_status get_pattern(const char *ctx, json_object *o, const char **s, int *is_regex)
{
    json_object *p = jget(o, "pattern");
    if (p && json_object_is_type(p, json_type_string)) {
        *s = json_object_get_string(p);
        *is_regex = 0;
        return ELM_OK;
    }
    if ((*s = jstr(p, "String"))) {
        *is_regex = 0;
        return ELM_OK;
    }
    if ((*s = jstr(p, "Regex"))) {
        *is_regex = 1;
        return ELM_OK;
    }
    return elm_err(ELM_E_FORMAT, "%s: field 'pattern': expected {\"String\": ...} or {\"Regex\": ...}", ctx);
}

static elm_status prepend_scheme(const char *ctx, json_object *o, tk_prepend_scheme *out)
{
    const char *ps = jstr(o, "prepend_scheme");
    if (!ps) { /* older files: add_prefix_space */
        *out = jbool(o, "add_prefix_space", 1) ? TK_PREPEND_ALWAYS : TK_PREPEND_NEVER;
        return ELM_OK;
    }
    if (!strcmp(ps, "first"))
        *out = TK_PREPEND_FIRST;
    else if (!strcmp(ps, "always"))
        *out = TK_PREPEND_ALWAYS;
    else if (!strcmp(ps, "never"))
        *out = TK_PREPEND_NEVER;
    else
        return elm_err(ELM_E_FORMAT, "%s: Metaspace prepend_scheme '%s' (expected first|always|never)", ctx, ps);
    return ELM_OK;
}

/* ---- normalizer --------------------------------------------------------- */

static elm_status add_norm(elm_tokenizer *t, tk_norm n)
{
    tk_norm *v = realloc(t->norm, (t->n_norm + 1) * sizeof *v);
    if (!v)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", t->source);
    t->norm = v;
    v[t->n_norm++] = n;
    return ELM_OK;
}

static elm_status load_normalizer(elm_tokenizer *t, const char *ctx, json_object *o)
{
    if (!o)
        return ELM_OK;
    const char *type = jstr(o, "type");
    if (!type)
        return elm_err(ELM_E_FORMAT, "%s: normalizer: field 'type' missing", ctx);
    if (!strcmp(type, "Sequence")) {
        json_object *arr = jget(o, "normalizers");
        size_t n = arr ? json_object_array_length(arr) : 0;
        for (size_t i = 0; i < n; i++)
            ELM_TRY(load_normalizer(t, ctx, json_object_array_get_idx(arr, i)));
        return ELM_OK;
    }
    tk_norm nn = {0};
    if (!strcmp(type, "NFC")) {
        nn.kind = TK_NORM_NFC;
    } else if (!strcmp(type, "Prepend")) {
        const char *p = jstr(o, "prepend");
        if (!p)
            return elm_err(ELM_E_FORMAT, "%s: normalizer Prepend: field 'prepend' missing", ctx);
        nn.kind = TK_NORM_PREPEND;
        nn.alen = strlen(p);
        nn.a = elm_str_dupn(p, nn.alen);
    } else if (!strcmp(type, "Replace")) {
        const char *p, *c = jstr(o, "content");
        int re;
        ELM_TRY(get_pattern(ctx, o, &p, &re));
        if (re)
            return elm_err(ELM_E_UNSUPPORTED, "%s: normalizer Replace with a Regex pattern ('%s') is not supported",
                           ctx, p);
        if (!c)
            return elm_err(ELM_E_FORMAT, "%s: normalizer Replace: field 'content' missing", ctx);
        nn.kind = TK_NORM_REPLACE;
        nn.alen = strlen(p);
        nn.a = elm_str_dupn(p, nn.alen);
        nn.blen = strlen(c);
        nn.b = elm_str_dupn(c, nn.blen);
    } else {
        return elm_err(ELM_E_UNSUPPORTED,
                       "%s: normalizer type '%s' is not supported (supported: Sequence, NFC, Prepend, Replace)", ctx,
                       type);
    }
    if ((nn.kind != TK_NORM_NFC && !nn.a) || (nn.kind == TK_NORM_REPLACE && !nn.b))
        return elm_err(ELM_E_NOMEM, "%s: out of memory", ctx);
    return add_norm(t, nn);
}

/* ---- pre-tokenizer ------------------------------------------------------ */

static elm_status add_pre(elm_tokenizer *t, tk_pre p)
{
    tk_pre *v = realloc(t->pre, (t->n_pre + 1) * sizeof *v);
    if (!v) {
        if (p.re)
            pcre2_code_free(p.re);
        free(p.src);
        return elm_err(ELM_E_NOMEM, "%s: out of memory", t->source);
    }
    t->pre = v;
    v[t->n_pre++] = p;
    return ELM_OK;
}

static elm_status behavior(const char *ctx, const char *b, tk_split_behavior *out)
{
    if (!b || !strcmp(b, "Isolated"))
        *out = TK_SPLIT_ISOLATED;
    else if (!strcmp(b, "Removed"))
        *out = TK_SPLIT_REMOVED;
    else if (!strcmp(b, "MergedWithPrevious"))
        *out = TK_SPLIT_MERGED_PREV;
    else if (!strcmp(b, "MergedWithNext"))
        *out = TK_SPLIT_MERGED_NEXT;
    else if (!strcmp(b, "Contiguous"))
        *out = TK_SPLIT_CONTIGUOUS;
    else
        return elm_err(ELM_E_FORMAT, "%s: Split behavior '%s' unknown", ctx, b);
    return ELM_OK;
}

elm_status tk_add_pre_bytelevel(elm_tokenizer *t, int add_prefix_space, int use_regex);
elm_status tk_add_pre_bytelevel(elm_tokenizer *t, int add_prefix_space, int use_regex)
{
    tk_pre p = {0};
    p.kind = TK_PRE_BYTELEVEL;
    p.add_prefix_space = add_prefix_space;
    p.behavior = TK_SPLIT_ISOLATED;
    if (use_regex)
        ELM_TRY(tk_compile_regex(t->source, tk_gpt2_regex, 0, &p));
    t->byte_level = 1;
    return add_pre(t, p);
}

elm_status tk_add_pre_split(elm_tokenizer *t, const char *pattern, int literal, tk_split_behavior b, int invert);
elm_status tk_add_pre_split(elm_tokenizer *t, const char *pattern, int literal, tk_split_behavior b, int invert)
{
    tk_pre p = {0};
    p.kind = TK_PRE_SPLIT;
    p.behavior = b;
    p.invert = invert;
    ELM_TRY(tk_compile_regex(t->source, pattern, literal, &p));
    return add_pre(t, p);
}

static elm_status load_pre(elm_tokenizer *t, const char *ctx, json_object *o)
{
    if (!o)
        return ELM_OK;
    const char *type = jstr(o, "type");
    if (!type)
        return elm_err(ELM_E_FORMAT, "%s: pre_tokenizer: field 'type' missing", ctx);
    if (t->n_pre && t->pre[t->n_pre - 1].kind == TK_PRE_BYTELEVEL)
        return elm_err(ELM_E_UNSUPPORTED, "%s: pre_tokenizer '%s' after ByteLevel is not supported", ctx, type);
    if (!strcmp(type, "Sequence")) {
        json_object *arr = jget(o, "pretokenizers");
        size_t n = arr ? json_object_array_length(arr) : 0;
        for (size_t i = 0; i < n; i++)
            ELM_TRY(load_pre(t, ctx, json_object_array_get_idx(arr, i)));
        return ELM_OK;
    }
    if (!strcmp(type, "ByteLevel"))
        return tk_add_pre_bytelevel(t, jbool(o, "add_prefix_space", 1), jbool(o, "use_regex", 1));
    if (!strcmp(type, "Split")) {
        const char *p;
        int re;
        tk_split_behavior b = TK_SPLIT_ISOLATED;
        ELM_TRY(get_pattern(ctx, o, &p, &re));
        ELM_TRY(behavior(ctx, jstr(o, "behavior"), &b));
        return tk_add_pre_split(t, p, !re, b, jbool(o, "invert", 0));
    }
    if (!strcmp(type, "Digits"))
        return tk_add_pre_split(t, jbool(o, "individual_digits", 0) ? "\\p{N}" : "\\p{N}+", 0, TK_SPLIT_ISOLATED, 0);
    if (!strcmp(type, "Metaspace")) {
        tk_pre p = {0};
        p.kind = TK_PRE_METASPACE;
        const char *r = jstr(o, "replacement");
        if (!r)
            r = "\xE2\x96\x81";
        p.meta_len = strlen(r);
        if (p.meta_len == 0 || p.meta_len >= sizeof p.meta)
            return elm_err(ELM_E_FORMAT, "%s: Metaspace replacement must be one character", ctx);
        memcpy(p.meta, r, p.meta_len);
        ELM_TRY(prepend_scheme(ctx, o, &p.scheme));
        p.meta_split = jbool(o, "split", 1);
        return add_pre(t, p);
    }
    return elm_err(ELM_E_UNSUPPORTED,
                   "%s: pre_tokenizer type '%s' is not supported (supported: Sequence, Split, ByteLevel, Digits, "
                   "Metaspace)",
                   ctx, type);
}

/* ---- post-processor ----------------------------------------------------- */

static elm_status push_ids(int32_t **v, size_t *n, int32_t id)
{
    int32_t *nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv)
        return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");
    nv[(*n)++] = id;
    *v = nv;
    return ELM_OK;
}

static elm_status load_post(elm_tokenizer *t, const char *ctx, json_object *o)
{
    if (!o)
        return ELM_OK;
    const char *type = jstr(o, "type");
    if (!type)
        return elm_err(ELM_E_FORMAT, "%s: post_processor: field 'type' missing", ctx);
    if (!strcmp(type, "Sequence")) {
        json_object *arr = jget(o, "processors");
        size_t n = arr ? json_object_array_length(arr) : 0;
        for (size_t i = 0; i < n; i++)
            ELM_TRY(load_post(t, ctx, json_object_array_get_idx(arr, i)));
        return ELM_OK;
    }
    if (!strcmp(type, "ByteLevel"))
        return ELM_OK; /* offsets only */
    if (!strcmp(type, "RobertaProcessing") || !strcmp(type, "BertProcessing")) {
        json_object *cls = jget(o, "cls"), *sep = jget(o, "sep");
        if (!cls || !sep || json_object_array_length(cls) < 2 || json_object_array_length(sep) < 2)
            return elm_err(ELM_E_FORMAT, "%s: post_processor %s: fields 'cls'/'sep' must be [token, id]", ctx, type);
        ELM_TRY(push_ids(&t->post_prefix, &t->n_post_prefix,
                         json_object_get_int(json_object_array_get_idx(cls, 1))));
        return push_ids(&t->post_suffix, &t->n_post_suffix, json_object_get_int(json_object_array_get_idx(sep, 1)));
    }
    if (!strcmp(type, "TemplateProcessing")) {
        json_object *single = jget(o, "single"), *sp = jget(o, "special_tokens");
        size_t n = single ? json_object_array_length(single) : 0;
        int seen_a = 0;
        for (size_t i = 0; i < n; i++) {
            json_object *it = json_object_array_get_idx(single, i), *x;
            if (jget(it, "Sequence")) {
                seen_a = 1;
                continue;
            }
            if (!(x = jget(it, "SpecialToken")))
                return elm_err(ELM_E_FORMAT, "%s: post_processor TemplateProcessing: item %zu of 'single'", ctx, i);
            const char *name = jstr(x, "id");
            json_object *def = name ? jget(sp, name) : NULL, *ids = jget(def, "ids");
            if (!ids)
                return elm_err(ELM_E_FORMAT, "%s: post_processor: special token '%s' not in 'special_tokens'", ctx,
                               name ? name : "?");
            for (size_t k = 0; k < json_object_array_length(ids); k++) {
                int32_t id = json_object_get_int(json_object_array_get_idx(ids, k));
                if (seen_a)
                    ELM_TRY(push_ids(&t->post_suffix, &t->n_post_suffix, id));
                else
                    ELM_TRY(push_ids(&t->post_prefix, &t->n_post_prefix, id));
            }
        }
        return ELM_OK;
    }
    return elm_err(ELM_E_UNSUPPORTED,
                   "%s: post_processor type '%s' is not supported (supported: TemplateProcessing, ByteLevel, "
                   "RobertaProcessing, BertProcessing, Sequence)",
                   ctx, type);
}

/* ---- decoder ------------------------------------------------------------ */

static elm_status add_dec(elm_tokenizer *t, tk_dec d)
{
    tk_dec *v = realloc(t->dec, (t->n_dec + 1) * sizeof *v);
    if (!v)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", t->source);
    t->dec = v;
    v[t->n_dec++] = d;
    return ELM_OK;
}

elm_status tk_add_dec_simple(elm_tokenizer *t, int kind);
elm_status tk_add_dec_simple(elm_tokenizer *t, int kind)
{
    tk_dec d = {0};
    d.kind = (tk_dec_kind)kind;
    return add_dec(t, d);
}

static elm_status load_dec(elm_tokenizer *t, const char *ctx, json_object *o)
{
    if (!o)
        return ELM_OK;
    const char *type = jstr(o, "type");
    if (!type)
        return elm_err(ELM_E_FORMAT, "%s: decoder: field 'type' missing", ctx);
    tk_dec d = {0};
    if (!strcmp(type, "Sequence")) {
        json_object *arr = jget(o, "decoders");
        size_t n = arr ? json_object_array_length(arr) : 0;
        for (size_t i = 0; i < n; i++)
            ELM_TRY(load_dec(t, ctx, json_object_array_get_idx(arr, i)));
        return ELM_OK;
    }
    if (!strcmp(type, "ByteLevel"))
        d.kind = TK_DEC_BYTELEVEL;
    else if (!strcmp(type, "ByteFallback"))
        d.kind = TK_DEC_BYTEFALLBACK;
    else if (!strcmp(type, "Fuse"))
        d.kind = TK_DEC_FUSE;
    else if (!strcmp(type, "Replace")) {
        const char *p, *c = jstr(o, "content");
        int re;
        ELM_TRY(get_pattern(ctx, o, &p, &re));
        if (re || !c)
            return elm_err(ELM_E_UNSUPPORTED, "%s: decoder Replace needs a String pattern and 'content'", ctx);
        d.kind = TK_DEC_REPLACE;
        d.alen = strlen(p);
        d.a = elm_str_dupn(p, d.alen);
        d.blen = strlen(c);
        d.b = elm_str_dupn(c, d.blen);
        if (!d.a || !d.b)
            return elm_err(ELM_E_NOMEM, "%s: out of memory", ctx);
    } else if (!strcmp(type, "Strip")) {
        const char *c = jstr(o, "content");
        d.kind = TK_DEC_STRIP;
        d.alen = c ? strlen(c) : 1;
        d.a = elm_str_dupn(c ? c : " ", d.alen);
        json_object *v;
        d.start = (v = jget(o, "start")) ? json_object_get_int(v) : 0;
        d.stop = (v = jget(o, "stop")) ? json_object_get_int(v) : 0;
        if (!d.a)
            return elm_err(ELM_E_NOMEM, "%s: out of memory", ctx);
    } else if (!strcmp(type, "Metaspace")) {
        const char *r = jstr(o, "replacement");
        d.kind = TK_DEC_METASPACE;
        d.alen = strlen(r ? r : "\xE2\x96\x81");
        d.a = elm_str_dupn(r ? r : "\xE2\x96\x81", d.alen);
        ELM_TRY(prepend_scheme(ctx, o, &d.scheme));
        if (!d.a)
            return elm_err(ELM_E_NOMEM, "%s: out of memory", ctx);
    } else
        return elm_err(ELM_E_UNSUPPORTED,
                       "%s: decoder type '%s' is not supported (supported: Sequence, ByteLevel, ByteFallback, Fuse, "
                       "Replace, Strip, Metaspace)",
                       ctx, type);
    return add_dec(t, d);
}

/* ---- model -------------------------------------------------------------- */

/* vocabulary key of a piece: raw bytes for byte-level vocabularies */
static elm_status put_vocab(elm_tokenizer *t, const char *piece, size_t n, int32_t id)
{
    ELM_TRY(tk_set_piece(t, id, piece, n));
    if (t->byte_level) {
        char *raw;
        size_t rl;
        if (tk_bytelevel_unmap(piece, n, &raw, &rl)) {
            elm_status st = tk_map_put(&t->vocab, raw, rl, id);
            free(raw);
            return st;
        }
    }
    return tk_map_put(&t->vocab, piece, n, id);
}

elm_status tk_vocab_put(elm_tokenizer *t, const char *piece, size_t n, int32_t id);
elm_status tk_vocab_put(elm_tokenizer *t, const char *piece, size_t n, int32_t id) { return put_vocab(t, piece, n, id); }

int32_t tk_vocab_id(const elm_tokenizer *t, const char *piece, size_t n)
{
    if (t->byte_level) {
        char *raw;
        size_t rl;
        if (tk_bytelevel_unmap(piece, n, &raw, &rl)) {
            int32_t id = tk_map_get(&t->vocab, raw, rl);
            free(raw);
            return id;
        }
    }
    return tk_map_get(&t->vocab, piece, n);
}

/* merge (a, b) with rank; both parts and their concatenation must exist */
elm_status tk_add_merge(elm_tokenizer *t, const char *ctx, const char *a, size_t al, const char *b, size_t bl,
                        int32_t rank);
elm_status tk_add_merge(elm_tokenizer *t, const char *ctx, const char *a, size_t al, const char *b, size_t bl,
                        int32_t rank)
{
    int32_t ia = tk_vocab_id(t, a, al), ib = tk_vocab_id(t, b, bl);
    char *ab = malloc(al + bl + 1);
    if (!ab)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", ctx);
    if (al) /* an empty part may come as NULL */
        memcpy(ab, a, al);
    if (bl)
        memcpy(ab + al, b, bl);
    int32_t iab = tk_vocab_id(t, ab, al + bl);
    free(ab);
    if (ia < 0 || ib < 0 || iab < 0)
        return elm_err(ELM_E_FORMAT, "%s: merge %d ('%.*s %.*s'): token not in the vocabulary", ctx, (int)rank,
                       (int)al, a, (int)bl, b);
    return tk_pairmap_put(&t->merges, ia, ib, rank, iab);
}

/* <0xNN> ids for byte fallback */
void tk_find_byte_tokens(elm_tokenizer *t);
void tk_find_byte_tokens(elm_tokenizer *t)
{
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        t->byte_tok[b] = tk_map_get(&t->vocab, name, 6);
    }
}

static elm_status load_model(elm_tokenizer *t, const char *ctx, json_object *m)
{
    const char *type = jstr(m, "type");
    if (!type) {
        if (jget(m, "merges"))
            type = "BPE";
        else
            return elm_err(ELM_E_FORMAT, "%s: model: field 'type' missing", ctx);
    }
    if (strcmp(type, "BPE"))
        return elm_err(ELM_E_UNSUPPORTED, "%s: model type '%s' is not supported (only BPE)", ctx, type);
    json_object *v;
    if ((v = jget(m, "dropout")) && json_object_get_double(v) != 0.0)
        return elm_err(ELM_E_UNSUPPORTED, "%s: BPE dropout is not supported", ctx);
    const char *csp = jstr(m, "continuing_subword_prefix"), *eow = jstr(m, "end_of_word_suffix");
    if ((csp && *csp) || (eow && *eow))
        return elm_err(ELM_E_UNSUPPORTED, "%s: BPE continuing_subword_prefix/end_of_word_suffix are not supported",
                       ctx);
    t->byte_fallback = jbool(m, "byte_fallback", 0);
    t->fuse_unk = jbool(m, "fuse_unk", 0);
    t->ignore_merges = jbool(m, "ignore_merges", 0);
    json_object *vocab = jget(m, "vocab");
    if (!vocab || !json_object_is_type(vocab, json_type_object))
        return elm_err(ELM_E_FORMAT, "%s: model: field 'vocab' missing or not an object", ctx);
    json_object_object_foreach(vocab, key, val)
    {
        if (!json_object_is_type(val, json_type_int))
            return elm_err(ELM_E_FORMAT, "%s: model.vocab['%s']: expected integer", ctx, key);
        ELM_TRY(put_vocab(t, key, strlen(key), json_object_get_int(val)));
    }
    json_object *merges = jget(m, "merges");
    size_t nm = merges ? json_object_array_length(merges) : 0;
    for (size_t i = 0; i < nm; i++) {
        json_object *e = json_object_array_get_idx(merges, i);
        if (json_object_is_type(e, json_type_string)) {
            const char *s = json_object_get_string(e);
            const char *sp = strchr(s, ' ');
            if (!sp || strchr(sp + 1, ' '))
                return elm_err(ELM_E_FORMAT, "%s: model.merges[%zu]: expected 'a b'", ctx, i);
            ELM_TRY(tk_add_merge(t, ctx, s, (size_t)(sp - s), sp + 1, strlen(sp + 1), (int32_t)i));
        } else if (json_object_is_type(e, json_type_array) && json_object_array_length(e) == 2) {
            json_object *a = json_object_array_get_idx(e, 0), *b = json_object_array_get_idx(e, 1);
            if (!json_object_is_type(a, json_type_string) || !json_object_is_type(b, json_type_string))
                return elm_err(ELM_E_FORMAT, "%s: model.merges[%zu]: expected two strings", ctx, i);
            ELM_TRY(tk_add_merge(t, ctx, json_object_get_string(a), (size_t)json_object_get_string_len(a),
                                 json_object_get_string(b), (size_t)json_object_get_string_len(b), (int32_t)i));
        } else
            return elm_err(ELM_E_FORMAT, "%s: model.merges[%zu]: expected 'a b' or [a, b]", ctx, i);
    }
    const char *unk = jstr(m, "unk_token");
    if (unk) {
        t->unk_id = tk_map_get(&t->vocab, unk, strlen(unk));
        if (t->unk_id < 0)
            t->unk_id = tk_vocab_id(t, unk, strlen(unk));
    }
    if (t->byte_fallback)
        tk_find_byte_tokens(t);
    return ELM_OK;
}

/* does a pre-tokenizer (tree) contain ByteLevel? */
static int has_type(json_object *o, const char *list_key, const char *type)
{
    if (!o)
        return 0;
    const char *ty = jstr(o, "type");
    if (ty && !strcmp(ty, type))
        return 1;
    json_object *arr = jget(o, list_key);
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
        if (has_type(json_object_array_get_idx(arr, i), list_key, type))
            return 1;
    return 0;
}

/* bos_token etc. in tokenizer_config.json: string or {"content": ...} */
static const char *config_token(json_object *cfg, const char *key)
{
    json_object *v = jget(cfg, key);
    if (!v)
        return NULL;
    if (json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return jstr(v, "content");
}

static elm_status load_config(elm_tokenizer *t, const char *path)
{
    json_object *cfg;
    ELM_TRY(elm_json_parse_file(path, &cfg));
    elm_status st = ELM_OK;
    json_object *ct = jget(cfg, "chat_template");
    const char *tmpl = NULL;
    if (ct && json_object_is_type(ct, json_type_string))
        tmpl = json_object_get_string(ct);
    else if (ct && json_object_is_type(ct, json_type_array)) { /* [{name, template}]: the "default" one */
        for (size_t i = 0; i < json_object_array_length(ct); i++) {
            json_object *e = json_object_array_get_idx(ct, i);
            const char *nm = jstr(e, "name");
            if (nm && !strcmp(nm, "default"))
                tmpl = jstr(e, "template");
        }
    }
    if (tmpl && !(t->chat_template = strdup(tmpl)))
        st = elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    static const char *const keys[4] = {"bos_token", "eos_token", "pad_token", "unk_token"};
    for (int i = 0; i < 4 && st == ELM_OK; i++) {
        const char *name = config_token(cfg, keys[i]);
        if (name) {
            int32_t id = elm_tok_find(t, name);
            if (id >= 0)
                t->special[i] = id;
        }
    }
    /* Llama tokenizers in transformers rebuild the post-processor from
     * add_bos_token / add_eos_token; others keep tokenizer.json's. */
    const char *cls = jstr(cfg, "tokenizer_class");
    json_object *ab = jget(cfg, "add_bos_token"), *ae = jget(cfg, "add_eos_token");
    if (st == ELM_OK && cls && strstr(cls, "Llama") && (ab || ae)) {
        t->n_post_prefix = t->n_post_suffix = 0;
        if (ab && json_object_get_boolean(ab) && t->special[ELM_TOKEN_BOS] >= 0)
            st = push_ids(&t->post_prefix, &t->n_post_prefix, t->special[ELM_TOKEN_BOS]);
        if (st == ELM_OK && ae && json_object_get_boolean(ae) && t->special[ELM_TOKEN_EOS] >= 0)
            st = push_ids(&t->post_suffix, &t->n_post_suffix, t->special[ELM_TOKEN_EOS]);
    }
    json_object_put(cfg);
    return st;
}

elm_status elm_tok_load_json(const char *path, const char *config_path, elm_tokenizer **out)
{
    json_object *root;
    ELM_TRY(elm_json_parse_file(path, &root));
    elm_tokenizer *t = tk_alloc(path);
    if (!t) {
        json_object_put(root);
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    }
    elm_status st = ELM_OK;
    json_object *model = jget(root, "model");
    if (!model)
        st = elm_err(ELM_E_FORMAT, "%s: field 'model' missing", path);
    json_object *pre = jget(root, "pre_tokenizer");
    if (st == ELM_OK)
        t->byte_level = has_type(pre, "pretokenizers", "ByteLevel");
    if (st == ELM_OK)
        st = load_normalizer(t, path, jget(root, "normalizer"));
    if (st == ELM_OK)
        st = load_pre(t, path, pre);
    if (st == ELM_OK)
        st = load_model(t, path, model);
    json_object *added = jget(root, "added_tokens");
    for (size_t i = 0; st == ELM_OK && added && i < json_object_array_length(added); i++) {
        json_object *a = json_object_array_get_idx(added, i), *idv = jget(a, "id"), *cv = jget(a, "content");
        if (!idv || !cv || !json_object_is_type(cv, json_type_string)) {
            st = elm_err(ELM_E_FORMAT, "%s: added_tokens[%zu]: fields 'id' and 'content' required", path, i);
            break;
        }
        /* Ids continue the vocabulary: an id far beyond it would only make
         * the id tables as large as the number claimed. Allowed: below the
         * vocabulary's size + the number of added tokens + 65536 of slack. */
        int64_t lim = (int64_t)t->n_ids + (int64_t)json_object_array_length(added) + 65536;
        int64_t id = json_object_get_int64(idv);
        if (!json_object_is_type(idv, json_type_int) || id < 0 || id >= lim) {
            st = elm_err(ELM_E_FORMAT,
                         "%s: added_tokens[%zu]: field 'id' must be an integer in [0, %lld) (the vocabulary has %d ids), got %s",
                         path, i, (long long)lim, (int)t->n_ids, json_object_to_json_string(idv));
            break;
        }
        int special = jbool(a, "special", 0);
        st = tk_add_added(t, json_object_get_string(cv), (size_t)json_object_get_string_len(cv), (int32_t)id, special,
                          jbool(a, "lstrip", 0), jbool(a, "rstrip", 0), jbool(a, "single_word", 0),
                          jbool(a, "normalized", !special));
    }
    if (st == ELM_OK)
        st = load_post(t, path, jget(root, "post_processor"));
    json_object *dec = jget(root, "decoder");
    if (st == ELM_OK) {
        t->dec_none = dec == NULL;
        st = load_dec(t, path, dec);
    }
    if (st == ELM_OK)
        st = tk_finish(t);
    json_object_put(root);
    if (st == ELM_OK) {
        /* specials without a config: the template's tokens */
        if (t->n_post_prefix)
            t->special[ELM_TOKEN_BOS] = t->post_prefix[0];
        if (t->n_post_suffix)
            t->special[ELM_TOKEN_EOS] = t->post_suffix[t->n_post_suffix - 1];
        if (config_path)
            st = load_config(t, config_path);
    }
    if (st != ELM_OK) {
        elm_tokenizer_unref(t);
        return st;
    }
    *out = t;
    return ELM_OK;
}
