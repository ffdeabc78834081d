/* Decoding: ids -> tokens -> decoder chain (as HF's decode_chain) -> text;
 * the streaming decoder. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/str.h"
#include "core/utf8.h"
#include "tokenizer/nfc.h"
#include "tokenizer/tk_internal.h"

typedef struct { char *s; size_t n; } tstr;
typedef struct { tstr *v; size_t n; } tlist;

static void tlist_free(tlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].s);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}


#define OOM() elm_err(ELM_E_NOMEM, "tokenizer: out of memory")

/* join all tokens into one */
static elm_status fuse(tlist *l)
{
    size_t tot = 0;
    for (size_t i = 0; i < l->n; i++)
        tot += l->v[i].n;
    char *o = malloc(tot + 1);
    if (!o)
        return OOM();
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        memcpy(o + k, l->v[i].s, l->v[i].n);
        k += l->v[i].n;
    }
    o[k] = 0;
    tlist_free(l);
    l->v = malloc(sizeof *l->v);
    if (!l->v) {
        free(o);
        return OOM();
    }
    l->v[0].s = o;
    l->v[0].n = k;
    l->n = 1;
    return ELM_OK;
}

static elm_status dec_bytelevel(tlist *l)
{
    size_t tot = 0;
    for (size_t i = 0; i < l->n; i++)
        tot += l->v[i].n;
    char *raw = malloc(tot + 1);
    if (!raw)
        return OOM();
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        char *b;
        size_t bl;
        if (tk_bytelevel_unmap(l->v[i].s, l->v[i].n, &b, &bl)) {
            memcpy(raw + k, b, bl);
            k += bl;
            free(b);
        } else { /* a character outside the alphabet: the token's own bytes */
            memcpy(raw + k, l->v[i].s, l->v[i].n);
            k += l->v[i].n;
        }
    }
    char *o;
    size_t ol;
    elm_status st = tk_utf8_lossy(raw, k, &o, &ol);
    free(raw);
    if (st != ELM_OK)
        return st;
    tlist_free(l);
    l->v = malloc(sizeof *l->v);
    if (!l->v) {
        free(o);
        return OOM();
    }
    l->v[0].s = o;
    l->v[0].n = ol;
    l->n = 1;
    return ELM_OK;
}

static elm_status replace_in(tstr *t, const char *a, size_t al, const char *b, size_t bl, int drop_all)
{
    if (!al)
        return ELM_OK;
    size_t cnt = 0;
    for (size_t i = 0; i + al <= t->n;)
        if (memcmp(t->s + i, a, al) == 0) {
            cnt++;
            i += al;
        } else
            i++;
    if (!cnt)
        return ELM_OK;
    if (drop_all)
        bl = 0;
    char *o = malloc(t->n + cnt * bl + 1);
    if (!o)
        return OOM();
    size_t k = 0;
    for (size_t i = 0; i < t->n;) {
        if (i + al <= t->n && memcmp(t->s + i, a, al) == 0) {
            memcpy(o + k, b, bl);
            k += bl;
            i += al;
        } else
            o[k++] = t->s[i++];
    }
    o[k] = 0;
    free(t->s);
    t->s = o;
    t->n = k;
    return ELM_OK;
}

static int byte_token(const tstr *t)
{
    if (t->n != 6 || memcmp(t->s, "<0x", 3) != 0 || t->s[5] != '>')
        return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = t->s[i];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static elm_status dec_bytefallback(tlist *l)
{
    tstr *nv = malloc((l->n * 1 + 1) * sizeof *nv * 6);
    if (!nv)
        return OOM();
    size_t nn = 0;
    unsigned char *bytes = malloc(l->n + 1);
    if (!bytes) {
        free(nv);
        return OOM();
    }
    size_t nb = 0;
    for (size_t i = 0; i <= l->n; i++) {
        int b = i < l->n ? byte_token(&l->v[i]) : -1;
        if (b >= 0) {
            bytes[nb++] = (unsigned char)b;
            free(l->v[i].s);
            continue;
        }
        if (nb) {
            if (tk_utf8_is_valid((const char *)bytes, nb)) {
                nv[nn].s = elm_str_dupn((const char *)bytes, nb);
                nv[nn++].n = nb;
            } else { /* one U+FFFD per byte, as HF */
                char *o = malloc(nb * 3 + 1);
                if (o) {
                    for (size_t j = 0; j < nb; j++)
                        memcpy(o + 3 * j, "\xEF\xBF\xBD", 3);
                    o[nb * 3] = 0;
                }
                nv[nn].s = o;
                nv[nn++].n = nb * 3;
            }
            nb = 0;
        }
        if (i < l->n)
            nv[nn++] = l->v[i];
    }
    free(bytes);
    free(l->v);
    l->v = nv;
    l->n = nn;
    for (size_t i = 0; i < nn; i++)
        if (!nv[i].s)
            return OOM();
    return ELM_OK;
}

static elm_status dec_strip(tstr *t, const tk_dec *d)
{
    /* count characters equal to content at both ends (content: one char) */
    size_t nchars = elm_utf8_count(t->s, t->n);
    size_t start_cut = 0, stop_cut = 0, pos = 0;
    while ((int)start_cut < d->start && pos + d->alen <= t->n && memcmp(t->s + pos, d->a, d->alen) == 0) {
        start_cut++;
        pos += d->alen;
    }
    size_t end = t->n;
    while ((int)stop_cut < d->stop && end >= d->alen && memcmp(t->s + end - d->alen, d->a, d->alen) == 0) {
        stop_cut++;
        end -= d->alen;
    }
    /* HF takes (byte length - cuts) characters after the start cut */
    size_t take = t->n >= start_cut + stop_cut ? t->n - start_cut - stop_cut : 0;
    size_t b = pos, c = 0;
    while (b < t->n && c < take) {
        b++;
        while (b < t->n && ((unsigned char)t->s[b] & 0xC0) == 0x80)
            b++;
        c++;
    }
    (void)nchars;
    char *o = elm_str_dupn(t->s + pos, b - pos);
    if (!o)
        return OOM();
    free(t->s);
    t->s = o;
    t->n = b - pos;
    return ELM_OK;
}

static elm_status run_chain(const elm_tokenizer *t, tlist *l, char **text, size_t *len)
{
    for (size_t k = 0; k < t->n_dec; k++) {
        const tk_dec *d = &t->dec[k];
        switch (d->kind) {
        case TK_DEC_BYTELEVEL:
            ELM_TRY(dec_bytelevel(l));
            break;
        case TK_DEC_FUSE:
            ELM_TRY(fuse(l));
            break;
        case TK_DEC_BYTEFALLBACK:
            ELM_TRY(dec_bytefallback(l));
            break;
        case TK_DEC_REPLACE:
            for (size_t i = 0; i < l->n; i++)
                ELM_TRY(replace_in(&l->v[i], d->a, d->alen, d->b, d->blen, 0));
            break;
        case TK_DEC_STRIP:
            for (size_t i = 0; i < l->n; i++)
                ELM_TRY(dec_strip(&l->v[i], d));
            break;
        case TK_DEC_METASPACE:
            for (size_t i = 0; i < l->n; i++)
                ELM_TRY(replace_in(&l->v[i], d->a, d->alen, " ", 1, i == 0 && d->scheme != TK_PREPEND_NEVER));
            break;
        }
    }
    /* join ("" or " " when there is no decoder) */
    size_t sep = t->dec_none ? 1 : 0, tot = 0;
    for (size_t i = 0; i < l->n; i++)
        tot += l->v[i].n + sep;
    char *o = malloc(tot + 1);
    if (!o)
        return OOM();
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (sep && i)
            o[k++] = ' ';
        memcpy(o + k, l->v[i].s, l->v[i].n);
        k += l->v[i].n;
    }
    o[k] = 0;
    *text = o;
    if (len)
        *len = k;
    return ELM_OK;
}

elm_status elm_tok_decode(const elm_tokenizer *t, const int32_t *ids, size_t n_ids, unsigned flags, char **text,
                          size_t *len)
{
    tlist l = {0};
    l.v = malloc((n_ids + 1) * sizeof *l.v);
    if (!l.v)
        return OOM();
    for (size_t i = 0; i < n_ids; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->n_ids) {
            tlist_free(&l);
            return elm_err(ELM_E_INVALID, "%s: decode: id %d at position %zu out of range [0, %d)", t->source,
                           (int)id, i, (int)t->n_ids);
        }
        if ((flags & ELM_DETOKENIZE_SKIP_SPECIAL) && t->id_special[id])
            continue;
        const char *s = t->added_text[id] ? t->added_text[id] : t->pieces[id];
        if (!s)
            continue; /* an unused id decodes to nothing, as in HF */
        size_t sl = t->added_text[id] ? strlen(s) : t->piece_len[id];
        l.v[l.n].s = elm_str_dupn(s, sl);
        if (!l.v[l.n].s) {
            tlist_free(&l);
            return OOM();
        }
        l.v[l.n++].n = sl;
    }
    elm_status st = run_chain(t, &l, text, len);
    tlist_free(&l);
    return st;
}

/* ---- streaming ---------------------------------------------------------- */

struct tk_stream {
    const elm_tokenizer *t;
    unsigned flags;
    int32_t *ids; /* ids[0..ctx_n): context already released; then pending */
    size_t n, cap, ctx_n;
    size_t prefix_len; /* bytes decode(ids[0..ctx_n)) gives */
};

elm_status tk_stream_new(const elm_tokenizer *t, unsigned flags, tk_stream **out)
{
    tk_stream *s = calloc(1, sizeof *s);
    if (!s)
        return OOM();
    s->t = t;
    s->flags = flags;
    *out = s;
    return ELM_OK;
}

#define TK_STREAM_MAX_HOLD 16

static int ends_with_fffd(const char *s, size_t n)
{
    return n >= 3 && memcmp(s + n - 3, "\xEF\xBF\xBD", 3) == 0;
}

elm_status tk_stream_push(tk_stream *s, int32_t id, char **text, size_t *len)
{
    size_t dummy;
    if (!len)
        len = &dummy;
    *len = 0;
    if (id < 0 || id >= s->t->n_ids)
        return elm_err(ELM_E_INVALID, "%s: stream: id %d out of range [0, %d)", s->t->source, (int)id,
                       (int)s->t->n_ids);
    if ((s->flags & ELM_DETOKENIZE_SKIP_SPECIAL) && s->t->id_special[id]) {
        *text = elm_str_dupn("", 0);
        return *text ? ELM_OK : OOM();
    }
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        int32_t *nv = realloc(s->ids, nc * sizeof *nv);
        if (!nv)
            return OOM();
        s->ids = nv;
        s->cap = nc;
    }
    s->ids[s->n++] = id;
    char *full;
    size_t fl;
    ELM_TRY(elm_tok_decode(s->t, s->ids, s->n, s->flags, &full, &fl));
    /* Hold the pending ids back while they add no text or end in an
     * incomplete character (U+FFFD), as HF's DecodeStream does, but at most
     * TK_STREAM_MAX_HOLD of them: a character is at most 4 byte tokens, and
     * without a bound a run of invalid bytes re-decodes a growing tail on
     * every push (quadratic time). */
    int hold = fl <= s->prefix_len || ends_with_fffd(full, fl);
    if (hold && s->n - s->ctx_n <= TK_STREAM_MAX_HOLD) {
        free(full);
        *text = elm_str_dupn("", 0);
        return *text ? ELM_OK : OOM();
    }
    size_t ol = fl > s->prefix_len ? fl - s->prefix_len : 0;
    char *o = elm_str_dupn(full + (fl - ol), ol);
    *len = ol;
    free(full);
    if (!o)
        return OOM();
    /* the ids just released become the context of the next ones, so that
     * rules about the first token (Strip, Metaspace) do not apply again */
    memmove(s->ids, s->ids + s->ctx_n, (s->n - s->ctx_n) * sizeof *s->ids);
    s->n -= s->ctx_n;
    s->ctx_n = s->n;
    char *ctx;
    elm_status st = elm_tok_decode(s->t, s->ids, s->n, s->flags, &ctx, &s->prefix_len);
    if (st != ELM_OK) {
        free(o);
        return st;
    }
    free(ctx);
    *text = o;
    return ELM_OK;
}

elm_status tk_stream_flush(tk_stream *s, char **text, size_t *len)
{
    size_t dummy;
    if (!len)
        len = &dummy;
    char *full;
    size_t fl;
    ELM_TRY(elm_tok_decode(s->t, s->ids, s->n, s->flags, &full, &fl));
    char *o = fl > s->prefix_len ? elm_str_dupn(full + s->prefix_len, fl - s->prefix_len) : elm_str_dupn("", 0);
    *len = fl > s->prefix_len ? fl - s->prefix_len : 0;
    free(full);
    if (!o)
        return OOM();
    s->n = s->ctx_n = 0;
    s->prefix_len = 0;
    *text = o;
    return ELM_OK;
}

void tk_stream_free(tk_stream *s)
{
    if (!s)
        return;
    free(s->ids);
    free(s);
}
