/* How many CPUs this process can use now: its affinity mask, less the CPUs
 * other processes keep busy. runtime.threads = 0 sizes libtorch's pool with
 * it, because a pool with more threads than free CPUs makes every parallel
 * region wait for a thread the scheduler has parked behind the neighbour
 * (bench/RESULTS.md, "beside a busy process"). Linux: /proc/loadavg's
 * running count less this process's own running threads (/proc/self/task);
 * elsewhere, or when /proc cannot be read, nothing is counted as busy. */
#ifndef ELM_CORE_CPULOAD_H
#define ELM_CORE_CPULOAD_H

/* CPUs in this process's affinity mask (at least 1). */
int elm_cpu_affinity_count(void);
/* Runnable threads of other processes now: the least of a few samples
 * taken ~5 ms apart (a neighbour that computes is runnable in all of them,
 * a short blip in one). */
int elm_cpu_busy_elsewhere(void);
/* max(1, elm_cpu_affinity_count() - elm_cpu_busy_elsewhere()); *busy gets
 * the count subtracted when not NULL. */
int elm_cpu_auto_threads(int *busy);

#endif
