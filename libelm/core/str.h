/* Small string tests shared by every layer. */
#ifndef ELM_CORE_STR_H
#define ELM_CORE_STR_H

#include <stddef.h>

/* 1 when s ends with suf (byte for byte), else 0. */
int elm_str_has_suffix(const char *s, const char *suf);
/* The same, ignoring ASCII case (file names: "MODEL.GGUF", ".Safetensors"). */
int elm_str_has_suffix_nocase(const char *s, const char *suf);

/* s with every non-overlapping occurrence of pat removed, left to right
 * (Python's s.replace(pat, "")); pat "" returns a copy. Ownership: free();
 * NULL: out of memory. */
char *elm_str_remove_all(const char *s, const char *pat);
/* The n bytes at s (NUL bytes included) as a new NUL-terminated string, or
 * NULL when out of memory. Ownership: free(). */
char *elm_str_dupn(const char *s, size_t n);

#endif
