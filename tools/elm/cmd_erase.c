/* elm erase: train an ELM erasure adapter (or a fine-tuning one) and save it
 * as a PEFT directory. Every configuration key is a flag (flags.h). */
#include "elm.h"
#include "commands.h"
#include "flags.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_erase(int argc, char **argv);

static const elm_cli_alias erase_aliases[] = {
    {"--concept", "erase.concept"}, {"--eta", "erase.eta"},     {"--rank", "lora.rank"},
    {"--alpha", "lora.alpha"},      {"--layers", "lora.layers"}, {"--lr", "optim.lr"},
    {"--accum", "optim.accum"},     {"--seed", "runtime.seed"}, {"--device", "runtime.device"},
    {"--dtype", "runtime.dtype"},   {"--threads", "runtime.threads"}, {"--mix", "erase.mix"},
    {"--objective", "erase.objective"},
};

typedef struct progress_state {
    int tty;
    int64_t steps, start_step;
} progress_state;

static int on_progress(const elm_progress *p, void *user)
{
    progress_state *ps = user;
    if (ps->tty && p->detail && strncmp(p->detail, "step", 4) == 0) {
        fprintf(stderr, "\r\033[K  %s", p->detail);
        fflush(stderr);
    }
    return 0;
}

static void fmt_time(double s, char *buf, size_t cap)
{
    if (!isfinite(s) || s < 0)
        s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

static void report(const progress_state *ps, const elm_step_stats *st, double elapsed)
{
    int64_t done = st->step - ps->start_step, left = ps->steps - st->step;
    double per = done > 0 ? elapsed / (double)done : 0;
    char eta[32], terms[160] = "";
    fmt_time(per * (double)left, eta, sizeof eta);
    size_t n = 0;
    if (!isnan(st->loss_erase))
        n += (size_t)snprintf(terms + n, sizeof terms - n, " erase %.4f", st->loss_erase);
    if (!isnan(st->loss_retain))
        n += (size_t)snprintf(terms + n, sizeof terms - n, " retain %.4f", st->loss_retain);
    if (!isnan(st->loss_consistency))
        n += (size_t)snprintf(terms + n, sizeof terms - n, " cons %.4f", st->loss_consistency);
    if (!isnan(st->loss_train))
        n += (size_t)snprintf(terms + n, sizeof terms - n, " train %.4f", st->loss_train);
    if (ps->tty) {
        const int W = 24;
        int fill = ps->steps > 0 ? (int)((double)W * (double)st->step / (double)ps->steps) : 0;
        char bar[32];
        for (int i = 0; i < W; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[W] = 0;
        fprintf(stderr, "\r\033[K[%s] %lld/%lld loss %.4f%s | %.2fs/step ETA %s", bar, (long long)st->step,
                (long long)ps->steps, st->loss, terms, per, eta);
        if (st->step >= ps->steps)
            fputc('\n', stderr);
        fflush(stderr);
    } else {
        fprintf(stderr, "step %lld/%lld loss %.6f%s grad_norm %.4g lr %.3g tokens %lld %.2fs ETA %s\n",
                (long long)st->step, (long long)ps->steps, st->loss, terms, st->grad_norm, st->lr,
                (long long)st->tokens, st->seconds, eta);
    }
}

static int attach(elm_session *s, elm_config *cfg, elm_role role, const char *path, const char *cmd)
{
    elm_dataset *ds = NULL;
    if (elm_dataset_open(path, cfg, &ds) != ELM_OK)
        return elm_cli_fail(cmd, "%s", elm_last_error());
    int rc = 0;
    if (elm_session_attach(s, role, 0, ds) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    elm_dataset_free(ds);
    return rc;
}

int cmd_erase(int argc, char **argv)
{
    const char *cmd = "erase", *model_path = NULL, *forget = NULL, *retain = NULL, *cons = NULL,
               *train = NULL, *out = NULL, *merged = NULL, *resume = NULL;
    long long steps = -1, save_every = 0, log_every = 0;
    elm_config *cfg = NULL;
    elm_model *m = NULL;
    elm_session *s = NULL;
    int rc = 0;
    if (elm_config_new(&cfg) != ELM_OK)
        return elm_cli_fail(cmd, "out of memory");
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc, handled = 0;
#define STR_OPT(name, var) \
    if (strcmp(a, name) == 0 && has) { var = argv[++i]; continue; }
        STR_OPT("--model", model_path)
        STR_OPT("--forget", forget)
        STR_OPT("--retain", retain)
        STR_OPT("--consistency", cons)
        STR_OPT("--train", train)
        STR_OPT("--out", out)
        STR_OPT("--merged", merged)
        STR_OPT("--resume", resume)
#undef STR_OPT
        if ((strcmp(a, "--steps") == 0 || strcmp(a, "--save-every") == 0 || strcmp(a, "--log-every") == 0) && has) {
            char *end;
            long long v = strtoll(argv[++i], &end, 10);
            if (*end || v < 0) {
                rc = elm_cli_usage(cmd, "%s: expected a non-negative integer, got '%s'", a, argv[i]);
                break;
            }
            if (a[2] == 's' && a[3] == 't')
                steps = v;
            else if (a[2] == 's')
                save_every = v;
            else
                log_every = v;
            continue;
        }
        rc = elm_cli_config_flag(cfg, cmd, argc, argv, &i, erase_aliases,
                                 sizeof erase_aliases / sizeof erase_aliases[0], &handled);
        if (rc == 0 && !handled)
            rc = elm_cli_usage(cmd, "unknown argument %s (every configuration key is a flag: see `elm help keys`)", a);
    }
    int finetune = 0;
    if (rc == 0) {
        const char *obj = "elm";
        elm_config_get_string(cfg, "erase.objective", &obj);
        finetune = strcmp(obj, "finetune") == 0;
        if (train && !finetune) {
            elm_config_set(cfg, "erase.objective", "finetune");
            finetune = 1;
        }
    }
    if (rc == 0 && (!model_path || !out || (finetune ? !train : !forget)))
        rc = elm_cli_usage(cmd, finetune ? "needs --model, --train and --out"
                                         : "needs --model, --forget, --concept and --out");
    if (rc == 0) {
        int64_t cfg_steps = 0;
        elm_config_get_int(cfg, "optim.steps", &cfg_steps);
        if (steps < 0)
            steps = cfg_steps;
        if (steps <= 0)
            rc = elm_cli_usage(cmd, "needs --steps N (optimizer steps)");
        else
            elm_config_set_int(cfg, "optim.steps", steps);
    }
    if (rc == 0 && elm_model_load(model_path, cfg, &m) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    if (rc == 0 && elm_session_create(m, cfg, &s) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    if (rc == 0 && forget && !finetune)
        rc = attach(s, cfg, ELM_ROLE_FORGET, forget, cmd);
    if (rc == 0 && retain && !finetune)
        rc = attach(s, cfg, ELM_ROLE_RETAIN, retain, cmd);
    if (rc == 0 && cons && !finetune)
        rc = attach(s, cfg, ELM_ROLE_CONSISTENCY, cons, cmd);
    if (rc == 0 && train)
        rc = attach(s, cfg, ELM_ROLE_TRAIN, train, cmd);
    progress_state ps = {isatty(2), steps, 0};
    if (rc == 0 && resume) {
        if (elm_session_resume(s, resume) != ELM_OK)
            rc = elm_cli_fail(cmd, "%s", elm_last_error());
    }
    if (rc == 0)
        elm_session_set_progress(s, on_progress, &ps);
    if (log_every <= 0)
        log_every = steps <= 50 ? 1 : steps / 50;
    double elapsed = 0;
    /* run until the session's step count reaches --steps (a resumed
     * session continues from its saved step) */
    for (int first = 1; rc == 0; first = 0) {
        elm_step_stats st;
        ELM_STRUCT_INIT(&st);
        if (elm_session_step(s, &st) != ELM_OK) {
            rc = elm_cli_fail(cmd, "%s", elm_last_error());
            break;
        }
        if (first)
            ps.start_step = st.step - 1;
        elapsed += st.seconds;
        if (ps.tty || st.step % log_every == 0 || st.step >= steps)
            report(&ps, &st, elapsed);
        if (st.step >= steps)
            break;
        if (save_every > 0 && st.step % save_every == 0 && elm_session_save(s, out) != ELM_OK)
            rc = elm_cli_fail(cmd, "%s", elm_last_error());
    }
    if (rc == 0) {
        if (elm_session_save(s, out) != ELM_OK)
            rc = elm_cli_fail(cmd, "%s", elm_last_error());
        else
            fprintf(stderr, "adapter saved to %s (%.1fs of training)\n", out, elapsed);
    }
    if (rc == 0 && merged) {
        if (elm_session_save_merged(s, merged) != ELM_OK)
            rc = elm_cli_fail(cmd, "%s", elm_last_error());
        else
            fprintf(stderr, "merged model saved to %s\n", merged);
    }
    elm_session_free(s);
    elm_model_free(m);
    elm_config_free(cfg);
    return rc;
}
