#include "core/struct_size.h"

#include <string.h>

#include "core/error.h"

static uint32_t size_of(const void *out)
{
    uint32_t size;
    memcpy(&size, out, sizeof size);
    return size;
}

elm_status elm_struct_check(const char *fn, const char *what, const void *out)
{
    if (!out)
        return elm_err(ELM_E_INVALID, "%s: invalid argument '%s'", fn, what);
    uint32_t size = size_of(out);
    if (size < sizeof(uint32_t))
        return elm_err(ELM_E_INVALID, "%s: %s->size is %u: set it with ELM_STRUCT_INIT", fn, what, size);
    return ELM_OK;
}

void elm_struct_fill(void *out, const void *full, size_t full_size)
{
    uint32_t size = size_of(out);
    memcpy(out, full, size < full_size ? size : full_size);
    memcpy(out, &size, sizeof size);
}
