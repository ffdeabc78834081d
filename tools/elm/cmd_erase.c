/* elm erase: train an ELM erasure adapter (or a fine-tuning one) and save it
 * as a PEFT directory. Every configuration key is a flag (flags.h).
 * Dataset groups (docs/erase.md): the i-th --forget/--retain/--consistency/
 * --concept/--keywords goes to group i; see erase_help below. */
#include "elm.h"
#include "commands.h"
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
    {"--objective", "erase.objective"},
};

static const char erase_help[] =
    "usage: elm erase --model M --forget F [--retain R] [--consistency C] --concept TEXT\n"
    "                 --steps N --out DIR [--save-every K] [--resume DIR] [--merged DIR]\n"
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
    "Example (bio, bio, cyber):\n"
    "  elm erase --model M --forget bio.jsonl --forget cyber.jsonl --retain wiki.jsonl\n"
    "    --keywords wmdp-keywords.json:bio --keywords wmdp-keywords.json:cyber\n"
    "    --erase-mix 0,0,1 --steps 100 --out adapter\n"
    "Every configuration key is a flag: see `elm help keys`.\n";

/* ---- keyword lists: a minimal JSON reader for exactly two shapes ----------
 * ["kw", ...] or {"key": ["kw", ...], ...}. Strings are decoded (escapes,
 * \uXXXX with surrogate pairs → UTF-8); anything else is an error that names
 * the file and the byte offset. */

typedef struct kw_buf {
    char *d;
    size_t len, cap;
} kw_buf;

static int kw_put(kw_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *d = realloc(b->d, cap);
        if (!d)
            return -1;
        b->d = d, b->cap = cap;
    }
    memcpy(b->d + b->len, s, n);
    b->len += n;
    b->d[b->len] = 0;
    return 0;
}

typedef struct kw_parser {
    const char *path, *s;
    size_t n, pos;
    char err[512];
} kw_parser;

static int kw_fail(kw_parser *p, const char *what)
{
    snprintf(p->err, sizeof p->err, "%s: offset %zu: %s", p->path, p->pos, what);
    return -1;
}

static void kw_ws(kw_parser *p)
{
    while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
                             p->s[p->pos] == '\r'))
        p->pos++;
}

static int kw_hex4(kw_parser *p, unsigned *out)
{
    unsigned v = 0;
    if (p->n - p->pos < 4)
        return kw_fail(p, "\\u needs four hex digits");
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos + (size_t)i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return kw_fail(p, "\\u needs four hex digits");
    }
    p->pos += 4;
    *out = v;
    return 0;
}

/* A JSON string at p->pos, decoded into *out (cleared first). */
static int kw_string(kw_parser *p, kw_buf *out)
{
    out->len = 0;
    if (kw_put(out, "", 0))
        return kw_fail(p, "out of memory");
    if (p->pos >= p->n || p->s[p->pos] != '"')
        return kw_fail(p, "expected a string");
    p->pos++;
    for (;;) {
        if (p->pos >= p->n)
            return kw_fail(p, "unterminated string");
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            return 0;
        }
        if (c < 0x20)
            return kw_fail(p, "control character in a string");
        if (c != '\\') {
            if (kw_put(out, (const char *)&p->s[p->pos], 1))
                return kw_fail(p, "out of memory");
            p->pos++;
            continue;
        }
        p->pos++;
        if (p->pos >= p->n)
            return kw_fail(p, "unterminated string");
        char e = p->s[p->pos++], one;
        switch (e) {
        case '"': one = '"'; break;
        case '\\': one = '\\'; break;
        case '/': one = '/'; break;
        case 'b': one = '\b'; break;
        case 'f': one = '\f'; break;
        case 'n': one = '\n'; break;
        case 'r': one = '\r'; break;
        case 't': one = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            size_t at = p->pos - 2; /* the backslash: errors point at the escape */
            if (kw_hex4(p, &cp))
                return -1;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                p->pos = at;
                return kw_fail(p, "unpaired low surrogate");
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (p->n - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                    p->pos = at;
                    return kw_fail(p, "unpaired high surrogate");
                }
                p->pos += 2;
                if (kw_hex4(p, &lo))
                    return -1;
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    p->pos = at;
                    return kw_fail(p, "unpaired high surrogate");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp == 0) {
                p->pos = at;
                return kw_fail(p, "\\u0000 in a string");
            }
            char u[4];
            size_t k;
            if (cp < 0x80)
                u[0] = (char)cp, k = 1;
            else if (cp < 0x800)
                u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), k = 2;
            else if (cp < 0x10000)
                u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
                u[2] = (char)(0x80 | (cp & 0x3F)), k = 3;
            else
                u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
                u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), k = 4;
            if (kw_put(out, u, k))
                return kw_fail(p, "out of memory");
            continue;
        }
        default:
            p->pos -= 2;
            return kw_fail(p, "unknown escape in a string");
        }
        if (kw_put(out, &one, 1))
            return kw_fail(p, "out of memory");
    }
}

/* A list of strings at p->pos; if join is not NULL, the strings are appended
 * to it separated by ", ". *count gets the number of strings. */
static int kw_list(kw_parser *p, kw_buf *join, size_t *count)
{
    kw_buf item = {0};
    int rc = -1;
    *count = 0;
    if (p->pos >= p->n || p->s[p->pos] != '[') {
        kw_fail(p, "expected a list of strings ('[')");
        goto done;
    }
    p->pos++;
    kw_ws(p);
    if (p->pos < p->n && p->s[p->pos] == ']') {
        p->pos++;
        rc = 0;
        goto done;
    }
    for (;;) {
        kw_ws(p);
        if (kw_string(p, &item))
            goto done;
        if (join && ((*count && kw_put(join, ", ", 2)) || kw_put(join, item.d, item.len))) {
            kw_fail(p, "out of memory");
            goto done;
        }
        ++*count;
        kw_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->n && p->s[p->pos] == ']') {
            p->pos++;
            rc = 0;
            goto done;
        }
        kw_fail(p, "expected ',' or ']' in a list of strings");
        goto done;
    }
done:
    free(item.d);
    return rc;
}

/* Parse a keyword file's text. key may be NULL (a list, or an object with a
 * single list). On success *concept (malloc'd) is the keywords joined by ", ". */
static int kw_parse(kw_parser *p, const char *key, char **concept)
{
    kw_buf join = {0}, name = {0}, keys = {0};
    size_t count = 0, n_keys = 0;
    int rc = -1, found = 0;
    *concept = NULL;
    if (p->n >= 3 && memcmp(p->s, "\xEF\xBB\xBF", 3) == 0)
        p->pos = 3; /* UTF-8 byte order mark */
    kw_ws(p);
    if (p->pos < p->n && p->s[p->pos] == '[') {
        if (key) {
            snprintf(p->err, sizeof p->err, "%s: is a list of strings, not an object: drop ':%s'", p->path, key);
            goto done;
        }
        if (kw_list(p, &join, &count))
            goto done;
        found = 1;
    } else if (p->pos < p->n && p->s[p->pos] == '{') {
        p->pos++;
        kw_ws(p);
        if (p->pos < p->n && p->s[p->pos] == '}')
            p->pos++;
        else
            for (;;) {
                kw_ws(p);
                size_t at = p->pos;
                if (kw_string(p, &name))
                    goto done;
                kw_ws(p);
                if (p->pos >= p->n || p->s[p->pos] != ':') {
                    kw_fail(p, "expected ':' after a key");
                    goto done;
                }
                p->pos++;
                kw_ws(p);
                /* with no KEY, the first list is kept (used if it is the only one) */
                int want = key ? strcmp(name.d, key) == 0 : n_keys == 0;
                if (want && key && found) {
                    p->pos = at;
                    kw_fail(p, "the key appears twice");
                    goto done;
                }
                size_t c;
                if (kw_list(p, want ? &join : NULL, &c))
                    goto done;
                if (want)
                    found = 1, count = c;
                if ((n_keys && kw_put(&keys, ", ", 2)) || kw_put(&keys, name.d, name.len)) {
                    kw_fail(p, "out of memory");
                    goto done;
                }
                n_keys++;
                kw_ws(p);
                if (p->pos < p->n && p->s[p->pos] == ',') {
                    p->pos++;
                    continue;
                }
                if (p->pos < p->n && p->s[p->pos] == '}') {
                    p->pos++;
                    break;
                }
                kw_fail(p, "expected ',' or '}' in the object");
                goto done;
            }
        if (!key && n_keys != 1) {
            snprintf(p->err, sizeof p->err, "%s: an object of %zu lists: give FILE:KEY (keys: %s)", p->path,
                     n_keys, n_keys ? keys.d : "none");
            goto done;
        }
        if (key && !found) {
            snprintf(p->err, sizeof p->err, "%s: no key '%s' (keys: %s)", p->path, key, n_keys ? keys.d : "none");
            goto done;
        }
    } else {
        kw_fail(p, "expected a list of strings or an object of such lists");
        goto done;
    }
    kw_ws(p);
    if (p->pos != p->n) {
        kw_fail(p, "unexpected text after the JSON value");
        goto done;
    }
    if (count == 0) {
        if (key)
            snprintf(p->err, sizeof p->err, "%s: key '%s' is an empty list", p->path, key);
        else
            snprintf(p->err, sizeof p->err, "%s: the keyword list is empty", p->path);
        goto done;
    }
    *concept = join.d;
    join.d = NULL;
    rc = 0;
done:
    free(join.d);
    free(name.d);
    free(keys.d);
    return rc;
}

/* --keywords FILE[:KEY]: read FILE and set *concept (malloc'd). KEY is the
 * text after the last ':' when it has no '/' and FILE alone is not a file as
 * given. Returns 0 or reports on stderr and returns 1. */
static int read_keywords(const char *spec, const char *cmd, char **concept)
{
    size_t len = strlen(spec);
    char *path = malloc(len + 1);
    const char *key = NULL;
    if (!path)
        return elm_cli_fail(cmd, "out of memory");
    memcpy(path, spec, len + 1);
    char *colon = strrchr(path, ':');
    if (colon && colon != path && !strchr(colon + 1, '/') && access(spec, F_OK) != 0) {
        *colon = 0;
        key = colon + 1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        int rc = elm_cli_fail(cmd, "--keywords %s: cannot open: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    kw_buf text = {0};
    char chunk[65536];
    size_t got;
    int rc = 0;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (text.len + got > (size_t)16 << 20 || kw_put(&text, chunk, got)) {
            rc = elm_cli_fail(cmd, "--keywords %s: too large for a keyword list (16 MiB at most)", path);
            break;
        }
    if (rc == 0 && ferror(f))
        rc = elm_cli_fail(cmd, "--keywords %s: read error: %s", path, strerror(errno));
    fclose(f);
    if (rc == 0) {
        kw_parser p = {path, text.d ? text.d : "", text.len, 0, ""};
        if (memchr(p.s, 0, p.n)) {
            p.pos = (size_t)((const char *)memchr(p.s, 0, p.n) - p.s);
            kw_fail(&p, "NUL byte (not a JSON text file)");
            rc = elm_cli_fail(cmd, "--keywords %s", p.err);
        } else if (kw_parse(&p, key && *key ? key : NULL, concept)) {
            rc = elm_cli_fail(cmd, "--keywords %s", p.err);
        }
    }
    free(text.d);
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
    if (elm_dataset_open(path, cfg, &ds) != ELM_OK)
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
               *resume = NULL;
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
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(erase_help, stdout);
            rc = -1; /* done: exit 0 below */
            break;
        }
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
#undef STR_OPT
#undef LIST_OPT
        static const char *const valued[] = {"--model", "--forget", "--retain", "--consistency", "--concept",
                                             "--keywords", "--train", "--out", "--merged", "--resume",
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
    if (rc == 0 && elm_model_load(model_path, cfg, &m) != ELM_OK)
        rc = elm_cli_fail(cmd, "%s", elm_last_error());
    if (rc == 0 && elm_session_create(m, cfg, &s) != ELM_OK)
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
    for (int g = 0; kw_concept && g < nk; g++)
        free(kw_concept[g]);
    free(kw_concept);
    free(keywords);
    free(concept);
    free(cons);
    free(retain);
    free(forget);
    return rc < 0 ? 0 : rc;
}
