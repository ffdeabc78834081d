/* Encoding: added-token extraction, normalizers, pre-tokenizers, BPE
 * (rank-ordered merges on a heap, as HF's Word::merge_all), post-processing. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/utf8.h"
#include "tokenizer/nfc.h"
#include "tokenizer/tk_internal.h"

typedef struct { int32_t *v; size_t n, cap; } ivec;
typedef struct { const char *p; size_t n; int start0; } piece;
typedef struct { piece *v; size_t n, cap; } pvec;
/* buffers to free when the call ends */
typedef struct { char **v; size_t n, cap; } arena;

static elm_status ivec_push(ivec *a, int32_t x)
{
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 64;
        int32_t *nv = realloc(a->v, nc * sizeof *nv);
        if (!nv)
            return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");
        a->v = nv;
        a->cap = nc;
    }
    a->v[a->n++] = x;
    return ELM_OK;
}

static elm_status pvec_push(pvec *a, const char *p, size_t n, int start0)
{
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 16;
        piece *nv = realloc(a->v, nc * sizeof *nv);
        if (!nv)
            return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");
        a->v = nv;
        a->cap = nc;
    }
    a->v[a->n].p = p;
    a->v[a->n].n = n;
    a->v[a->n].start0 = start0;
    a->n++;
    return ELM_OK;
}

static char *arena_alloc(arena *ar, size_t n)
{
    if (ar->n == ar->cap) {
        size_t nc = ar->cap ? ar->cap * 2 : 16;
        char **nv = realloc(ar->v, nc * sizeof *nv);
        if (!nv)
            return NULL;
        ar->v = nv;
        ar->cap = nc;
    }
    char *p = malloc(n + 1);
    if (p)
        ar->v[ar->n++] = p;
    return p;
}

static elm_status arena_keep(arena *ar, char *p)
{
    if (ar->n == ar->cap) {
        size_t nc = ar->cap ? ar->cap * 2 : 16;
        char **nv = realloc(ar->v, nc * sizeof *nv);
        if (!nv) {
            free(p);
            return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");
        }
        ar->v = nv;
        ar->cap = nc;
    }
    ar->v[ar->n++] = p;
    return ELM_OK;
}

static void arena_free(arena *ar)
{
    for (size_t i = 0; i < ar->n; i++)
        free(ar->v[i]);
    free(ar->v);
}

/* ---- added tokens ------------------------------------------------------- */

static int is_word_char(uint32_t cp)
{
    /* Rust char::is_alphanumeric || '_' approximated with PCRE2-free tests:
     * ASCII exactly; beyond ASCII everything but whitespace/punctuation-ish
     * blocks counts (single_word tokens are rare; none in the tested files) */
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_';
    return !tk_is_whitespace(cp) && !(cp >= 0x2000 && cp <= 0x206F) && !(cp >= 0x3000 && cp <= 0x303F);
}

static uint32_t last_cp(const char *s, size_t n)
{
    size_t i = n - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    size_t l;
    return tk_utf8_decode((const unsigned char *)s + i, &l);
}

typedef struct { size_t start, stop; int32_t id; } amatch;

/* Split s[0..n) on added tokens (normalized pass or not), as HF's
 * AddedVocabulary::find_matches: leftmost-longest matches, then the
 * single_word / lstrip / rstrip rules. Appends (start, stop, id|-1). */
static elm_status find_added(const elm_tokenizer *t, const char *s, size_t n, int normalized_pass,
                             int parse_special, amatch **out, size_t *n_out)
{
    amatch *v = NULL;
    size_t nv = 0, cap = 0;
    size_t start_offset = 0;
    size_t i = 0;
#define PUSH(a, b, c)                                                                 \
    do {                                                                              \
        if (nv == cap) {                                                              \
            cap = cap ? cap * 2 : 8;                                                  \
            amatch *nw = realloc(v, cap * sizeof *nw);                                \
            if (!nw) {                                                                \
                free(v);                                                              \
                return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");              \
            }                                                                         \
            v = nw;                                                                   \
        }                                                                             \
        v[nv].start = (a);                                                            \
        v[nv].stop = (b);                                                             \
        v[nv].id = (c);                                                               \
        nv++;                                                                         \
    } while (0)
    while (i < n) {
        unsigned c = (unsigned char)s[i];
        const tk_added *hit = NULL;
        for (size_t k = t->added_first[c]; k < t->added_first[c + 1]; k++) {
            const tk_added *a = &t->added[k];
            if (a->normalized != normalized_pass || (a->special && !parse_special))
                continue;
            if (a->len <= n - i && memcmp(a->text, s + i, a->len) == 0) {
                hit = a;
                break;
            }
        }
        if (!hit) {
            i++;
            continue;
        }
        size_t start = i, stop = i + hit->len;
        i = stop;
        if (hit->single_word) {
            int start_space = start == 0 || !is_word_char(last_cp(s, start));
            size_t l;
            int stop_space = stop == n || !is_word_char(tk_utf8_decode((const unsigned char *)s + stop, &l));
            if (!start_space || !stop_space)
                continue;
        }
        if (hit->lstrip) {
            size_t ns = start;
            while (ns > 0) {
                size_t b = ns - 1;
                while (b > 0 && ((unsigned char)s[b] & 0xC0) == 0x80)
                    b--;
                size_t l;
                if (!tk_is_whitespace(tk_utf8_decode((const unsigned char *)s + b, &l)))
                    break;
                ns = b;
            }
            start = ns > start_offset ? ns : start_offset;
        }
        if (hit->rstrip) {
            while (stop < n) {
                size_t l;
                if (!tk_is_whitespace(tk_utf8_decode((const unsigned char *)s + stop, &l)))
                    break;
                stop += l;
            }
        }
        if (start_offset < start)
            PUSH(start_offset, start, -1);
        PUSH(start, stop, hit->id);
        start_offset = stop;
    }
    if (start_offset < n)
        PUSH(start_offset, n, -1);
#undef PUSH
    *out = v;
    *n_out = nv;
    return ELM_OK;
}

/* ---- normalizers -------------------------------------------------------- */

static elm_status normalize(const elm_tokenizer *t, const char *s, size_t n, arena *ar, const char **out,
                            size_t *out_n)
{
    const char *cur = s;
    size_t cn = n;
    for (size_t k = 0; k < t->n_norm; k++) {
        const tk_norm *op = &t->norm[k];
        if (op->kind == TK_NORM_NFC) {
            char *o;
            size_t ol;
            ELM_TRY(tk_nfc(cur, cn, &o, &ol));
            ELM_TRY(arena_keep(ar, o));
            cur = o;
            cn = ol;
        } else if (op->kind == TK_NORM_PREPEND) {
            if (!cn)
                continue;
            char *o = arena_alloc(ar, cn + op->alen);
            if (!o)
                return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");
            memcpy(o, op->a, op->alen);
            memcpy(o + op->alen, cur, cn);
            cur = o;
            cn += op->alen;
        } else { /* replace all non-overlapping occurrences of a by b */
            size_t cnt = 0;
            for (size_t i = 0; op->alen && i + op->alen <= cn;) {
                if (memcmp(cur + i, op->a, op->alen) == 0) {
                    cnt++;
                    i += op->alen;
                } else
                    i++;
            }
            if (!cnt)
                continue;
            char *o = arena_alloc(ar, cn + cnt * op->blen);
            if (!o)
                return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");
            size_t k2 = 0;
            for (size_t i = 0; i < cn;) {
                if (i + op->alen <= cn && memcmp(cur + i, op->a, op->alen) == 0) {
                    memcpy(o + k2, op->b, op->blen);
                    k2 += op->blen;
                    i += op->alen;
                } else
                    o[k2++] = cur[i++];
            }
            cur = o;
            cn = k2;
        }
    }
    *out = cur;
    *out_n = cn;
    return ELM_OK;
}

/* ---- pre-tokenizers ----------------------------------------------------- */

typedef struct { size_t a, b; int m; } seg;

static elm_status split_regex(const tk_pre *op, pcre2_match_data *md, const piece *pc, pvec *out)
{
    /* matches and gaps, as HF's Pattern::find_matches */
    seg *sv = NULL;
    size_t ns = 0, cap = 0;
#define SPUSH(x, y, z)                                                      \
    do {                                                                    \
        if (ns == cap) {                                                    \
            cap = cap ? cap * 2 : 16;                                       \
            seg *nw = realloc(sv, cap * sizeof *nw);                        \
            if (!nw) {                                                      \
                free(sv);                                                   \
                return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");    \
            }                                                               \
            sv = nw;                                                        \
        }                                                                   \
        sv[ns].a = (x);                                                     \
        sv[ns].b = (y);                                                     \
        sv[ns].m = (z);                                                     \
        ns++;                                                               \
    } while (0)
    size_t prev = 0, pos = 0;
    const PCRE2_SPTR subj = (PCRE2_SPTR)pc->p;
    while (pos <= pc->n) {
        int rc = op->jit ? pcre2_jit_match(op->re, subj, pc->n, pos, PCRE2_NO_UTF_CHECK, md, NULL)
                         : pcre2_match(op->re, subj, pc->n, pos, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc < 0) {
            if (rc == PCRE2_ERROR_NOMATCH)
                break;
            free(sv);
            return elm_err(ELM_E_INTERNAL, "tokenizer: regex match error %d", rc);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t s = ov[0], e = ov[1];
        if (prev != s)
            SPUSH(prev, s, 0);
        SPUSH(s, e, 1);
        prev = e;
        if (e == s) { /* empty match: step one character */
            pos = e + 1;
            while (pos < pc->n && ((unsigned char)pc->p[pos] & 0xC0) == 0x80)
                pos++;
        } else
            pos = e;
    }
    if (prev != pc->n)
        SPUSH(prev, pc->n, 0);
#undef SPUSH
    if (op->invert)
        for (size_t i = 0; i < ns; i++)
            sv[i].m = !sv[i].m;
    /* behaviours, as HF's NormalizedString::split */
    size_t w = 0;
    int prev_match = 0;
    switch (op->behavior) {
    case TK_SPLIT_ISOLATED:
        w = ns;
        break;
    case TK_SPLIT_REMOVED:
        for (size_t i = 0; i < ns; i++)
            if (!sv[i].m)
                sv[w++] = sv[i];
        break;
    case TK_SPLIT_CONTIGUOUS:
        for (size_t i = 0; i < ns; i++) {
            if (sv[i].m == prev_match && w)
                sv[w - 1].b = sv[i].b;
            else
                sv[w++] = sv[i];
            prev_match = sv[i].m;
        }
        break;
    case TK_SPLIT_MERGED_PREV:
        for (size_t i = 0; i < ns; i++) {
            int m = sv[i].m;
            if (m && !prev_match && w)
                sv[w - 1].b = sv[i].b;
            else
                sv[w++] = sv[i];
            prev_match = m;
        }
        break;
    case TK_SPLIT_MERGED_NEXT: {
        /* fold from the right */
        size_t r = ns;
        seg *tmp = malloc((ns ? ns : 1) * sizeof *tmp);
        if (!tmp) {
            free(sv);
            return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");
        }
        size_t tn = 0;
        while (r-- > 0) {
            int m = sv[r].m;
            if (m && !prev_match && tn)
                tmp[tn - 1].a = sv[r].a;
            else
                tmp[tn++] = sv[r];
            prev_match = m;
        }
        for (size_t i = 0; i < tn; i++)
            sv[i] = tmp[tn - 1 - i];
        w = tn;
        free(tmp);
        break;
    }
    }
    elm_status st = ELM_OK;
    for (size_t i = 0; i < w && st == ELM_OK; i++)
        if (sv[i].b > sv[i].a)
            st = pvec_push(out, pc->p + sv[i].a, sv[i].b - sv[i].a, pc->start0 && sv[i].a == 0);
    free(sv);
    return st;
}

static elm_status pretokenize(const elm_tokenizer *t, pcre2_match_data *md, pvec *cur, pvec *tmp, arena *ar)
{
    for (size_t k = 0; k < t->n_pre; k++) {
        const tk_pre *op = &t->pre[k];
        tmp->n = 0;
        for (size_t i = 0; i < cur->n; i++) {
            piece pc = cur->v[i];
            if (op->kind == TK_PRE_BYTELEVEL) {
                if (op->add_prefix_space && (pc.n == 0 || pc.p[0] != ' ')) {
                    char *o = arena_alloc(ar, pc.n + 1);
                    if (!o)
                        return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");
                    o[0] = ' ';
                    memcpy(o + 1, pc.p, pc.n);
                    pc.p = o;
                    pc.n++;
                }
                if (op->re)
                    ELM_TRY(split_regex(op, md, &pc, tmp));
                else
                    ELM_TRY(pvec_push(tmp, pc.p, pc.n, pc.start0));
            } else if (op->kind == TK_PRE_SPLIT) {
                ELM_TRY(split_regex(op, md, &pc, tmp));
            } else { /* Metaspace */
                size_t spaces = 0;
                for (size_t j = 0; j < pc.n; j++)
                    spaces += pc.p[j] == ' ';
                char *o = arena_alloc(ar, pc.n + (spaces + 1) * op->meta_len);
                if (!o)
                    return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");
                size_t on = 0;
                for (size_t j = 0; j < pc.n; j++) {
                    if (pc.p[j] == ' ') {
                        memcpy(o + on, op->meta, op->meta_len);
                        on += op->meta_len;
                    } else
                        o[on++] = pc.p[j];
                }
                int starts = on >= op->meta_len && memcmp(o, op->meta, op->meta_len) == 0;
                if (!starts && (op->scheme == TK_PREPEND_ALWAYS || (op->scheme == TK_PREPEND_FIRST && pc.start0))) {
                    memmove(o + op->meta_len, o, on);
                    memcpy(o, op->meta, op->meta_len);
                    on += op->meta_len;
                }
                if (!op->meta_split) {
                    ELM_TRY(pvec_push(tmp, o, on, pc.start0));
                    continue;
                }
                /* split before each replacement (MergedWithNext) */
                size_t st = 0;
                for (size_t j = 1; j + op->meta_len <= on; j++)
                    if (memcmp(o + j, op->meta, op->meta_len) == 0) {
                        ELM_TRY(pvec_push(tmp, o + st, j - st, pc.start0 && st == 0));
                        st = j;
                        j += op->meta_len - 1;
                    }
                if (on > st)
                    ELM_TRY(pvec_push(tmp, o + st, on - st, pc.start0 && st == 0));
            }
        }
        pvec sw = *cur;
        *cur = *tmp;
        *tmp = sw;
    }
    return ELM_OK;
}

/* ---- BPE ---------------------------------------------------------------- */

typedef struct { int32_t id, prev, next; uint32_t len; } sym;
typedef struct { int32_t rank, pos, new_id; } hitem;

static int hless(const hitem *a, const hitem *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void hpush(hitem *h, size_t *n, hitem x)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!hless(&x, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

static hitem hpop(hitem *h, size_t *n)
{
    hitem top = h[0], x = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const hitem *best = &x;
        if (l < *n && hless(&h[l], best)) {
            m = l;
            best = &h[l];
        }
        if (r < *n && hless(&h[r], best))
            m = r;
        if (m == i)
            break;
        h[i] = h[m];
        i = m;
    }
    if (*n)
        h[i] = x;
    return top;
}

static elm_status bpe_word(const elm_tokenizer *t, const char *s, size_t n, ivec *out)
{
    if (t->ignore_merges) {
        int32_t id = tk_map_get(&t->vocab, s, n);
        if (id >= 0)
            return ivec_push(out, id);
    }
    sym *sy = malloc((n + 1) * sizeof *sy);
    hitem *heap = malloc((2 * n + 2) * sizeof *heap);
    if (!sy || !heap) {
        free(sy);
        free(heap);
        return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");
    }
    size_t ns = 0;
    int32_t unk_pending = -1;
    uint32_t unk_len = 0;
#define ADD(ID, LEN)                  \
    do {                              \
        sy[ns].id = (ID);             \
        sy[ns].len = (uint32_t)(LEN); \
        ns++;                         \
    } while (0)
    for (size_t i = 0; i < n;) {
        size_t l = t->byte_level ? 1 : elm_utf8_seq_len((const unsigned char *)s + i, n - i);
        if (!l)
            l = 1;
        int32_t id = l == 1 && t->byte_level ? tk_map_get(&t->vocab, s + i, 1) : tk_map_get(&t->vocab, s + i, l);
        if (id >= 0) {
            if (unk_pending >= 0) {
                ADD(unk_pending, unk_len);
                unk_pending = -1;
            }
            ADD(id, l);
        } else {
            int done = 0;
            if (t->byte_fallback) {
                int all = 1;
                for (size_t j = 0; j < l; j++)
                    all &= t->byte_tok[(unsigned char)s[i + j]] >= 0;
                if (all) {
                    for (size_t j = 0; j < l; j++)
                        ADD(t->byte_tok[(unsigned char)s[i + j]], 1);
                    done = 1;
                }
            }
            if (!done && t->unk_id >= 0) {
                if (unk_pending >= 0 && t->fuse_unk)
                    unk_len += (uint32_t)l;
                else {
                    if (unk_pending >= 0)
                        ADD(unk_pending, unk_len);
                    unk_pending = t->unk_id;
                    unk_len = (uint32_t)l;
                }
            }
        }
        i += l;
    }
    if (unk_pending >= 0)
        ADD(unk_pending, unk_len);
#undef ADD
    for (size_t i = 0; i < ns; i++) {
        sy[i].prev = (int32_t)i - 1;
        sy[i].next = i + 1 < ns ? (int32_t)i + 1 : -1;
    }
    size_t hn = 0;
    for (size_t i = 0; i + 1 < ns; i++) {
        int32_t rank, nid;
        if (tk_pairmap_get(&t->merges, sy[i].id, sy[i + 1].id, &rank, &nid))
            hpush(heap, &hn, (hitem){rank, (int32_t)i, nid});
    }
    size_t hcap = 2 * n + 2;
    elm_status st = ELM_OK;
    while (hn) {
        hitem top = hpop(heap, &hn);
        sym *cur = &sy[top.pos];
        if (cur->len == 0 || cur->next < 0)
            continue;
        sym *right = &sy[cur->next];
        int32_t rank, nid;
        if (!tk_pairmap_get(&t->merges, cur->id, right->id, &rank, &nid) || nid != top.new_id)
            continue;
        cur->id = top.new_id;
        cur->len += right->len;
        right->len = 0;
        cur->next = right->next;
        if (right->next >= 0)
            sy[right->next].prev = top.pos;
        if (hn + 2 > hcap) {
            hcap *= 2;
            hitem *nh = realloc(heap, hcap * sizeof *nh);
            if (!nh) {
                st = elm_err(ELM_E_NOMEM, "tokenizer: out of memory");
                break;
            }
            heap = nh;
        }
        if (cur->prev >= 0 && tk_pairmap_get(&t->merges, sy[cur->prev].id, cur->id, &rank, &nid))
            hpush(heap, &hn, (hitem){rank, cur->prev, nid});
        if (cur->next >= 0 && tk_pairmap_get(&t->merges, cur->id, sy[cur->next].id, &rank, &nid))
            hpush(heap, &hn, (hitem){rank, top.pos, nid});
    }
    for (size_t i = 0; i < ns && st == ELM_OK; i++)
        if (sy[i].len)
            st = ivec_push(out, sy[i].id);
    free(sy);
    free(heap);
    return st;
}

#define CACHE_MAX_WORD 256
#define CACHE_MAX_ENTRIES 65536

static elm_status model_word(const elm_tokenizer *t_, const char *s, size_t n, ivec *out)
{
    elm_tokenizer *t = (elm_tokenizer *)t_; /* the cache is the only mutable state */
    int cacheable = n <= CACHE_MAX_WORD;
    if (cacheable && pthread_mutex_trylock(&t->cache_mu) == 0) {
        int32_t slot = tk_map_get(&t->cache.index, s, n);
        if (slot >= 0) {
            const int32_t *e = t->cache.ids[slot];
            elm_status st = ELM_OK;
            for (int32_t i = 0; i < e[0] && st == ELM_OK; i++)
                st = ivec_push(out, e[1 + i]);
            pthread_mutex_unlock(&t->cache_mu);
            return st;
        }
        pthread_mutex_unlock(&t->cache_mu);
    }
    size_t before = out->n;
    ELM_TRY(bpe_word(t, s, n, out));
    if (cacheable && pthread_mutex_trylock(&t->cache_mu) == 0) {
        if (t->cache.n >= CACHE_MAX_ENTRIES) { /* full: start over */
            tk_map_free(&t->cache.index);
            for (size_t i = 0; i < t->cache.n; i++)
                free(t->cache.ids[i]);
            t->cache.n = 0;
        }
        if (t->cache.n == t->cache.cap) {
            size_t nc = t->cache.cap ? t->cache.cap * 2 : 1024;
            int32_t **nv = realloc(t->cache.ids, nc * sizeof *nv);
            if (nv) {
                t->cache.ids = nv;
                t->cache.cap = nc;
            }
        }
        size_t cnt = out->n - before;
        int32_t *e = t->cache.n < t->cache.cap ? malloc((cnt + 1) * sizeof *e) : NULL;
        if (e) {
            e[0] = (int32_t)cnt;
            if (cnt) /* out->v may still be NULL when the word made no ids */
                memcpy(e + 1, out->v + before, cnt * sizeof *e);
            if (tk_map_put(&t->cache.index, s, n, (int32_t)t->cache.n) == ELM_OK)
                t->cache.ids[t->cache.n++] = e;
            else {
                free(e);
                elm_err_clear();
            }
        }
        pthread_mutex_unlock(&t->cache_mu);
    }
    return ELM_OK;
}

/* ---- the pipeline ------------------------------------------------------- */

static elm_status encode_segment(const elm_tokenizer *t, const char *s, size_t n, int start0, pcre2_match_data *md,
                                 pvec *pa, pvec *pb, arena *ar, ivec *out)
{
    pa->n = 0;
    ELM_TRY(pvec_push(pa, s, n, start0));
    ELM_TRY(pretokenize(t, md, pa, pb, ar));
    for (size_t i = 0; i < pa->n; i++)
        if (pa->v[i].n)
            ELM_TRY(model_word(t, pa->v[i].p, pa->v[i].n, out));
    return ELM_OK;
}

static elm_status encode_all(const elm_tokenizer *t, const char *text, size_t len, unsigned flags, ivec *out,
                             arena *ar, pcre2_match_data *md)
{
    int parse_special = (flags & ELM_TOKENIZE_PARSE_SPECIAL) != 0;
    amatch *m = NULL, *m2 = NULL;
    size_t nm = 0, nm2 = 0;
    pvec pa = {0}, pb = {0};
    elm_status st = find_added(t, text, len, 0, parse_special, &m, &nm);
    for (size_t i = 0; i < nm && st == ELM_OK; i++) {
        if (m[i].id >= 0) {
            st = ivec_push(out, m[i].id);
            continue;
        }
        if (m[i].stop <= m[i].start)
            continue;
        const char *ns = NULL;
        size_t nn = 0;
        st = normalize(t, text + m[i].start, m[i].stop - m[i].start, ar, &ns, &nn);
        if (st != ELM_OK || !nn)
            continue;
        int start0 = m[i].start == 0;
        if (!t->has_normalized_added) {
            st = encode_segment(t, ns, nn, start0, md, &pa, &pb, ar, out);
            continue;
        }
        st = find_added(t, ns, nn, 1, parse_special, &m2, &nm2);
        for (size_t j = 0; j < nm2 && st == ELM_OK; j++) {
            if (m2[j].id >= 0)
                st = ivec_push(out, m2[j].id);
            else if (m2[j].stop > m2[j].start)
                st = encode_segment(t, ns + m2[j].start, m2[j].stop - m2[j].start, start0 && m2[j].start == 0, md,
                                    &pa, &pb, ar, out);
        }
        free(m2);
        m2 = NULL;
    }
    free(m);
    free(pa.v);
    free(pb.v);
    return st;
}

elm_status elm_tok_encode(const elm_tokenizer *t, const char *text, size_t len, unsigned flags, int32_t **ids,
                          size_t *n_ids)
{
    ivec out = {0};
    arena ar = {0};
    char *clean = NULL;
    if (!tk_utf8_is_valid(text, len)) {
        size_t cl;
        ELM_TRY(tk_utf8_lossy(text, len, &clean, &cl));
        text = clean;
        len = cl;
    }
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md) {
        free(clean);
        return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");
    }
    elm_status st = ELM_OK;
    if (flags & ELM_TOKENIZE_ADD_SPECIAL)
        for (size_t i = 0; i < t->n_post_prefix && st == ELM_OK; i++)
            st = ivec_push(&out, t->post_prefix[i]);
    if (st == ELM_OK)
        st = encode_all(t, text, len, flags, &out, &ar, md);
    if (st == ELM_OK && (flags & ELM_TOKENIZE_ADD_SPECIAL))
        for (size_t i = 0; i < t->n_post_suffix && st == ELM_OK; i++)
            st = ivec_push(&out, t->post_suffix[i]);
    if (md)
        pcre2_match_data_free(md);
    arena_free(&ar);
    free(clean);
    if (st != ELM_OK) {
        free(out.v);
        return st;
    }
    if (!out.v)
        out.v = malloc(sizeof(int32_t));
    if (!out.v)
        return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");
    *ids = out.v;
    *n_ids = out.n;
    return ELM_OK;
}
