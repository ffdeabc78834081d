/* Logging to the user's callback; the library never prints. */
#ifndef ELM_CORE_LOG_H
#define ELM_CORE_LOG_H

#include "core/error.h"

void elm_log(elm_log_level level, const char *fmt, ...) ELM_PRINTF(2, 3);
int elm_log_enabled(elm_log_level level);

#endif
