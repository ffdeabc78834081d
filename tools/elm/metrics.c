#include "metrics.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "commands.h"

int elm_cli_metrics_open(const char *cmd, const char *path, int append, FILE **out)
{
    *out = NULL;
    if (!path)
        return 0;
    FILE *f = fopen(path, append ? "a" : "w");
    if (!f)
        return elm_cli_fail(cmd, "--metrics %s: %s", path, strerror(errno));
    *out = f;
    return 0;
}

static void num(FILE *f, const char *key, double v)
{
    if (isfinite(v))
        fprintf(f, ", \"%s\": %.17g", key, v);
    else
        fprintf(f, ", \"%s\": null", key);
}

void elm_cli_metrics_step(FILE *f, const elm_step_stats *st, double elapsed)
{
    if (!f)
        return;
    fprintf(f, "{\"event\": \"step\", \"step\": %lld, \"micro_steps\": %lld", (long long)st->step,
            (long long)st->micro_steps);
    num(f, "loss", st->loss);
    num(f, "loss_erase", st->loss_erase);
    num(f, "loss_retain", st->loss_retain);
    num(f, "loss_consistency", st->loss_consistency);
    num(f, "loss_train", st->loss_train);
    num(f, "grad_norm", st->grad_norm);
    num(f, "lr", st->lr);
    fprintf(f, ", \"tokens\": %lld", (long long)st->tokens);
    num(f, "seconds", st->seconds);
    num(f, "elapsed", elapsed);
    fputs("}\n", f);
    fflush(f);
}

void elm_cli_metrics_save(FILE *f, int64_t step, const char *dir)
{
    if (!f)
        return;
    fprintf(f, "{\"event\": \"save\", \"step\": %lld, \"dir\": \"", (long long)step);
    for (const unsigned char *p = (const unsigned char *)dir; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputs("\"}\n", f);
    fflush(f);
}
