/* Version, memory and runtime entry points of the public API. */
#include "core/error.h"
#include "tensor/shim.h"

#include <stdlib.h>

#define ELM_STR2(x) #x
#define ELM_STR(x) ELM_STR2(x)

int elm_version(void) { return ELM_VERSION_NUMBER; }

const char *elm_version_string(void)
{
    return ELM_STR(ELM_VERSION_MAJOR) "." ELM_STR(ELM_VERSION_MINOR) "." ELM_STR(ELM_VERSION_PATCH);
}

void elm_free(void *ptr) { free(ptr); }

int elm_cuda_available(void) { return et_cuda_available(); }

int elm_cuda_device_count(void) { return et_cuda_device_count(); }

elm_status elm_set_num_threads(int n)
{
    if (n < 0)
        return elm_err(ELM_E_INVALID, "elm_set_num_threads: n must be >= 0 (0 = all CPUs this process may use), got %d", n);
    return et_set_num_threads(n);
}

int elm_get_num_threads(void) { return et_get_num_threads(); }

const char *elm_backend_version(void) { return et_backend_version(); }
