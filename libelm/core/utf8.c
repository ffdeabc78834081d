#include "core/utf8.h"

size_t elm_utf8_lead(unsigned c, unsigned *lo, unsigned *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF) {
        if (c == 0xE0)
            *lo = 0xA0; /* overlong */
        else if (c == 0xED)
            *hi = 0x9F; /* surrogates */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (c == 0xF0)
            *lo = 0x90; /* overlong */
        else if (c == 0xF4)
            *hi = 0x8F; /* > U+10FFFF */
        return 4;
    }
    return 0;
}

size_t elm_utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned lo, hi;
    size_t need = n ? elm_utf8_lead(s[0], &lo, &hi) : 0;
    if (need <= 1 || n < need)
        return need <= 1 ? need : 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return need;
}

size_t elm_utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

size_t elm_utf8_prefix(const char *s, size_t len, size_t n)
{
    size_t i = 0, cps = 0;
    for (; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (cps == n)
                break;
            cps++;
        }
    }
    return i;
}
