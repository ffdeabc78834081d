/* Tokenizer object: hash maps, reference counting, per-id tables, regex
 * compilation and the byte-level alphabet. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/utf8.h"
#include "tokenizer/nfc.h"
#include "tokenizer/tk_internal.h"

/* ---- hash maps ---------------------------------------------------------- */

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static elm_status map_grow(tk_map *m)
{
    size_t nc = m->cap ? m->cap * 2 : 64;
    char **nk = calloc(nc, sizeof *nk);
    uint32_t *nl = calloc(nc, sizeof *nl);
    int32_t *nv = calloc(nc, sizeof *nv);
    if (!nk || !nl || !nv) {
        free(nk);
        free(nl);
        free(nv);
        return elm_err(ELM_E_NOMEM, "tokenizer: out of memory (hash map of %zu)", nc);
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = hash_bytes(m->keys[i], m->klen[i]) & (nc - 1);
        while (nk[j])
            j = (j + 1) & (nc - 1);
        nk[j] = m->keys[i];
        nl[j] = m->klen[i];
        nv[j] = m->vals[i];
    }
    free(m->keys);
    free(m->klen);
    free(m->vals);
    m->keys = nk;
    m->klen = nl;
    m->vals = nv;
    m->cap = nc;
    return ELM_OK;
}

elm_status tk_map_put(tk_map *m, const char *k, size_t klen, int32_t v)
{
    if ((m->n + 1) * 2 > m->cap)
        ELM_TRY(map_grow(m));
    size_t j = hash_bytes(k, klen) & (m->cap - 1);
    while (m->keys[j]) {
        if (m->klen[j] == klen && memcmp(m->keys[j], k, klen) == 0) {
            m->vals[j] = v;
            return ELM_OK;
        }
        j = (j + 1) & (m->cap - 1);
    }
    char *c = malloc(klen + 1);
    if (!c)
        return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");
    memcpy(c, k, klen);
    c[klen] = 0;
    m->keys[j] = c;
    m->klen[j] = (uint32_t)klen;
    m->vals[j] = v;
    m->n++;
    return ELM_OK;
}

int32_t tk_map_get(const tk_map *m, const char *k, size_t klen)
{
    if (!m->cap)
        return -1;
    size_t j = hash_bytes(k, klen) & (m->cap - 1);
    while (m->keys[j]) {
        if (m->klen[j] == klen && memcmp(m->keys[j], k, klen) == 0)
            return m->vals[j];
        j = (j + 1) & (m->cap - 1);
    }
    return -1;
}

void tk_map_free(tk_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->klen);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static uint64_t hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

elm_status tk_pairmap_put(tk_pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t merged)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 1024;
        uint64_t *nk = calloc(nc, sizeof *nk);
        int32_t *nr = malloc(nc * sizeof *nr), *nm = malloc(nc * sizeof *nm);
        if (!nk || !nr || !nm) {
            free(nk);
            free(nr);
            free(nm);
            return elm_err(ELM_E_NOMEM, "tokenizer: out of memory (merges)");
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i])
                continue;
            size_t j = hash_u64(m->keys[i]) & (nc - 1);
            while (nk[j])
                j = (j + 1) & (nc - 1);
            nk[j] = m->keys[i];
            nr[j] = m->rank[i];
            nm[j] = m->merged[i];
        }
        free(m->keys);
        free(m->rank);
        free(m->merged);
        m->keys = nk;
        m->rank = nr;
        m->merged = nm;
        m->cap = nc;
    }
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    size_t j = hash_u64(key) & (m->cap - 1);
    while (m->keys[j]) {
        if (m->keys[j] == key)
            return ELM_OK; /* first (lowest rank) wins, as in HF */
        j = (j + 1) & (m->cap - 1);
    }
    m->keys[j] = key;
    m->rank[j] = rank;
    m->merged[j] = merged;
    m->n++;
    return ELM_OK;
}

int tk_pairmap_get(const tk_pairmap *m, int32_t a, int32_t b, int32_t *rank, int32_t *merged)
{
    if (!m->cap)
        return 0;
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    size_t j = hash_u64(key) & (m->cap - 1);
    while (m->keys[j]) {
        if (m->keys[j] == key) {
            *rank = m->rank[j];
            *merged = m->merged[j];
            return 1;
        }
        j = (j + 1) & (m->cap - 1);
    }
    return 0;
}

void tk_pairmap_free(tk_pairmap *m)
{
    free(m->keys);
    free(m->rank);
    free(m->merged);
    memset(m, 0, sizeof *m);
}

/* ---- byte-level alphabet (GPT-2's bytes_to_unicode) --------------------- */

static uint16_t byte_cp[256];
static int16_t cp_byte[324];
static pthread_once_t alphabet_once = PTHREAD_ONCE_INIT;

static void alphabet_init(void)
{
    int n = 0;
    for (int b = 0; b < 256; b++) {
        if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)
            byte_cp[b] = (uint16_t)b;
        else
            byte_cp[b] = (uint16_t)(256 + n++);
    }
    for (int i = 0; i < 324; i++)
        cp_byte[i] = -1;
    for (int b = 0; b < 256; b++)
        cp_byte[byte_cp[b]] = (int16_t)b;
}

int tk_cp_to_byte(uint32_t cp)
{
    pthread_once(&alphabet_once, alphabet_init);
    return cp < 324 ? cp_byte[cp] : -1;
}

static uint32_t byte_to_cp(unsigned b)
{
    pthread_once(&alphabet_once, alphabet_init);
    return byte_cp[b];
}

int tk_bytelevel_unmap(const char *s, size_t n, char **out, size_t *out_len)
{
    char *o = malloc(n + 1);
    if (!o)
        return 0;
    size_t k = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t l = elm_utf8_seq_len(u + i, n - i);
        if (!l) {
            free(o);
            return 0;
        }
        size_t dl;
        int b = tk_cp_to_byte(tk_utf8_decode(u + i, &dl));
        if (b < 0) {
            free(o);
            return 0;
        }
        o[k++] = (char)b;
        i += l;
    }
    o[k] = 0;
    *out = o;
    *out_len = k;
    return 1;
}

/* byte-level form of raw bytes (for pieces of GGUF/added tokens); malloc'd */
char *tk_bytelevel_map(const char *s, size_t n, size_t *out_len);
char *tk_bytelevel_map(const char *s, size_t n, size_t *out_len)
{
    char *o = malloc(n * 2 + 1);
    if (!o)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += tk_utf8_encode(byte_to_cp((unsigned char)s[i]), o + k);
    o[k] = 0;
    *out_len = k;
    return o;
}

/* ---- regexes ------------------------------------------------------------ */

const char *const tk_gpt2_regex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const char *const tk_llama3_regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char *const tk_qwen2_regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* HF's regexes run in Oniguruma, whose \s is Unicode White_Space; PCRE2's
 * UCP \s also matches U+180E. Spell \s / \S out so both agree. */
#define WS_SET "\\t\\n\\x{0B}\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

static char *rewrite_ws(const char *p)
{
    size_t n = strlen(p);
    char *o = malloc(n * 40 + 1);
    if (!o)
        return NULL;
    size_t k = 0;
    int in_class = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\' && i + 1 < n) {
            char c = p[i + 1];
            if (c == 's' || (c == 'S' && !in_class)) {
                const char *rep = in_class ? WS_SET : (c == 's' ? "[" WS_SET "]" : "[^" WS_SET "]");
                size_t rl = strlen(rep);
                memcpy(o + k, rep, rl);
                k += rl;
            } else {
                o[k++] = p[i];
                o[k++] = c;
            }
            i++;
            continue;
        }
        if (p[i] == '[' && !in_class) {
            in_class = 1;
            o[k++] = p[i];
            if (i + 1 < n && p[i + 1] == '^')
                o[k++] = p[++i];
            if (i + 1 < n && p[i + 1] == ']')
                o[k++] = p[++i];
            continue;
        }
        if (p[i] == ']' && in_class)
            in_class = 0;
        o[k++] = p[i];
    }
    o[k] = 0;
    return o;
}

elm_status tk_compile_regex(const char *ctx, const char *pattern, int literal, tk_pre *p)
{
    int err;
    PCRE2_SIZE off;
    char *pat = literal ? strdup(pattern) : rewrite_ws(pattern);
    if (!pat)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", ctx);
    uint32_t opts = PCRE2_UTF | PCRE2_UCP | (literal ? PCRE2_LITERAL : 0);
    p->re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, opts, &err, &off, NULL);
    free(pat);
    if (!p->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return elm_err(ELM_E_UNSUPPORTED, "%s: regex '%s' at offset %zu: %s", ctx, pattern, (size_t)off,
                       (const char *)msg);
    }
    p->jit = pcre2_jit_compile(p->re, PCRE2_JIT_COMPLETE) == 0;
    p->literal = literal;
    if (!(p->src = strdup(pattern))) {
        pcre2_code_free(p->re);
        p->re = NULL;
        return elm_err(ELM_E_NOMEM, "%s: out of memory", ctx);
    }
    return ELM_OK;
}

/* ---- object ------------------------------------------------------------- */

elm_tokenizer *tk_alloc(const char *source)
{
    elm_tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->magic = ELM_TOKENIZER_MAGIC;
    atomic_init(&t->refs, 1);
    t->source = strdup(source ? source : "tokenizer");
    t->unk_id = -1;
    for (int i = 0; i < 256; i++)
        t->byte_tok[i] = -1;
    for (int i = 0; i < 4; i++)
        t->special[i] = -1;
    pthread_mutex_init(&t->cache_mu, NULL);
    if (!t->source) {
        free(t);
        return NULL;
    }
    return t;
}

/* Ids arrive one at a time while a vocabulary loads (150k for Qwen), so the
 * piece tables grow geometrically: growing them to exactly id + 1 on every
 * call copied the whole table each time (quadratic; under ASan, whose realloc
 * always moves, loading Qwen3's tokenizer.json took minutes). */
static elm_status ensure_ids(elm_tokenizer *t, int32_t id)
{
    if (id < t->n_ids)
        return ELM_OK;
    if (id >= t->cap_ids) {
        int64_t want = (int64_t)t->cap_ids * 2;
        if (want < (int64_t)id + 1)
            want = (int64_t)id + 1;
        if (want < 256)
            want = 256;
        if (want > (int64_t)0x7FFFFFF + 1)
            want = (int64_t)0x7FFFFFF + 1;
        char **np = realloc(t->pieces, (size_t)want * sizeof *np);
        if (!np)
            return elm_err(ELM_E_NOMEM, "%s: out of memory", t->source);
        t->pieces = np;
        uint32_t *nl = realloc(t->piece_len, (size_t)want * sizeof *nl);
        if (!nl)
            return elm_err(ELM_E_NOMEM, "%s: out of memory", t->source);
        t->piece_len = nl;
        t->cap_ids = (int32_t)want;
    }
    for (int32_t i = t->n_ids; i <= id; i++) {
        t->pieces[i] = NULL;
        t->piece_len[i] = 0;
    }
    t->n_ids = id + 1;
    return ELM_OK;
}

elm_status tk_set_piece(elm_tokenizer *t, int32_t id, const char *s, size_t len)
{
    if (id < 0 || id > 0x7FFFFFF)
        return elm_err(ELM_E_FORMAT, "%s: token id %d out of range", t->source, (int)id);
    ELM_TRY(ensure_ids(t, id));
    if (t->pieces[id])
        return ELM_OK; /* the first spelling of an id is kept */
    char *c = malloc(len + 1);
    if (!c)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", t->source);
    memcpy(c, s, len);
    c[len] = 0;
    t->pieces[id] = c;
    t->piece_len[id] = (uint32_t)len;
    return ELM_OK;
}

elm_status tk_add_added(elm_tokenizer *t, const char *text, size_t len, int32_t id, int special, int lstrip,
                        int rstrip, int single_word, int normalized)
{
    if (id < 0 || id > 0x7FFFFFF)
        return elm_err(ELM_E_FORMAT, "%s: added token id %d out of range", t->source, (int)id);
    if (len == 0)
        return ELM_OK; /* an empty added token can never match */
    tk_added *na = realloc(t->added, (t->n_added + 1) * sizeof *na);
    if (!na)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", t->source);
    t->added = na;
    tk_added *a = &na[t->n_added];
    a->text = malloc(len + 1);
    if (!a->text)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", t->source);
    memcpy(a->text, text, len);
    a->text[len] = 0;
    a->len = len;
    a->id = id;
    a->special = (uint8_t)!!special;
    a->lstrip = (uint8_t)!!lstrip;
    a->rstrip = (uint8_t)!!rstrip;
    a->single_word = (uint8_t)!!single_word;
    a->normalized = (uint8_t)!!normalized;
    t->n_added++;
    return ELM_OK;
}

static int added_cmp(const void *x, const void *y)
{
    const tk_added *a = x, *b = y;
    unsigned ca = (unsigned char)a->text[0], cb = (unsigned char)b->text[0];
    if (ca != cb)
        return ca < cb ? -1 : 1;
    if (a->len != b->len)
        return a->len > b->len ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

elm_status tk_finish(elm_tokenizer *t)
{
    for (size_t i = 0; i < t->n_added; i++)
        ELM_TRY(ensure_ids(t, t->added[i].id));
    if (t->n_added)
        qsort(t->added, t->n_added, sizeof *t->added, added_cmp);
    /* drop duplicate contents (same text twice: keep the first) */
    size_t w = 0;
    for (size_t i = 0; i < t->n_added; i++) {
        if (w && t->added[w - 1].len == t->added[i].len &&
            memcmp(t->added[w - 1].text, t->added[i].text, t->added[i].len) == 0) {
            free(t->added[i].text);
            continue;
        }
        t->added[w++] = t->added[i];
    }
    t->n_added = w;
    size_t j = 0;
    for (unsigned c = 0; c < 256; c++) {
        t->added_first[c] = j;
        while (j < t->n_added && (unsigned char)t->added[j].text[0] == c)
            j++;
    }
    t->added_first[256] = j;
    size_t n = (size_t)(t->n_ids > 0 ? t->n_ids : 1);
    t->id_special = calloc(n, 1);
    t->id_added = calloc(n, 1);
    t->added_text = calloc(n, sizeof *t->added_text);
    if (!t->id_special || !t->id_added || !t->added_text)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", t->source);
    for (size_t i = 0; i < t->n_added; i++) {
        tk_added *a = &t->added[i];
        t->id_added[a->id] = 1;
        t->id_special[a->id] |= a->special;
        if (!t->added_text[a->id])
            t->added_text[a->id] = a->text;
        if (a->normalized)
            t->has_normalized_added = 1;
        if (!t->pieces[a->id])
            ELM_TRY(tk_set_piece(t, a->id, a->text, a->len));
    }
    if (t->special[ELM_TOKEN_UNK] < 0)
        t->special[ELM_TOKEN_UNK] = t->unk_id;
    return ELM_OK;
}

int elm_tok_valid(const elm_tokenizer *t) { return t && t->magic == ELM_TOKENIZER_MAGIC; }

elm_status elm_tok_check(const elm_tokenizer *t, const char *fn)
{
    if (!t)
        return elm_err(ELM_E_INVALID, "%s: tokenizer is NULL", fn);
    if (t->magic != ELM_TOKENIZER_MAGIC)
        return elm_err(ELM_E_INVALID, "%s: not a valid tokenizer handle (freed or corrupted?)", fn);
    return ELM_OK;
}

elm_tokenizer *elm_tokenizer_ref(elm_tokenizer *t)
{
    if (t)
        atomic_fetch_add(&t->refs, 1);
    return t;
}

void elm_tokenizer_unref(elm_tokenizer *t)
{
    if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    t->magic = 0;
    free(t->source);
    for (int32_t i = 0; i < t->n_ids; i++)
        free(t->pieces[i]);
    free(t->pieces);
    free(t->piece_len);
    tk_map_free(&t->vocab);
    tk_pairmap_free(&t->merges);
    for (size_t i = 0; i < t->n_added; i++)
        free(t->added[i].text);
    free(t->added);
    free(t->id_special);
    free(t->id_added);
    free(t->added_text);
    for (size_t i = 0; i < t->n_norm; i++) {
        free(t->norm[i].a);
        free(t->norm[i].b);
    }
    free(t->norm);
    for (size_t i = 0; i < t->n_pre; i++) {
        if (t->pre[i].re)
            pcre2_code_free(t->pre[i].re);
        free(t->pre[i].src);
    }
    free(t->pre);
    free(t->post_prefix);
    free(t->post_suffix);
    for (size_t i = 0; i < t->n_dec; i++) {
        free(t->dec[i].a);
        free(t->dec[i].b);
    }
    free(t->dec);
    free(t->chat_template);
    tk_map_free(&t->cache.index);
    for (size_t i = 0; i < t->cache.n; i++)
        free(t->cache.ids[i]);
    free(t->cache.ids);
    pthread_mutex_destroy(&t->cache_mu);
    free(t);
}

int32_t elm_tok_vocab_size(const elm_tokenizer *t) { return t ? t->n_ids : 0; }

int32_t elm_tok_special(const elm_tokenizer *t, elm_special_token which)
{
    if (!t || (int)which < 0 || (int)which > 3)
        return -1;
    return t->special[which];
}

const char *elm_tok_piece(const elm_tokenizer *t, int32_t id)
{
    if (!t || id < 0 || id >= t->n_ids)
        return NULL;
    return t->pieces[id];
}

int elm_tok_is_special(const elm_tokenizer *t, int32_t id)
{
    return t && id >= 0 && id < t->n_ids && t->id_special[id];
}

int32_t elm_tok_find(const elm_tokenizer *t, const char *piece)
{
    if (!t || !piece)
        return -1;
    size_t n = strlen(piece);
    for (size_t i = 0; i < t->n_added; i++)
        if (t->added[i].len == n && memcmp(t->added[i].text, piece, n) == 0)
            return t->added[i].id;
    if (t->byte_level) {
        char *raw;
        size_t rl;
        if (tk_bytelevel_unmap(piece, n, &raw, &rl)) {
            int32_t id = tk_map_get(&t->vocab, raw, rl);
            free(raw);
            if (id >= 0)
                return id;
        }
    }
    int32_t id = tk_map_get(&t->vocab, piece, n);
    if (id >= 0)
        return id;
    for (int32_t i = 0; i < t->n_ids; i++)
        if (t->pieces[i] && t->piece_len[i] == n && memcmp(t->pieces[i], piece, n) == 0)
            return i;
    return -1;
}

const char *elm_tok_chat_template(const elm_tokenizer *t) { return t ? t->chat_template : NULL; }
