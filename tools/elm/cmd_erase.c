/* elm erase: train an ELM erasure adapter (or a fine-tuning one) and save it
 * as a PEFT directory. Every configuration key is a flag (flags.h).
 * Dataset groups (docs/erase.md): the i-th --forget/--retain/--consistency/
 * --concept/--keywords goes to group i; see elm_erase_help below. */
#include "elm.h"
#include "commands.h"
#include "metrics.h"
#include "flags.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_erase(int argc, char **argv);

static const elm_cli_alias erase_aliases[] = {
    {"--eta", "erase.eta"},         {"--rank", "lora.rank"},
    {"--alpha", "lora.alpha"},      {"--layers", "lora.layers"}, {"--lr", "optim.lr"},
    {"--accum", "optim.accum"},     {"--seed", "runtime.seed"}, {"--device", "runtime.device"},
    {"--dtype", "runtime.dtype"},   {"--threads", "runtime.threads"}, {"--mix", "erase.mix"},
    {"--objective", "erase.objective"}, {"--base-model-id", "lora.base_model_id"},
};

const char elm_erase_help[] =
    "usage: elm erase --model M --forget F [--retain R] [--consistency C] --concept TEXT\n"
    "                 --steps N --out DIR [--save-every K] [--resume DIR] [--merged DIR]\n"
    "                 [--metrics FILE.jsonl]\n"
    "                 [--train F] [--<section>-<key> V ...]\n"
    "\n"
    "Objectives (--erase-objective): elm (default); finetune (--train); the baselines\n"
    "rmu, grad_diff, npo (docs/erase.md, \"Baselines\"), which take --forget and\n"
    "--retain only (no --concept, no --consistency).\n"
    "\n"
    "Dataset groups (docs/erase.md): --forget, --retain, --consistency, --concept and\n"
    "--keywords may be repeated; the i-th occurrence goes to group i (0-based), and\n"
    "--erase-mix (e.g. 0,0,1) is the order in which groups are used. Each group needs a\n"
    "--forget and must appear in --erase-mix.\n"
    "  --retain R, --consistency C   one per group, or a single one attached to every\n"
    "                                group (the reference shares them across groups)\n"
    "  --concept TEXT                one per group, or a single one for every group\n"
    "                                (erase.concept)\n"
    "  --keywords FILE[:KEY]         the group's concept is the keyword list joined by\n"
    "                                \", \" (the reference's concept text). FILE is a JSON\n"
    "                                list of strings, or an object of such lists and KEY\n"
    "                                names one (e.g. wmdp-keywords.json:bio). The i-th\n"
    "                                --keywords is group i's; an empty value skips a group.\n"
    "                                It replaces a single --concept shared by several\n"
    "                                groups; a group given both its own --concept (one\n"
    "                                per group, or a single group) and --keywords is an\n"
    "                                error.\n"
    "--metrics FILE.jsonl writes one JSON line per step (step, micro_steps, loss,\n"
    "loss_erase, loss_retain, loss_consistency, loss_train, grad_norm, lr, tokens,\n"
    "seconds, elapsed; null where not computed) and one per save (step, dir);\n"
    "--resume appends to it.\n"
    "Consistency data generated during training (erase.py without a pregenerated\n"
    "file): --erase-consistency online makes each group's pair k from its forget text\n"
    "k as `elm prepare-consistency` would (prepare.* keys), for groups without\n"
    "--consistency; the pairs are kept in --erase-consistency-cache FILE, by default\n"
    "DIR.consistency.jsonl beside --out, and reused by a second epoch and --resume.\n"
    "Example (bio, bio, cyber):\n"
    "  elm erase --model M --forget bio.jsonl --forget cyber.jsonl --retain wiki.jsonl\n"
    "    --keywords wmdp-keywords.json:bio --keywords wmdp-keywords.json:cyber\n"
    "    --erase-mix 0,0,1 --steps 100 --out adapter\n"
    "The output directory (and --merged DIR) carries a model card, README.md, with\n"
    "the YAML metadata the Hugging Face Hub reads; --base-model-id ID (lora.base_model_id)\n"
    "names the base model by its Hub id there and in adapter_config.json's\n"
    "base_model_name_or_path instead of the local path.\n"
    "Every configuration key is a flag: see `elm help keys`.\n";

/* --keywords FILE[:KEY]: read FILE and set *concept (malloc'd by libelm). KEY
 * is the text after the last ':' when it has no '/' and FILE alone is not a
 * file as given. Returns 0 or reports on stderr and returns 1. */
static int read_keywords(const char *spec, const char *cmd, char **concept)
{
    char *path = strdup(spec);
    const char *key = NULL;
    if (!path)
        return elm_cli_fail(cmd, "out of memory");
    char *colon = strrchr(path, ':');
    if (colon && colon != path && !strchr(colon + 1, '/') && access(spec, F_OK) != 0) {
        *colon = 0;
        key = colon + 1;
    }
    int rc = 0;
    if (elm_keywords_read(path, key, concept) != ELM_OK)
        rc = elm_cli_fail(cmd, "--keywords: %s", elm_last_error());
    free(path);
    return rc;
}

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

static int attach(elm_session *s, elm_config *cfg, elm_role role, int group, const char *path, const char *cmd)
{
    elm_dataset *ds = NULL;
    if (elm_dataset_load(path, cfg, &ds) != ELM_OK)
        return elm_cli_fail(cmd, "%s", elm_last_error());
    int rc = 0;
    if (elm_session_attach(s, role, group, ds) != ELM_OK)
        rc = elm_cli_fail(cmd, "group %d: %s", group, elm_last_error());
    elm_dataset_free(ds);
    return rc;
}

int cmd_erase(int argc, char **argv)
{
    const char *cmd = "erase", *model_path = NULL, *train = NULL, *out = NULL, *merged = NULL,
               *resume = NULL, *metrics_path = NULL;
    FILE *metrics = NULL;
    long long steps = -1, save_every = 0, log_every = 0;
    elm_config *cfg = NULL;
    elm_model *m = NULL;
    elm_session *s = NULL;
    int rc = 0;
    /* repeatable per-group flags: the i-th occurrence is group i's */
    int nf = 0, nr = 0, nc = 0, ncon = 0, nk = 0;
    size_t cap = (size_t)(argc > 0 ? argc : 1);
    const char **forget = calloc(cap, sizeof *forget), **retain = calloc(cap, sizeof *retain),
               **cons = calloc(cap, sizeof *cons), **concept = calloc(cap, sizeof *concept),
               **keywords = calloc(cap, sizeof *keywords);
    char **kw_concept = calloc(cap, sizeof *kw_concept);
    if (!forget || !retain || !cons || !concept || !keywords || !kw_concept || elm_config_new(&cfg) != ELM_OK) {
        rc = elm_cli_fail(cmd, "out of memory");
    }
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc, handled = 0;
#define STR_OPT(name, var) \
    if (strcmp(a, name) == 0 && has) { var = argv[++i]; continue; }
#define LIST_OPT(name, arr, n) \
    if (strcmp(a, name) == 0 && has) { arr[n++] = argv[++i]; continue; } \
    if (strncmp(a, name "=", sizeof name) == 0) { arr[n++] = a + sizeof name; continue; }
        STR_OPT("--model", model_path)
        LIST_OPT("--forget", forget, nf)
        LIST_OPT("--retain", retain, nr)
        LIST_OPT("--consistency", cons, nc)
        LIST_OPT("--concept", concept, ncon)
        LIST_OPT("--keywords", keywords, nk)
        STR_OPT("--train", train)
        STR_OPT("--out", out)
        STR_OPT("--merged", merged)
        STR_OPT("--resume", resume)
        STR_OPT("--metrics", metrics_path)
#undef STR_OPT
#undef LIST_OPT
        static const char *const valued[] = {"--model", "--forget", "--retain", "--consistency", "--concept",
                                             "--keywords", "--train", "--out", "--merged", "--resume", "--metrics",
                                             "--steps", "--save-every", "--log-every"};
        for (size_t k = 0; k < sizeof valued / sizeof valued[0] && !has; k++)
            if (strcmp(a, valued[k]) == 0)
                rc = elm_cli_usage(cmd, "%s needs a value", a);
        if (rc)
            break;
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
    int concept_free = 0; /* the baselines (rmu, grad_diff, npo) take no concept */
    if (rc == 0) {
        const char *obj = "elm";
        elm_config_get_string(cfg, "erase.objective", &obj);
        concept_free = strcmp(obj, "elm") != 0 && !finetune;
    }
    if (rc == 0 && (!model_path || !out || (finetune ? !train : !nf)))
        rc = elm_cli_usage(cmd, finetune       ? "needs --model, --train and --out"
                                : concept_free ? "needs --model, --forget and --out"
                                               : "needs --model, --forget, --concept and --out");
    /* a single --concept is erase.concept, the concept of every group */
    if (rc == 0 && ncon == 1 && elm_config_set(cfg, "erase.concept", concept[0]) != ELM_OK)
        rc = elm_cli_usage(cmd, "--concept: %s", elm_last_error());
    /* dataset groups: a single --retain/--consistency/--concept serves every
     * group; otherwise one per --forget */
    if (rc == 0 && !finetune) {
        static const char *names[] = {"--retain", "--consistency", "--concept"};
        const int counts[] = {nr, nc, ncon};
        for (int k = 0; k < 3 && rc == 0; k++)
            if (counts[k] > 1 && counts[k] != nf)
                rc = elm_cli_usage(cmd, "%d %s for %d --forget: give one (shared by every group) or one per "
                                        "group (see elm erase --help)", counts[k], names[k], nf);
        if (rc == 0 && nk > nf)
            rc = elm_cli_usage(cmd, "%d --keywords for %d --forget: at most one per group (see elm erase --help)",
                               nk, nf);
        for (int g = 0; g < nk && rc == 0; g++)
            if (keywords[g][0] && ncon == nf)
                rc = elm_cli_usage(cmd, "group %d has both --concept and --keywords: give one", g);
        for (int g = 0; g < nk && rc == 0; g++)
            if (keywords[g][0])
                rc = read_keywords(keywords[g], cmd, &kw_concept[g]);
    }
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
    /* erase.consistency online without a cache file: keep the pairs beside
     * the adapter, so that a resumed run (--resume) reuses them */
    char cache_path[4200];
    if (rc == 0) {
        const char *mode = "file", *cache = "";
        elm_config_get_string(cfg, "erase.consistency", &mode);
        elm_config_get_string(cfg, "erase.consistency_cache", &cache);
        if (strcmp(mode, "online") == 0 && !cache[0]) {
            snprintf(cache_path, sizeof cache_path, "%s.consistency.jsonl", out);
            if (elm_config_set(cfg, "erase.consistency_cache", cache_path) != ELM_OK)
                rc = elm_cli_fail(cmd, "%s", elm_last_error());
            else
                fprintf(stderr, "consistency pairs generated during training, kept in %s\n", cache_path);
        }
    }
    if (rc == 0 && elm_model_load(model_path, cfg, &m) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    if (rc == 0 && elm_session_new(m, cfg, &s) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    for (int g = 0; g < nf && rc == 0 && !finetune; g++) {
        rc = attach(s, cfg, ELM_ROLE_FORGET, g, forget[g], cmd);
        if (rc == 0 && nr)
            rc = attach(s, cfg, ELM_ROLE_RETAIN, g, retain[nr == 1 ? 0 : g], cmd);
        if (rc == 0 && nc)
            rc = attach(s, cfg, ELM_ROLE_CONSISTENCY, g, cons[nc == 1 ? 0 : g], cmd);
        /* a single --concept is erase.concept (set above) */
        const char *c = g < nk && kw_concept[g] ? kw_concept[g] : ncon > 1 ? concept[g] : NULL;
        if (rc == 0 && c && elm_session_set_concept(s, g, c) != ELM_OK)
            rc = elm_cli_fail(cmd, "group %d: %s", g, elm_last_error());
    }
    if (rc == 0 && train)
        rc = attach(s, cfg, ELM_ROLE_TRAIN, 0, train, cmd);
    progress_state ps = {isatty(2), steps, 0};
    if (rc == 0 && resume) {
        if (elm_session_resume(s, resume) != ELM_OK)
            rc = elm_cli_fail(cmd, "%s", elm_last_error());
    }
    if (rc == 0)
        rc = elm_cli_metrics_open(cmd, metrics_path, resume != NULL, &metrics);
    if (rc == 0)
        elm_session_set_progress(s, on_progress, &ps);
    if (log_every <= 0)
        log_every = steps <= 50 ? 1 : steps / 50;
    double elapsed = 0;
    int64_t last_step = 0;
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
        last_step = st.step;
        elm_cli_metrics_step(metrics, &st, elapsed);
        if (ps.tty || st.step % log_every == 0 || st.step >= steps)
            report(&ps, &st, elapsed);
        if (st.step >= steps)
            break;
        if (save_every > 0 && st.step % save_every == 0) {
            if (elm_session_save(s, out) != ELM_OK)
                rc = elm_cli_fail(cmd, "%s", elm_last_error());
            else
                elm_cli_metrics_save(metrics, st.step, out);
        }
    }
    if (rc == 0) {
        if (elm_session_save(s, out) != ELM_OK) {
            rc = elm_cli_fail(cmd, "%s", elm_last_error());
        } else {
            fprintf(stderr, "adapter saved to %s (%.1fs of training)\n", out, elapsed);
            elm_cli_metrics_save(metrics, last_step, out);
        }
    }
    if (metrics)
        fclose(metrics);
    if (rc == 0 && merged) {
        if (elm_session_save_merged(s, merged) != ELM_OK)
            rc = elm_cli_fail(cmd, "%s", elm_last_error());
        else
            fprintf(stderr, "merged model saved to %s\n", merged);
    }
    elm_session_free(s);
    elm_model_free(m);
    elm_config_free(cfg);
    for (int g = 0; kw_concept && g < nk; g++)
        elm_free(kw_concept[g]);
    free(kw_concept);
    free(keywords);
    free(concept);
    free(cons);
    free(retain);
    free(forget);
    return rc < 0 ? 0 : rc;
}
