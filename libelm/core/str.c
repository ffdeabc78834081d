#include "core/str.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int has_suffix(const char *s, const char *suf, int nocase)
{
    size_t a = strlen(s), b = strlen(suf);
    if (a < b)
        return 0;
    return (nocase ? strcasecmp(s + a - b, suf) : strcmp(s + a - b, suf)) == 0;
}

int elm_str_has_suffix(const char *s, const char *suf)
{
    return has_suffix(s, suf, 0);
}

int elm_str_has_suffix_nocase(const char *s, const char *suf)
{
    return has_suffix(s, suf, 1);
}

char *elm_str_remove_all(const char *s, const char *pat)
{
    size_t n = strlen(s), k = strlen(pat);
    char *out = malloc(n + 1), *w = out;
    if (!out)
        return NULL;
    for (const char *r = s; *r;) {
        if (k && strncmp(r, pat, k) == 0) {
            r += k;
        } else {
            *w++ = *r++;
        }
    }
    *w = 0;
    return out;
}

char *elm_str_dupn(const char *s, size_t n)
{
    char *c = malloc(n + 1);
    if (c) {
        if (n)
            memcpy(c, s, n);
        c[n] = 0;
    }
    return c;
}
