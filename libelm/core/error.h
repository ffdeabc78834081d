/* Per-thread error message and status helpers shared by every layer. */
#ifndef ELM_CORE_ERROR_H
#define ELM_CORE_ERROR_H

#include "elm.h"
#include <stdarg.h>

#if defined(__GNUC__)
#define ELM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ELM_PRINTF(a, b)
#endif

/* Set this thread's message and return `status` (so callers can
 * `return elm_err(ELM_E_FORMAT, "%s: ...", path);`). */
elm_status elm_err(elm_status status, const char *fmt, ...) ELM_PRINTF(2, 3);
elm_status elm_verr(elm_status status, const char *fmt, va_list ap);
/* Prepend context to the current message: "ctx: <old message>". */
elm_status elm_err_context(elm_status status, const char *fmt, ...) ELM_PRINTF(2, 3);
void elm_err_clear(void);

/* Propagate a failing status. */
#define ELM_TRY(expr)                       \
    do {                                    \
        elm_status elm_try_st_ = (expr);    \
        if (elm_try_st_ != ELM_OK)          \
            return elm_try_st_;             \
    } while (0)

/* Argument checks for public entry points. */
#define ELM_CHECK_ARG(cond, name)                                               \
    do {                                                                        \
        if (!(cond))                                                            \
            return elm_err(ELM_E_INVALID, "%s: invalid argument '%s'", __func__, name); \
    } while (0)

#endif
