#include "erase/options.h"

#include "core/error.h"
#include "model/model.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int parse_int(const char **p, long *out)
{
    const char *s = *p;
    if (!isdigit((unsigned char)*s))
        return 0;
    char *end;
    long v = strtol(s, &end, 10);
    *out = v;
    *p = end;
    return 1;
}

elm_status elm_parse_layers(const char *text, int n_layers, unsigned *mask)
{
    for (int i = 0; i < n_layers; i++)
        mask[i] = 0;
    if (!text || !*text)
        return elm_err(ELM_E_INVALID, "lora.layers: empty (give e.g. 4-7, 0,2,5-9 or all)");
    if (strcmp(text, "all") == 0) {
        for (int i = 0; i < n_layers; i++)
            mask[i] = 1;
        return ELM_OK;
    }
    const char *p = text;
    for (;;) {
        while (*p == ' ')
            p++;
        const char *item = p;
        long a, b;
        if (!parse_int(&p, &a))
            return elm_err(ELM_E_INVALID, "lora.layers: '%s': expected a layer number at '%s'", text, item);
        b = a;
        if (*p == '-') {
            p++;
            if (!parse_int(&p, &b))
                return elm_err(ELM_E_INVALID, "lora.layers: '%s': expected a range end at '%s'", text, item);
        }
        if (b < a)
            return elm_err(ELM_E_INVALID, "lora.layers: '%s': range %ld-%ld runs backwards", text, a, b);
        if (a >= n_layers || b >= n_layers)
            return elm_err(ELM_E_INVALID, "lora.layers: layer %ld out of range: the model has layers 0-%d",
                           b >= n_layers ? (a >= n_layers ? a : b) : a, n_layers - 1);
        for (long i = a; i <= b; i++)
            mask[i] = 1;
        while (*p == ' ')
            p++;
        if (*p == 0)
            return ELM_OK;
        if (*p != ',')
            return elm_err(ELM_E_INVALID, "lora.layers: '%s': unexpected '%c'", text, *p);
        p++;
    }
}

elm_status elm_parse_targets(const char *text, unsigned *module_mask)
{
    *module_mask = 0;
    if (!text || !*text)
        return elm_err(ELM_E_INVALID, "lora.targets: empty (choose from q,k,v,o,gate,up,down)");
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char name[32];
        while (n && *p == ' ') {
            p++;
            n--;
        }
        while (n && p[n - 1] == ' ')
            n--;
        if (n == 0 || n >= sizeof name)
            return elm_err(ELM_E_INVALID, "lora.targets: '%s': empty or overlong item (choose from "
                                          "q,k,v,o,gate,up,down)", text);
        memcpy(name, p, n);
        name[n] = 0;
        int m = elm_module_from_name(name);
        if (m < 0)
            return elm_err(ELM_E_INVALID, "lora.targets: unknown module '%s' (choose from "
                                          "q,k,v,o,gate,up,down)", name);
        *module_mask |= 1u << m;
        if (!e)
            break;
        p = e + 1;
    }
    return ELM_OK;
}

elm_status elm_parse_mix(const char *text, int **mix, int *n)
{
    *mix = NULL;
    *n = 0;
    if (!text || !*text)
        return elm_err(ELM_E_INVALID, "erase.mix: empty (give group indices such as 0 or 0,0,1)");
    size_t cap = 1;
    for (const char *c = text; *c; c++)
        cap += *c == ',';
    int *m = malloc(cap * sizeof *m);
    if (!m)
        return elm_err(ELM_E_NOMEM, "erase.mix: out of memory");
    const char *p = text;
    int k = 0;
    for (;;) {
        while (*p == ' ')
            p++;
        long v;
        const char *item = p;
        if (!parse_int(&p, &v) || v > 1000000) {
            free(m);
            return elm_err(ELM_E_INVALID, "erase.mix: '%s': expected a group index at '%s'", text, item);
        }
        m[k++] = (int)v;
        while (*p == ' ')
            p++;
        if (*p == 0)
            break;
        if (*p != ',') {
            free(m);
            return elm_err(ELM_E_INVALID, "erase.mix: '%s': unexpected '%c'", text, *p);
        }
        p++;
    }
    *mix = m;
    *n = k;
    return ELM_OK;
}

double elm_lr_at(double lr, elm_lr_schedule sched, int64_t warmup, int64_t total, int64_t step)
{
    if (warmup > 0 && step < warmup)
        return lr * (double)(step + 1) / (double)warmup;
    if (sched == ELM_LR_CONSTANT || total <= warmup)
        return lr;
    double p = (double)(step - warmup) / (double)(total - warmup);
    if (p > 1)
        p = 1;
    if (sched == ELM_LR_LINEAR)
        return lr * (1.0 - p);
    return lr * 0.5 * (1.0 + cos(M_PI * p));
}

void elm_linspace(double start, double end, int64_t n, double *out)
{
    if (n <= 0)
        return;
    if (n == 1) {
        out[0] = start;
        return;
    }
    const double step = (end - start) / (double)(n - 1);
    const int64_t halfway = n / 2;
    for (int64_t i = 0; i < n; i++)
        out[i] = i < halfway ? start + step * (double)i : end - step * (double)(n - i - 1);
}
