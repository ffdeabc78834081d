/* The one size policy of elm.h's caller-filled public structs
 * (elm_key_info, elm_model_info, elm_step_stats, elm_ppl_result): the caller
 * sets `size` to sizeof the struct as its elm.h declares it (ELM_STRUCT_INIT);
 * libelm writes exactly the first min(size, its own sizeof) bytes, so a
 * caller built against an older, shorter header gets the fields it knows and
 * nothing past its struct; `size` itself is left as the caller set it. A size
 * below sizeof(uint32_t) (0: not initialised) is ELM_E_INVALID. */
#ifndef ELM_CORE_STRUCT_SIZE_H
#define ELM_CORE_STRUCT_SIZE_H

#include <stddef.h>
#include <stdint.h>

#include "elm.h"

/* ELM_OK if *out (a public struct, its uint32_t size first) may be filled;
 * ELM_E_INVALID "fn: what->size is N: set it with ELM_STRUCT_INIT" if not. */
elm_status elm_struct_check(const char *fn, const char *what, const void *out);
/* Copy `full` (full_size bytes, laid out as *out) into out as far as out's
 * size reaches, keeping out's size field. */
void elm_struct_fill(void *out, const void *full, size_t full_size);

#endif
