/* Shared by the erase tests that compare two ways of running the same
 * objective (test_erase_fast.c, test_erase_batch.c): a short session on the
 * llama-tied fixture (fp32) with fixed settings plus a test's own keys, and
 * the comparison of two such runs' losses, weights or gradients. */
#ifndef ELM_TESTS_ERASE_RUNS_H
#define ELM_TESTS_ERASE_RUNS_H

#include "erase/frozen_cache.h"
#include "erase/session.h"

#include <stddef.h>

#define ER_MODEL "tests/fixtures/models/llama-tied"
#define ER_EDIR "tests/fixtures/erase"
#define ER_STEPS 2
#define ER_MICRO_MAX 16

typedef struct er_out {
    double loss[ER_MICRO_MAX][4]; /* erase, retain, consistency, train per micro-step */
    int n;
    float *w;       /* LoRA weights after ER_STEPS steps, or with grad_batch > 0 ... */
    size_t nw;      /* ... their gradients after one step's micro-steps */
    long prefix_rows, trunk_passes; /* the session's objective counters (e->xc) at the end */
    elm_fcache_stats fc;            /* erase.frozen_cache's counts at the end */
} er_out;

/* ER_STEPS optimizer steps with the base settings (rank 4, alpha 8, layers
 * 4-7, dropout 0, accum 4, lr 1e-2, concept "zephyrite", eta 4, tau 1.2,
 * seed 1234, fp32, the fixture's template files) plus kv (key, value, ...,
 * NULL). Group 0: forget0, retain, consistency; a second group of erase.mix:
 * forget1, retain, concept "quillwort". Objective finetune: forget0 (and
 * forget1) as train data. grad_batch > 0: instead, one step's micro-steps
 * run grad_batch at a time (elm_erase_micro_batch) and out->w gets the
 * accumulated gradients. */
void er_run(const char *const *kv, int grad_batch, er_out *out);
/* er_run with the session's objective switches set to *xo (erase/objective.h). */
void er_run_x(const char *const *kv, int grad_batch, const elm_objective_opts *xo, er_out *out);
/* Losses within 1e-5 relative; weights within wtol absolute (wtol 0: 1e-5
 * on Debian's torch 1.13, 1e-4 on other libtorch builds, whose MKL sgemm
 * rounds rows differently with the rows per call). Prints the worst. */
void er_compare(const char *what, const er_out *a, const er_out *b, double wtol);
/* Gradients (er_run with grad_batch): max |a - b| <= 1e-5 * max |b|. */
void er_compare_grads(const char *what, const er_out *a, const er_out *b);
void er_free(er_out *o);
/* One libtorch thread (a Check fixture: set in each forked test, see test_erase_fast.c). */
void er_one_thread(void);

#endif
