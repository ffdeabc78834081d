/* UTF-8 helpers and Unicode NFC (canonical decomposition, canonical
 * ordering, canonical composition) over the generated nfc_tables.c. */
#include "tokenizer/nfc.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/utf8.h"

size_t tk_utf8_bad_len(const unsigned char *s, size_t n)
{
    /* the longest prefix of a valid sequence, at least one byte */
    unsigned lo, hi;
    size_t need = elm_utf8_lead(s[0], &lo, &hi);
    if (need <= 1)
        return 1;
    size_t i = 1;
    if (i < n && i < need && s[1] >= lo && s[1] <= hi) {
        i++;
        while (i < n && i < need && s[i] >= 0x80 && s[i] <= 0xBF)
            i++;
    }
    return i;
}

uint32_t tk_utf8_decode(const unsigned char *s, size_t *len)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *len = 1;
        return c;
    }
    if (c < 0xE0) {
        *len = 2;
        return ((c & 0x1Fu) << 6) | (s[1] & 0x3Fu);
    }
    if (c < 0xF0) {
        *len = 3;
        return ((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
    }
    *len = 4;
    return ((c & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
}

size_t tk_utf8_encode(uint32_t cp, char *o)
{
    unsigned char *out = (unsigned char *)o;
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

int tk_utf8_is_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t l = elm_utf8_seq_len(u + i, n - i);
        if (!l)
            return 0;
        i += l;
    }
    return 1;
}

elm_status tk_utf8_lossy(const char *s, size_t n, char **out, size_t *out_len)
{
    const unsigned char *u = (const unsigned char *)s;
    char *o = malloc(n * 3 + 1); /* each bad byte becomes at most 3 bytes */
    if (!o)
        return elm_err(ELM_E_NOMEM, "tokenizer: out of memory (%zu bytes)", n * 3 + 1);
    size_t i = 0, k = 0;
    while (i < n) {
        size_t l = u[i] < 0x80 ? 1 : elm_utf8_seq_len(u + i, n - i);
        if (l) {
            memcpy(o + k, u + i, l);
            k += l;
            i += l;
        } else {
            i += tk_utf8_bad_len(u + i, n - i);
            memcpy(o + k, "\xEF\xBF\xBD", 3);
            k += 3;
        }
    }
    o[k] = 0;
    *out = o;
    *out_len = k;
    return ELM_OK;
}

int tk_is_whitespace(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

/* ---- NFC ---------------------------------------------------------------- */

enum { SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7, LCount = 19, VCount = 21,
       TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount };

static unsigned ccc_of(uint32_t cp)
{
    if (cp < 0x300)
        return 0;
    size_t lo = 0, hi = tk_ccc_count;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (tk_ccc_table[m].cp < cp)
            lo = m + 1;
        else
            hi = m;
    }
    return lo < tk_ccc_count && tk_ccc_table[lo].cp == cp ? tk_ccc_table[lo].ccc : 0;
}

static const tk_decomp_entry *decomp_of(uint32_t cp)
{
    if (cp < 0xC0)
        return NULL;
    size_t lo = 0, hi = tk_decomp_count;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (tk_decomp_table[m].cp < cp)
            lo = m + 1;
        else
            hi = m;
    }
    return lo < tk_decomp_count && tk_decomp_table[lo].cp == cp ? &tk_decomp_table[lo] : NULL;
}

static uint32_t compose(uint32_t a, uint32_t b)
{
    if (a >= LBase && a < LBase + LCount && b >= VBase && b < VBase + VCount)
        return SBase + ((a - LBase) * VCount + (b - VBase)) * TCount;
    if (a >= SBase && a < SBase + SCount && (a - SBase) % TCount == 0 && b > TBase && b < TBase + TCount)
        return a + (b - TBase);
    size_t lo = 0, hi = tk_comp_count;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        const tk_comp_entry *e = &tk_comp_table[m];
        if (e->a < a || (e->a == a && e->b < b))
            lo = m + 1;
        else
            hi = m;
    }
    if (lo < tk_comp_count && tk_comp_table[lo].a == a && tk_comp_table[lo].b == b)
        return tk_comp_table[lo].c;
    return 0;
}

elm_status tk_nfc(const char *s, size_t n, char **out, size_t *out_len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    /* fast path: below U+0300 nothing decomposes into or composes with a mark
     * except Latin-1 letters followed by marks; scan for any byte >= 0xCC */
    int simple = 1;
    for (i = 0; i < n; i++)
        if (u[i] >= 0xCC) {
            simple = 0;
            break;
        }
    if (simple) {
        char *o = malloc(n + 1);
        if (!o)
            return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");
        memcpy(o, s, n);
        o[n] = 0;
        *out = o;
        *out_len = n;
        return ELM_OK;
    }
    uint32_t *cps = malloc((n * 4 + 1) * sizeof *cps); /* decomposition grows by <= 4x */
    if (!cps)
        return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");
    size_t k = 0;
    for (i = 0; i < n;) {
        size_t l;
        uint32_t cp = tk_utf8_decode(u + i, &l);
        i += l;
        if (cp >= SBase && cp < SBase + SCount) {
            uint32_t si = cp - SBase;
            cps[k++] = LBase + si / NCount;
            cps[k++] = VBase + (si % NCount) / TCount;
            if (si % TCount)
                cps[k++] = TBase + si % TCount;
            continue;
        }
        const tk_decomp_entry *d = decomp_of(cp);
        if (!d) {
            cps[k++] = cp;
            continue;
        }
        for (int j = 0; j < 4 && d->d[j]; j++)
            cps[k++] = d->d[j];
    }
    /* canonical ordering: stable insertion sort of each run of non-starters */
    for (size_t a = 1; a < k; a++) {
        unsigned ca = ccc_of(cps[a]);
        if (!ca)
            continue;
        size_t b = a;
        while (b > 0) {
            unsigned cb = ccc_of(cps[b - 1]);
            if (cb <= ca)
                break;
            uint32_t t = cps[b];
            cps[b] = cps[b - 1];
            cps[b - 1] = t;
            b--;
        }
    }
    /* canonical composition */
    size_t w = 0;
    long starter = -1;
    int last_cc = -1; /* ccc of the last character kept after the starter */
    for (size_t r = 0; r < k; r++) {
        uint32_t c = cps[r];
        int cc = (int)ccc_of(c);
        if (starter >= 0 && (last_cc == -1 || last_cc < cc)) {
            uint32_t comp = compose(cps[starter], c);
            if (comp) {
                cps[starter] = comp;
                continue;
            }
        }
        if (cc == 0) {
            starter = (long)w;
            last_cc = -1;
        } else
            last_cc = cc;
        cps[w++] = c;
    }
    char *o = malloc(w * 4 + 1);
    if (!o) {
        free(cps);
        return elm_err(ELM_E_NOMEM, "tokenizer: out of memory");
    }
    size_t ol = 0;
    for (size_t r = 0; r < w; r++)
        ol += tk_utf8_encode(cps[r], o + ol);
    o[ol] = 0;
    free(cps);
    *out = o;
    *out_len = ol;
    return ELM_OK;
}
