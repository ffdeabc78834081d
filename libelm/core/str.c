#include "core/str.h"

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
