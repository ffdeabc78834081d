/* core/cpuload: the CPUs this process may use, and those other processes
 * keep busy. A child process that spins is counted (in every one of the
 * samples: it is always runnable); this process's own spinning thread is
 * not; the automatic thread count never exceeds the affinity mask nor drops
 * below 1. */
#include "testutil.h"

#include "core/cpuload.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void settle(void)
{
    struct timespec ts = {0, 200000000};
    nanosleep(&ts, NULL);
}

START_TEST(test_affinity)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    ck_assert_int_eq(elm_cpu_affinity_count(), CPU_COUNT(&set));
    int busy = -1;
    int n = elm_cpu_auto_threads(&busy);
    ck_assert_int_ge(busy, 0);
    ck_assert_int_ge(n, 1);
    ck_assert_int_le(n, elm_cpu_affinity_count());
}
END_TEST

START_TEST(test_busy_child_counted)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        volatile unsigned long x = 0;
        for (;;)
            x++;
    }
    settle();
    int busy = elm_cpu_busy_elsewhere();
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_assert_msg(busy >= 1, "a spinning child process was not counted (busy %d)", busy);
}
END_TEST

static atomic_int stop;

static void *spin(void *arg)
{
    (void)arg;
    volatile unsigned long x = 0;
    while (!atomic_load(&stop))
        x++;
    return NULL;
}

/* this process's own threads are not "other work": with a spinning thread
 * of ours the count is what it is without it (other processes on the
 * machine may differ between the two reads, so compare each with a fresh
 * read taken right after) */
START_TEST(test_own_threads_not_counted)
{
    int base = elm_cpu_busy_elsewhere();
    pthread_t t;
    atomic_store(&stop, 0);
    ck_assert_int_eq(pthread_create(&t, NULL, spin, NULL), 0);
    settle();
    int with = elm_cpu_busy_elsewhere();
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    int after = elm_cpu_busy_elsewhere();
    int lo = base < after ? base : after, hi = base > after ? base : after;
    ck_assert_msg(with <= hi, "own spinning thread counted as other work: %d before, %d with it, %d after", base,
                  with, after);
    (void)lo;
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cpuload");
    TCase *tc = tcase_create("cpuload");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_affinity);
    tcase_add_test(tc, test_busy_child_counted);
    tcase_add_test(tc, test_own_threads_not_counted);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
