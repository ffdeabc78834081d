/* Calling the user's progress callback (elm.h elm_progress_fn): one place that
 * fills the struct, so every long call reports the same way. */
#ifndef ELM_CORE_PROGRESS_H
#define ELM_CORE_PROGRESS_H

#include <stdint.h>

#include "elm.h"

/* fn(&{what, done, total, seconds = now - t0 (0 if t0 <= 0), detail}, user).
 * Returns fn's answer (non-zero: cancel), 0 when fn is NULL. */
int elm_progress_report(elm_progress_fn fn, void *user, const char *what, uint64_t done, uint64_t total, double t0,
                        const char *detail);

#endif
