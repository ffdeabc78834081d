#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "core/cpuload.h"

#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int elm_cpu_affinity_count(void)
{
#ifdef __linux__
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
#endif
    return 1;
}

/* Running threads of the whole system (/proc/loadavg's 4th field "R/T"),
 * -1 when unknown. */
static int running_total(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f)
        return -1;
    double a, b, c;
    int r = -1, t = 0;
    if (fscanf(f, "%lf %lf %lf %d/%d", &a, &b, &c, &r, &t) != 5)
        r = -1;
    fclose(f);
    return r;
}

/* This process's threads in state R, -1 when unknown. */
static int running_self(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t k = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[k] = 0;
        /* "tid (comm) S ...": the state follows the last ')' */
        char *p = strrchr(buf, ')');
        if (p && p[1] == ' ' && p[2] == 'R')
            n++;
    }
    closedir(d);
    return n;
}

int elm_cpu_busy_elsewhere(void)
{
    int best = -1;
    for (int i = 0; i < 4; i++) {
        if (i) {
            struct timespec ts = {0, 5000000};
            nanosleep(&ts, NULL);
        }
        int r = running_total(), s = running_self();
        if (r < 0 || s < 0)
            return 0;
        /* the reading thread is running; a count can lag a little */
        int o = r - (s > 0 ? s : 1);
        if (o < 0)
            o = 0;
        if (best < 0 || o < best)
            best = o;
    }
    return best < 0 ? 0 : best;
}

int elm_cpu_auto_threads(int *busy)
{
    int n = elm_cpu_affinity_count(), b = elm_cpu_busy_elsewhere();
    if (busy)
        *busy = b;
    return n - b >= 1 ? n - b : 1;
}
