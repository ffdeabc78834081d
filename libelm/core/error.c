#include "core/error.h"

#include <stdio.h>
#include <string.h>

#define ELM_ERR_CAP 2048

static _Thread_local char err_buf[ELM_ERR_CAP];

elm_status elm_verr(elm_status status, const char *fmt, va_list ap)
{
    vsnprintf(err_buf, sizeof err_buf, fmt, ap);
    return status;
}

elm_status elm_err(elm_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    elm_verr(status, fmt, ap);
    va_end(ap);
    return status;
}

elm_status elm_err_context(elm_status status, const char *fmt, ...)
{
    char old[ELM_ERR_CAP];
    char ctx[512];
    va_list ap;
    memcpy(old, err_buf, sizeof old);
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    /* ctx + ": " + old, cut to the buffer (built by hand: snprintf's
     * truncation warning cannot tell that cutting is intended here). */
    size_t n = strlen(ctx), m = strlen(old), cap = sizeof err_buf - 1;
    if (n > cap)
        n = cap;
    memcpy(err_buf, ctx, n);
    size_t pos = n;
    for (const char *sep = ": "; *sep && pos < cap; sep++)
        err_buf[pos++] = *sep;
    if (m > cap - pos)
        m = cap - pos;
    memcpy(err_buf + pos, old, m);
    err_buf[pos + m] = '\0';
    return status;
}

void elm_err_clear(void) { err_buf[0] = '\0'; }

const char *elm_last_error(void) { return err_buf; }

const char *elm_status_name(elm_status status)
{
    switch (status) {
    case ELM_OK: return "ELM_OK";
    case ELM_E_INVALID: return "ELM_E_INVALID";
    case ELM_E_IO: return "ELM_E_IO";
    case ELM_E_FORMAT: return "ELM_E_FORMAT";
    case ELM_E_UNSUPPORTED: return "ELM_E_UNSUPPORTED";
    case ELM_E_NOMEM: return "ELM_E_NOMEM";
    case ELM_E_DEVICE: return "ELM_E_DEVICE";
    case ELM_E_NUMERIC: return "ELM_E_NUMERIC";
    case ELM_E_CANCELLED: return "ELM_E_CANCELLED";
    case ELM_E_STATE: return "ELM_E_STATE";
    case ELM_E_INTERNAL: return "ELM_E_INTERNAL";
    }
    return "ELM_E_UNKNOWN";
}
