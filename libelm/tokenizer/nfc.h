/* Unicode helpers for the tokenizer: UTF-8 decoding/encoding, lossy
 * repair of invalid UTF-8, the White_Space property and NFC. */
#ifndef ELM_TOKENIZER_NFC_H
#define ELM_TOKENIZER_NFC_H

#include <stddef.h>
#include <stdint.h>

#include "elm.h"

typedef struct { uint32_t cp; uint8_t ccc; } tk_ccc_entry;
typedef struct { uint32_t cp; uint32_t d[4]; } tk_decomp_entry;
typedef struct { uint32_t a, b, c; } tk_comp_entry;
extern const tk_ccc_entry tk_ccc_table[];
extern const unsigned tk_ccc_count;
extern const tk_decomp_entry tk_decomp_table[];
extern const unsigned tk_decomp_count;
extern const tk_comp_entry tk_comp_table[];
extern const unsigned tk_comp_count;

/* Length of the maximal subpart of an ill-formed sequence at s (>= 1):
 * what one U+FFFD replaces, as Python's and Rust's lossy decoders do. */
size_t tk_utf8_bad_len(const unsigned char *s, size_t n);
/* Decode one code point of valid UTF-8 at s; sets *len. */
uint32_t tk_utf8_decode(const unsigned char *s, size_t *len);
/* Encode cp into out (4 bytes room); returns the length. */
size_t tk_utf8_encode(uint32_t cp, char *out);
/* 1 if s[0..n) is valid UTF-8. */
int tk_utf8_is_valid(const char *s, size_t n);
/* Copy with every ill-formed subsequence replaced by U+FFFD.
 * Ownership: *out malloc'd (NUL-terminated). */
elm_status tk_utf8_lossy(const char *s, size_t n, char **out, size_t *out_len);

/* Unicode White_Space (Rust char::is_whitespace). */
int tk_is_whitespace(uint32_t cp);

/* NFC of valid UTF-8. Ownership: *out malloc'd (NUL-terminated). */
elm_status tk_nfc(const char *s, size_t n, char **out, size_t *out_len);

#endif
