/* elm_step_bench — libelm's side of bench/elm_step/run.
 *
 *   elm_step_bench step MODEL DATADIR STEPS [key=value ...]
 *       one warm-up optimizer step, then STEPS timed ones through
 *       elm_session_step; prints one JSON line per step and a summary line
 *       with the peak RSS (getrusage) and the load time.
 *   elm_step_bench gemm DTYPE T K N [REPS]
 *       [T×K]·[K×N] through the shim's et_matmul; prints GFLOP/s.
 *   elm_step_bench load MODEL [key=value ...]
 *       load the model only; prints the load time, the peak RSS (getrusage)
 *       and the RSS after load (/proc/self/status VmRSS) as one JSON line.
 *   elm_step_bench convert GGUF OUTDIR
 *       save the model as an HF safetensors directory (fp32, no adapter
 *       change: a fresh LoRA has B = 0, so the merge is the base model).
 * Internal API (tensor/shim.h) only for gemm; the rest is elm.h. */
#include "elm.h"
#include "tensor/shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the whole process (all threads): under contention a
 * better measure of the work than wall time */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static long cur_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static int die(const char *what, elm_status st)
{
    fprintf(stderr, "elm_step_bench: %s: %s (status %d)\n", what, elm_last_error(), (int)st);
    return 1;
}

#define TRY(what, call)                \
    do {                               \
        elm_status st_ = (call);       \
        if (st_ != ELM_OK)             \
            return die(what, st_);     \
    } while (0)

static int cmd_gemm(int argc, char **argv)
{
    if (argc < 6)
        return fprintf(stderr, "usage: gemm DTYPE T K N [REPS]\n"), 2;
    et_dtype dt;
    TRY("dtype", et_parse_dtype(argv[2], &dt));
    int64_t T = atoll(argv[3]), K = atoll(argv[4]), N = atoll(argv[5]);
    int reps = argc > 6 ? atoi(argv[6]) : 20;
    TRY("threads", et_set_num_threads(0));
    et_scope *s = et_scope_new();
    et_device cpu = {0, 0};
    int64_t as[2] = {T, K}, bs[2] = {K, N};
    et_tensor *a = et_zeros(s, dt, 2, as, cpu), *b = et_zeros(s, dt, 2, bs, cpu);
    TRY("uniform", et_uniform_(a, -1, 1));
    TRY("uniform", et_uniform_(b, -1, 1));
    double best = 1e30;
    for (int r = 0; r < reps + 2; r++) {
        et_scope *t = et_scope_new();
        double t0 = now();
        et_tensor *c = et_matmul(t, a, b);
        double dtm = now() - t0;
        TRY("matmul", et_scope_check(t));
        (void)c;
        et_scope_free(t);
        if (r >= 2 && dtm < best)
            best = dtm;
    }
    printf("{\"kind\":\"gemm\",\"dtype\":\"%s\",\"T\":%lld,\"K\":%lld,\"N\":%lld,\"threads\":%d,"
           "\"seconds\":%.6g,\"gflops\":%.2f}\n",
           et_dtype_name(dt), (long long)T, (long long)K, (long long)N, et_get_num_threads(), best,
           2.0 * (double)T * (double)K * (double)N / best / 1e9);
    et_scope_free(s);
    return 0;
}

static int cmd_convert(int argc, char **argv)
{
    if (argc < 4)
        return fprintf(stderr, "usage: convert GGUF OUTDIR\n"), 2;
    elm_config *cfg;
    TRY("config", elm_config_new(&cfg));
    TRY("dtype", elm_config_set(cfg, "runtime.dtype", "float32"));
    TRY("rank", elm_config_set(cfg, "lora.rank", "1"));
    elm_model *m;
    TRY("load", elm_model_load(argv[2], cfg, &m));
    elm_session *s;
    TRY("session", elm_session_new(m, cfg, &s));
    TRY("save_merged", elm_session_save_merged(s, argv[3]));
    elm_session_free(s);
    elm_model_free(m);
    elm_config_free(cfg);
    return 0;
}

static int set_keys(elm_config *cfg, int argc, char **argv, int from);

static int cmd_load(int argc, char **argv)
{
    if (argc < 3)
        return fprintf(stderr, "usage: load MODEL [key=value ...]\n"), 2;
    elm_config *cfg;
    TRY("config", elm_config_new(&cfg));
    if (set_keys(cfg, argc, argv, 3))
        return 2;
    long rss0 = cur_rss_kb();
    double t0 = now();
    elm_model *m;
    TRY("load", elm_model_load(argv[2], cfg, &m));
    double t_load = now() - t0;
    elm_model_info info = {.size = sizeof info};
    TRY("info", elm_model_get_info(m, &info));
    printf("{\"kind\":\"load\",\"model\":\"%s\",\"dtype\":\"%s\",\"load_seconds\":%.3f,"
           "\"rss_before_kb\":%ld,\"rss_after_load_kb\":%ld,\"peak_rss_kb\":%ld}\n",
           argv[2], info.dtype, t_load, rss0, cur_rss_kb(), peak_rss_kb());
    elm_model_free(m);
    elm_config_free(cfg);
    return 0;
}

static int set_keys(elm_config *cfg, int argc, char **argv, int from)
{
    for (int i = from; i < argc; i++) {
        char key[128];
        const char *eq = strchr(argv[i], '=');
        if (!eq || (size_t)(eq - argv[i]) >= sizeof key)
            return fprintf(stderr, "bad key=value: %s\n", argv[i]), 2;
        memcpy(key, argv[i], (size_t)(eq - argv[i]));
        key[eq - argv[i]] = 0;
        TRY(key, elm_config_set(cfg, key, eq + 1));
    }
    return 0;
}

static int cmd_step(int argc, char **argv)
{
    if (argc < 5)
        return fprintf(stderr, "usage: step MODEL DATADIR STEPS [key=value ...]\n"), 2;
    const char *model = argv[2], *dd = argv[3];
    int steps = atoi(argv[4]);
    elm_config *cfg;
    TRY("config", elm_config_new(&cfg));
    TRY("concept", elm_config_set(cfg, "erase.concept", "the island country of Orvanne"));
    if (set_keys(cfg, argc, argv, 5))
        return 2;
    double t0 = now();
    elm_model *m;
    TRY("load", elm_model_load(model, cfg, &m));
    double t_load = now() - t0;
    long rss_load = peak_rss_kb();
    elm_model_info info = {.size = sizeof info};
    TRY("info", elm_model_get_info(m, &info));
    char path[4096];
    elm_dataset *fg, *rt, *cs;
    snprintf(path, sizeof path, "%s/forget.jsonl", dd);
    TRY("forget", elm_dataset_load(path, cfg, &fg));
    snprintf(path, sizeof path, "%s/retain.jsonl", dd);
    TRY("retain", elm_dataset_load(path, cfg, &rt));
    snprintf(path, sizeof path, "%s/consistency.json", dd);
    TRY("consistency", elm_dataset_load(path, cfg, &cs));
    elm_session *s;
    TRY("session", elm_session_new(m, cfg, &s));
    TRY("attach", elm_session_attach(s, ELM_ROLE_FORGET, 0, fg));
    TRY("attach", elm_session_attach(s, ELM_ROLE_RETAIN, 0, rt));
    TRY("attach", elm_session_attach(s, ELM_ROLE_CONSISTENCY, 0, cs));
    for (int i = 0; i <= steps; i++) {
        elm_step_stats st = {.size = sizeof st};
        double a = now(), ca = cpu_now();
        TRY("step", elm_session_step(s, &st));
        double b = now() - a, cb = cpu_now() - ca;
        printf("{\"kind\":\"step\",\"side\":\"libelm\",\"warmup\":%s,\"step\":%lld,\"seconds\":%.4f,"
               "\"cpu_seconds\":%.4f,\"tokens\":%lld,\"loss\":%.6g}\n",
               i == 0 ? "true" : "false", (long long)st.step, b, cb, (long long)st.tokens, st.loss);
        fflush(stdout);
    }
    printf("{\"kind\":\"summary\",\"side\":\"libelm\",\"dtype\":\"%s\",\"load_seconds\":%.3f,"
           "\"rss_after_load_kb\":%ld,\"peak_rss_kb\":%ld,\"rss_end_kb\":%ld}\n",
           info.dtype, t_load, rss_load, peak_rss_kb(), cur_rss_kb());
    elm_session_free(s);
    elm_dataset_free(fg);
    elm_dataset_free(rt);
    elm_dataset_free(cs);
    elm_model_free(m);
    elm_config_free(cfg);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "gemm"))
        return cmd_gemm(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "load"))
        return cmd_load(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "convert"))
        return cmd_convert(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "step"))
        return cmd_step(argc, argv);
    fprintf(stderr, "usage: elm_step_bench step|load|gemm|convert ...\n");
    return 2;
}
