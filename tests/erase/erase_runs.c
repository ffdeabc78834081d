/* See erase_runs.h. */
#include "erase_runs.h"

#include "testutil.h"

#include "erase/objective.h"
#include "io/dataset.h"
#include "model/model.h"
#include "tensor/shim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_micro(const elm_micro_result *r, void *user)
{
    er_out *o = user;
    if (o->n < ER_MICRO_MAX) {
        o->loss[o->n][0] = r->erase;
        o->loss[o->n][1] = r->retain;
        o->loss[o->n][2] = r->cons;
        o->loss[o->n][3] = r->train;
        o->n++;
    }
}

/* params' values (grads 0) or gradients (1) into out->w */
static void read_params(elm_erase *e, int grads, er_out *out)
{
    out->nw = 0;
    for (size_t i = 0; i < e->n_params; i++)
        out->nw += (size_t)et_numel(e->params[i]);
    out->w = malloc(out->nw * sizeof *out->w);
    ck_assert_ptr_nonnull(out->w);
    et_scope *gs = et_scope_new();
    size_t at = 0;
    for (size_t i = 0; i < e->n_params; i++) {
        size_t n = (size_t)et_numel(e->params[i]);
        const et_tensor *t = e->params[i];
        if (grads) {
            t = et_grad(gs, e->params[i]);
            ck_assert_msg(t != NULL, "parameter %zu has no gradient", i);
        }
        ck_assert_elm_ok(et_to_host(t, out->w + at, ET_F32, n * sizeof *out->w));
        at += n;
    }
    et_scope_free(gs);
}

void er_run(const char *const *kv, int grad_batch, er_out *out)
{
    er_run_x(kv, grad_batch, NULL, out);
}

void er_run_x(const char *const *kv, int grad_batch, const elm_objective_opts *xo, er_out *out)
{
    memset(out, 0, sizeof *out);
    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    static const char *const base[] = {"lora.rank", "4", "lora.alpha", "8", "lora.layers", "4-7",
                                       "lora.dropout", "0", "optim.accum", "4", "optim.lr", "1e-2",
                                       "erase.concept", "zephyrite", "erase.eta", "4", "erase.tau", "1.2",
                                       "runtime.seed", "1234", "runtime.dtype", "float32",
                                       "erase.expert_templates", NULL, "erase.novice_templates", NULL, NULL};
    for (int i = 0; base[i]; i += 2) {
        const char *v = base[i + 1];
        if (!v)
            v = tu_src(strstr(base[i], "expert") ? ER_EDIR "/expert.txt" : ER_EDIR "/novice.txt");
        ck_assert_elm_ok(elm_config_set(cfg, base[i], v));
    }
    int finetune = 0;
    for (int i = 0; kv[i]; i += 2) {
        ck_assert_elm_ok(elm_config_set(cfg, kv[i], kv[i + 1]));
        finetune |= strcmp(kv[i], "erase.objective") == 0 && strcmp(kv[i + 1], "finetune") == 0;
    }
    elm_model *m;
    ck_assert_elm_ok(elm_model_open(tu_src(ER_MODEL), cfg, &m));
    elm_erase *e;
    ck_assert_elm_ok(elm_erase_create(m, cfg, &e));
    elm_dataset *f0, *f1, *rt, *c;
    ck_assert_elm_ok(elm_dataset_load(tu_src(ER_EDIR "/forget0.jsonl"), cfg, &f0));
    ck_assert_elm_ok(elm_dataset_load(tu_src(ER_EDIR "/forget1.jsonl"), cfg, &f1));
    ck_assert_elm_ok(elm_dataset_load(tu_src(ER_EDIR "/retain.jsonl"), cfg, &rt));
    ck_assert_elm_ok(elm_dataset_load(tu_src(ER_EDIR "/consistency.json"), cfg, &c));
    if (finetune) {
        ck_assert_elm_ok(elm_erase_attach(e, ELM_ROLE_TRAIN, 0, f0));
        if (e->n_groups > 1)
            ck_assert_elm_ok(elm_erase_attach(e, ELM_ROLE_TRAIN, 1, f1));
    } else {
        ck_assert_elm_ok(elm_erase_attach(e, ELM_ROLE_FORGET, 0, f0));
        ck_assert_elm_ok(elm_erase_attach(e, ELM_ROLE_RETAIN, 0, rt));
        ck_assert_elm_ok(elm_erase_attach(e, ELM_ROLE_CONSISTENCY, 0, c));
        if (e->n_groups > 1) {
            /* group 1: another concept, retain but no consistency */
            ck_assert_elm_ok(elm_erase_attach(e, ELM_ROLE_FORGET, 1, f1));
            ck_assert_elm_ok(elm_erase_attach(e, ELM_ROLE_RETAIN, 1, rt));
            ck_assert_elm_ok(elm_erase_set_concept(e, 1, "quillwort"));
        }
    }
    elm_dataset_free(f0);
    elm_dataset_free(f1);
    elm_dataset_free(rt);
    elm_dataset_free(c);
    e->on_micro = on_micro;
    e->on_micro_user = out;
    if (xo)
        elm_erase_set_objective_opts(e, xo);
    if (grad_batch > 0) {
        elm_micro_result r[ER_MICRO_MAX];
        for (int64_t k = 0; k < e->o.accum; k += grad_batch) {
            int nb = (int)(e->o.accum - k < grad_batch ? e->o.accum - k : grad_batch);
            ck_assert_elm_ok(elm_erase_micro_batch(e, nb, r));
            for (int j = 0; j < nb; j++)
                on_micro(&r[j], out);
        }
        read_params(e, 1, out);
    } else {
        for (int s = 0; s < ER_STEPS; s++) {
            elm_step_stats st;
            ELM_STRUCT_INIT(&st);
            ck_assert_elm_ok(elm_erase_step(e, &st));
            ck_assert_int_eq(st.micro_steps, (s + 1) * e->o.accum);
        }
        ck_assert_int_eq(out->n, ER_STEPS * e->o.accum);
        read_params(e, 0, out);
    }
    out->prefix_rows = e->xc.prefix_rows;
    out->trunk_passes = e->xc.trunk_passes;
    if (e->fcache)
        elm_fcache_stats_get(e->fcache, &out->fc);
    elm_erase_free(e);
    elm_model_unref(m);
    elm_config_free(cfg);
}

void er_compare(const char *what, const er_out *a, const er_out *b, double wtol)
{
    double worst = 0, wmax = 0;
    ck_assert_int_eq(a->n, b->n);
    for (int i = 0; i < a->n; i++)
        for (int k = 0; k < 4; k++) {
            double x = a->loss[i][k], y = b->loss[i][k];
            ck_assert_msg(isnan(x) == isnan(y), "%s: micro %d term %d: %g vs %g", what, i, k, x, y);
            if (isnan(x))
                continue;
            double rel = fabs(x - y) / fmax(fabs(y), 1e-12);
            worst = fmax(worst, rel);
            ck_assert_msg(rel <= 1e-5, "%s: micro %d term %d: %.9g vs %.9g (rel %.3g)", what, i, k, x, y, rel);
        }
    ck_assert_uint_eq(a->nw, b->nw);
    for (size_t i = 0; i < a->nw; i++)
        wmax = fmax(wmax, fabs((double)a->w[i] - (double)b->w[i]));
    /* Chunked and whole computations round a GEMM row differently whenever
     * the BLAS's result depends on the number of rows in the call, and
     * AdamW's normalisation (each entry divided by its own magnitude) turns
     * those 1e-7 gradient differences into weight differences up to 2.5e-5:
     * loss_chunks_hard measured 1.25e-5 / 2.48e-5 on PyTorch 2.11 (MKL) and
     * 2.46e-5 on Debian's torch 1.13 with BLIS on the 2026-12 machines (8.6e-7
     * on earlier ones). Losses stay <= 1e-5 relative (asserted above); the
     * direct check of one step's gradients is er_compare_grads. */
    if (wtol <= 0)
        wtol = 1e-4;
    ck_assert_msg(wmax <= wtol, "%s: LoRA weights differ by %g (tolerance %g, libtorch %s)", what, wmax, wtol,
                  et_backend_version());
    fprintf(stderr, "%s: worst relative loss difference %.3g, LoRA max abs %.3g\n", what, worst, wmax);
}

void er_compare_grads(const char *what, const er_out *a, const er_out *b)
{
    ck_assert_uint_eq(a->nw, b->nw);
    double gmax = 0, dmax = 0;
    for (size_t i = 0; i < a->nw; i++) {
        gmax = fmax(gmax, fabs((double)b->w[i]));
        dmax = fmax(dmax, fabs((double)a->w[i] - (double)b->w[i]));
    }
    ck_assert_msg(gmax > 0, "%s: all gradients are 0", what);
    ck_assert_msg(dmax <= 1e-5 * gmax, "%s: gradients differ by %g (max gradient %g)", what, dmax, gmax);
    fprintf(stderr, "%s: gradients after one step's micro-steps: max abs difference %.3g = %.3g of the largest\n",
            what, dmax, dmax / gmax);
}

void er_free(er_out *o)
{
    free(o->w);
    o->w = NULL;
}

void er_one_thread(void)
{
    et_set_num_threads(1);
}
