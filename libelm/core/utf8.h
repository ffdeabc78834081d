/* UTF-8 primitives every layer uses: validating one sequence, counting and
 * cutting by code points. (Error-reporting checks of whole files live with
 * their formats: io/dataset.h elm_utf8_check.) */
#ifndef ELM_CORE_UTF8_H
#define ELM_CORE_UTF8_H

#include <stddef.h>

/* Sequence length (1..4) that lead byte c announces, with the allowed range
 * [lo, hi] of the second byte (the rest are 0x80..0xBF); 0 if c cannot lead. */
size_t elm_utf8_lead(unsigned c, unsigned *lo, unsigned *hi);
/* Length (1..4) of the well-formed UTF-8 sequence at s (n bytes available),
 * or 0 if it is ill-formed or truncated (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF). */
size_t elm_utf8_seq_len(const unsigned char *s, size_t n);
/* Code points in len bytes (bytes that are not continuation bytes). */
size_t elm_utf8_count(const char *s, size_t len);
/* Byte length of the first n code points of s (len if it has fewer). */
size_t elm_utf8_prefix(const char *s, size_t len, size_t n);

#endif
