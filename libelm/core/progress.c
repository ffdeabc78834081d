#include "core/progress.h"

#include <string.h>

#include "core/clock.h"

int elm_progress_report(elm_progress_fn fn, void *user, const char *what, uint64_t done, uint64_t total, double t0,
                        const char *detail)
{
    if (!fn)
        return 0;
    elm_progress p;
    memset(&p, 0, sizeof p);
    p.size = sizeof p;
    p.what = what;
    p.done = done;
    p.total = total;
    p.seconds = t0 > 0 ? elm_clock_s() - t0 : 0;
    p.detail = detail;
    return fn(&p, user);
}
