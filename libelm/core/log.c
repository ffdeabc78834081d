#include "core/log.h"

#include <stdatomic.h>
#include <stdio.h>

static elm_log_fn log_fn;
static void *log_user;
static _Atomic int log_max = -1;

void elm_set_log_callback(elm_log_fn fn, void *user, elm_log_level max_level)
{
    log_fn = fn;
    log_user = user;
    atomic_store(&log_max, fn ? (int)max_level : -1);
}

int elm_log_enabled(elm_log_level level) { return (int)level <= atomic_load(&log_max); }

void elm_log(elm_log_level level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    elm_log_fn fn = log_fn;
    if (!fn || !elm_log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fn(level, buf, log_user);
}
