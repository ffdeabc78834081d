/* Seconds on the monotonic clock: for durations (progress, ETA, timings), not dates. */
#ifndef ELM_CORE_CLOCK_H
#define ELM_CORE_CLOCK_H

double elm_clock_s(void);

#endif
