/* Kill-during-save: a child process resumes an erasure session from an
 * adapter directory and saves it again and again (elm_session_save: PEFT
 * adapter + resume state, committed with io/atomic.h's directory protocol);
 * the parent SIGKILLs it at a random point inside a save, then checks
 *   - the final directory name never holds a partial directory: when it
 *     exists, all four files are there and parse (adapter_config.json,
 *     adapter_model.safetensors, elm_state.json, elm_state.safetensors),
 *     the adapter attaches to the model and the session resumes from it;
 *   - its step is the previous state or the one being saved, never older;
 *   - when it is missing (the kill fell between the two renames of the
 *     commit) a complete backup exists and elm_session_resume (through
 *     elm_atomic_dir_prepare_read) restores it;
 *   - stale ".adapter.tmp.*" / ".adapter.old.*" siblings do not pile up:
 *     the next save's elm_atomic_dir_begin removes them, so at most one of
 *     each (the killed save's) is there after a kill. The test itself never
 *     removes them between rounds.
 *
 * Environment: ELM_CRASH_ROUNDS (default 100), ELM_CRASH_SEED (default: time),
 * ELM_CRASH_STRICT=1 fails a round in which the final directory is missing.
 * The child is this executable run again with --child (fork + exec: libtorch
 * is not fork-safe once used). Exit 0: pass; 1: a check failed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "elm.h"
#include "io/atomic.h"
#include "io/json.h"
#include "io/safetensors.h"

#ifndef ELM_SOURCE_ROOT
#define ELM_SOURCE_ROOT "."
#endif

static char root[4096];

static const char *src(const char *rel)
{
    static char b[4][4300];
    static int k;
    k = (k + 1) & 3;
    snprintf(b[k], sizeof b[k], "%s/%s", root, rel);
    return b[k];
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define DIE(...)                              \
    do {                                      \
        fprintf(stderr, "crash test: " __VA_ARGS__); \
        fprintf(stderr, "\n");                \
        exit(1);                              \
    } while (0)
#define OK(call)                                                                              \
    do {                                                                                      \
        elm_status st_ = (call);                                                              \
        if (st_ != ELM_OK)                                                                    \
            DIE("%s:%d: %s -> %s: %s", __FILE__, __LINE__, #call, elm_status_name(st_), elm_last_error()); \
    } while (0)

typedef struct run {
    elm_config *cfg;
    elm_model *m;
    elm_session *s;
} run;

static void open_run(run *r)
{
    static const char *const kv[] = {"lora.rank", "2", "lora.alpha", "4", "lora.layers", "5-6",
                                     "optim.accum", "1", "optim.lr", "1e-3", "erase.concept", "zephyrite",
                                     "runtime.seed", "7", "runtime.threads", "1", NULL};
    OK(elm_config_new(&r->cfg));
    for (int i = 0; kv[i]; i += 2)
        OK(elm_config_set(r->cfg, kv[i], kv[i + 1]));
    OK(elm_model_load(src("tests/fixtures/models/llama-tied"), r->cfg, &r->m));
    OK(elm_session_new(r->m, r->cfg, &r->s));
    static const char *const data[3] = {"tests/fixtures/erase/forget0.jsonl", "tests/fixtures/erase/retain.jsonl",
                                        "tests/fixtures/erase/consistency.json"};
    static const elm_role roles[3] = {ELM_ROLE_FORGET, ELM_ROLE_RETAIN, ELM_ROLE_CONSISTENCY};
    for (int i = 0; i < 3; i++) {
        elm_dataset *ds;
        OK(elm_dataset_load(src(data[i]), r->cfg, &ds));
        OK(elm_session_attach(r->s, roles[i], 0, ds));
        elm_dataset_free(ds);
    }
}

static void close_run(run *r)
{
    elm_session_free(r->s);
    elm_model_free(r->m);
    elm_config_free(r->cfg);
}

/* ---- child: resume if there is a state, then step + save forever ---- */
static int child(const char *dir, int fd)
{
    run r;
    open_run(&r);
    struct stat sb;
    if (stat(dir, &sb) == 0)
        OK(elm_session_resume(r.s, dir));
    dprintf(fd, "ready\n");
    elm_step_stats stats;
    ELM_STRUCT_INIT(&stats);
    int64_t step = 0;
    for (int i = 0;; i++) {
        if (i % 2 == 0) { /* a new version every other save */
            OK(elm_session_step(r.s, &stats));
            step = stats.step;
        }
        dprintf(fd, "saving %lld\n", (long long)step);
        OK(elm_session_save(r.s, dir));
        dprintf(fd, "saved %lld\n", (long long)step);
    }
}

/* ---- parent ---- */
static int read_step(const char *dir, int64_t *step)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/elm_state.json", dir);
    json_object *o = NULL;
    if (elm_json_parse_file(p, &o) != ELM_OK)
        return -1;
    int rc = elm_json_get_int(p, o, "step", step) == ELM_OK ? 0 : -1;
    json_object_put(o);
    return rc;
}

/* The four files are there and parse; the adapter attaches; the session resumes. */
static void check_complete(run *r, const char *dir, int round)
{
    static const char *const files[4] = {"adapter_config.json", "adapter_model.safetensors", "elm_state.json",
                                         "elm_state.safetensors"};
    char p[4300];
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        struct stat sb;
        if (stat(p, &sb) != 0)
            DIE("round %d: %s missing from the final directory (a partial directory under the final name)", round, p);
        if (strstr(files[i], ".json")) {
            json_object *o = NULL;
            OK(elm_json_parse_file(p, &o));
            json_object_put(o);
        } else {
            elm_safetensors *st = NULL;
            OK(elm_st_open(p, &st));
            elm_st_close(st);
        }
    }
    OK(elm_model_load_adapter(r->m, dir));
    OK(elm_model_unload_adapter(r->m));
    OK(elm_session_resume(r->s, dir));
}

typedef struct siblings {
    int tmp, old;
} siblings;

static siblings count_siblings(const char *parent)
{
    siblings s = {0, 0};
    DIR *d = opendir(parent);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        s.tmp += strncmp(e->d_name, ".adapter.tmp.", 13) == 0;
        s.old += strncmp(e->d_name, ".adapter.old.", 13) == 0;
    }
    if (d)
        closedir(d);
    return s;
}

/* Read one line from fd within timeout seconds; 0 on timeout/EOF. */
static int read_line(int fd, char *buf, size_t cap, double timeout)
{
    size_t n = 0;
    double end = now() + timeout;
    while (n + 1 < cap) {
        int ms = (int)((end - now()) * 1000);
        if (ms <= 0)
            return 0;
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, ms) <= 0)
            continue;
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r <= 0)
            return 0;
        if (c == '\n') {
            buf[n] = 0;
            return 1;
        }
        buf[n++] = c;
    }
    buf[n] = 0;
    return 1;
}

static int rmtree_cb(const char *dir)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

int main(int argc, char **argv)
{
    const char *r0 = getenv("ELM_SOURCE_ROOT");
    snprintf(root, sizeof root, "%s", r0 && *r0 ? r0 : ELM_SOURCE_ROOT);
    if (argc == 4 && strcmp(argv[1], "--child") == 0)
        return child(argv[2], atoi(argv[3]));

    int rounds = getenv("ELM_CRASH_ROUNDS") ? atoi(getenv("ELM_CRASH_ROUNDS")) : 100;
    unsigned seed = getenv("ELM_CRASH_SEED") ? (unsigned)strtoul(getenv("ELM_CRASH_SEED"), NULL, 10)
                                             : (unsigned)time(NULL) ^ (unsigned)getpid();
    int strict = getenv("ELM_CRASH_STRICT") && atoi(getenv("ELM_CRASH_STRICT"));
    srand(seed);
    printf("crash test: %d rounds, seed %u (ELM_CRASH_SEED to repeat)\n", rounds, seed);
    fflush(stdout);

    const char *tmp = getenv("TMPDIR");
    char parent[4096], dir[4200];
    snprintf(parent, sizeof parent, "%s/elm-crash.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(parent))
        DIE("mkdtemp: %s", strerror(errno));
    snprintf(dir, sizeof dir, "%s/adapter", parent);

    run r;
    open_run(&r);
    int64_t disk_step = -1; /* step of the state on disk; -1: none yet */
    double save_s = 0.02;   /* running estimate of one save's duration */
    int recovered = 0, killed_in_save = 0, max_tmp = 0, max_old = 0;
    for (int round = 0; round < rounds; round++) {
        int pfd[2];
        if (pipe(pfd) != 0)
            DIE("pipe: %s", strerror(errno));
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            DIE("fork: %s", strerror(errno));
        if (pid == 0) {
            close(pfd[0]);
            char fdtxt[16];
            snprintf(fdtxt, sizeof fdtxt, "%d", pfd[1]);
            execl("/proc/self/exe", argv[0], "--child", dir, fdtxt, (char *)NULL);
            _exit(127);
        }
        close(pfd[1]);
        char line[128];
        if (!read_line(pfd[0], line, sizeof line, 300) || strcmp(line, "ready") != 0)
            DIE("round %d: the child did not start (%s)", round, line);
        /* kill inside the k-th save, at a random fraction of a save */
        int k = 1 + rand() % 3, saving = 0;
        int64_t last_saving = -1, last_saved = -1;
        double t_saving = 0;
        while (saving < k) {
            if (!read_line(pfd[0], line, sizeof line, 300))
                DIE("round %d: the child stopped talking", round);
            long long v;
            if (sscanf(line, "saving %lld", &v) == 1) {
                last_saving = v;
                saving++;
                t_saving = now();
            } else if (sscanf(line, "saved %lld", &v) == 1) {
                last_saved = v;
                save_s = 0.8 * save_s + 0.2 * (now() - t_saving);
            }
        }
        double delay = ((double)rand() / RAND_MAX) * 1.3 * save_s;
        struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        /* what the child said before it died */
        int fl = fcntl(pfd[0], F_GETFL);
        fcntl(pfd[0], F_SETFL, fl | O_NONBLOCK);
        while (read_line(pfd[0], line, sizeof line, 0.05)) {
            long long v;
            if (sscanf(line, "saved %lld", &v) == 1)
                last_saved = v;
            else if (sscanf(line, "saving %lld", &v) == 1)
                last_saving = v;
        }
        close(pfd[0]);
        if (last_saved != last_saving)
            killed_in_save++;

        siblings sb = count_siblings(parent);
        max_tmp = sb.tmp > max_tmp ? sb.tmp : max_tmp;
        max_old = sb.old > max_old ? sb.old : max_old;
        struct stat st;
        /* Every save starts with the recovery rule, which removes what
         * earlier kills left: one temporary and one backup at most (those
         * of the save that was killed). */
        if (sb.tmp > 1 || sb.old > 1)
            DIE("round %d: %d stale .adapter.tmp.* and %d .adapter.old.* siblings (at most 1 each expected)", round,
                sb.tmp, sb.old);
        if (stat(dir, &st) != 0) {
            if (strict)
                DIE("round %d: %s missing after the kill (ELM_CRASH_STRICT)", round, dir);
            if (sb.old == 0 && disk_step >= 0)
                DIE("round %d: %s missing and no backup to recover it from: state lost", round, dir);
            if (disk_step >= 0) {
                /* the public loaders repair it themselves */
                OK(elm_session_resume(r.s, dir));
                recovered++;
                if (stat(dir, &st) != 0)
                    DIE("round %d: %s still missing after elm_session_resume", round, dir);
            }
        }
        if (stat(dir, &st) == 0) {
            check_complete(&r, dir, round);
            int64_t step;
            if (read_step(dir, &step) != 0)
                DIE("round %d: cannot read the step of %s", round, dir);
            /* the newest completed save, or the one in progress */
            int64_t lo = last_saved >= 0 ? last_saved : disk_step;
            if (step < lo || step > last_saving)
                DIE("round %d: the directory holds step %lld; expected %lld..%lld (previous state or the one "
                    "being saved)",
                    round, (long long)step, (long long)lo, (long long)last_saving);
            disk_step = step;
        }
    }
    close_run(&r);
    printf("crash test: %d rounds passed: %d killed inside a save, %d restored by elm_session_resume "
           "(final name missing between the commit's two renames); at most %d stale tmp and %d stale old "
           "siblings; final step %lld\n",
           rounds, killed_in_save, recovered, max_tmp, max_old, (long long)disk_step);
    rmtree_cb(parent);
    return 0;
}
