/* Numeric guards and out-of-memory through the public API.
 *
 * - A step whose loss and gradients are not finite is refused with
 *   ELM_E_NUMERIC and leaves the adapter, the optimizer state, the data
 *   positions and the random state as they were: saving before and after the
 *   refused step gives byte-identical files, and a run with a refused step in
 *   the middle ends exactly where a run without it ends.
 * - Memory libtorch cannot get is ELM_E_NOMEM, never an abort.
 *
 * The non-finite step is made by swapping the frozen model's final norm for
 * a tensor of NaNs (this suite links the internal archive, so it can reach
 * the model's weights); every logit, the loss and every gradient become NaN. */
#include "testutil.h"

#include "model/model.h"
#include "tensor/shim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL "tests/fixtures/models/llama-tied"
#define EDIR "tests/fixtures/erase"

typedef struct run {
    elm_model *m;
    elm_config *cfg;
    elm_session *s;
} run;

static void run_open(run *r)
{
    ck_assert_elm_ok(elm_config_new(&r->cfg));
    static const char *const kv[] = {"lora.rank", "2", "lora.alpha", "4", "lora.layers", "5-6",
                                     "optim.accum", "2", "optim.lr", "1e-2", "erase.concept", "zephyrite",
                                     "erase.eta", "3", "runtime.seed", "7", "runtime.dtype", "float32",
                                     "runtime.threads", "1", NULL};
    for (int i = 0; kv[i]; i += 2)
        ck_assert_elm_ok(elm_config_set(r->cfg, kv[i], kv[i + 1]));
    ck_assert_elm_ok(elm_model_load(tu_src(MODEL), r->cfg, &r->m));
    ck_assert_elm_ok(elm_session_new(r->m, r->cfg, &r->s));
    elm_dataset *f, *rt, *c;
    ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/forget0.jsonl"), r->cfg, &f));
    ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/retain.jsonl"), r->cfg, &rt));
    ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/consistency.json"), r->cfg, &c));
    ck_assert_elm_ok(elm_session_attach(r->s, ELM_ROLE_FORGET, 0, f));
    ck_assert_elm_ok(elm_session_attach(r->s, ELM_ROLE_RETAIN, 0, rt));
    ck_assert_elm_ok(elm_session_attach(r->s, ELM_ROLE_CONSISTENCY, 0, c));
    elm_dataset_free(f);
    elm_dataset_free(rt);
    elm_dataset_free(c);
}

static void run_close(run *r)
{
    elm_session_free(r->s);
    elm_model_free(r->m);
    elm_config_free(r->cfg);
}

/* Replace the model's final norm with NaNs; returns the original. */
static et_tensor *poison(elm_model *m)
{
    int64_t shape[1] = {m->cfg.n_embd};
    et_tensor *nan_norm = et_full(m->weights, NAN, m->dtype, 1, shape, m->device);
    ck_assert_elm_ok(et_scope_check(m->weights));
    et_tensor *orig = m->norm;
    m->norm = nan_norm;
    return orig;
}

static int same_file(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    char *x = tu_read_file(a, &la), *y = tu_read_file(b, &lb);
    int same = la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static void expect_same_dir(const char *d1, const char *d2, const char *const *files)
{
    char a[4200], b[4200];
    for (int i = 0; files[i]; i++) {
        snprintf(a, sizeof a, "%s/%s", d1, files[i]);
        snprintf(b, sizeof b, "%s/%s", d2, files[i]);
        ck_assert_msg(same_file(a, b), "%s differs between %s and %s", files[i], d1, d2);
    }
}

static const char *const adapter_and_state[] = {"adapter_model.safetensors", "elm_state.safetensors", NULL};

START_TEST(test_nan_step_refused_state_untouched)
{
    char *tmp = tu_tmpdir();
    char before[4200], after[4200];
    snprintf(before, sizeof before, "%s/before", tmp);
    snprintf(after, sizeof after, "%s/after", tmp);
    run r;
    run_open(&r);
    elm_step_stats st;
    ELM_STRUCT_INIT(&st);
    ck_assert_elm_ok(elm_session_step(r.s, &st)); /* optimizer moments now non-zero */
    ck_assert_int_eq(st.step, 1);
    ck_assert_elm_ok(elm_session_save(r.s, before));

    et_tensor *orig = poison(r.m);
    ELM_STRUCT_INIT(&st);
    ck_assert_elm_status(elm_session_step(r.s, &st), ELM_E_NUMERIC);
    ck_assert_msg(strstr(elm_last_error(), "not finite") != NULL, "message: %s", elm_last_error());
    /* refused again: nothing accumulated from the first refusal */
    ck_assert_elm_status(elm_session_step(r.s, &st), ELM_E_NUMERIC);
    r.m->norm = orig;

    ck_assert_elm_ok(elm_session_save(r.s, after));
    expect_same_dir(before, after, adapter_and_state);
    run_close(&r);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

/* A run with a refused step in the middle ends where a clean run ends:
 * data positions, template draws and the RNG were rolled back too. */
START_TEST(test_nan_step_leaves_no_trace)
{
    char *tmp = tu_tmpdir();
    char da[4200], db[4200];
    snprintf(da, sizeof da, "%s/a", tmp);
    snprintf(db, sizeof db, "%s/b", tmp);
    elm_step_stats st;

    run a;
    run_open(&a);
    ELM_STRUCT_INIT(&st);
    ck_assert_elm_ok(elm_session_step(a.s, &st));
    et_tensor *orig = poison(a.m);
    ck_assert_elm_status(elm_session_step(a.s, &st), ELM_E_NUMERIC);
    a.m->norm = orig;
    ELM_STRUCT_INIT(&st);
    ck_assert_elm_ok(elm_session_step(a.s, &st));
    ck_assert_int_eq(st.step, 2);
    ck_assert_msg(isfinite(st.loss) && isfinite(st.grad_norm), "loss %g grad_norm %g", st.loss, st.grad_norm);
    ck_assert_elm_ok(elm_session_save(a.s, da));
    run_close(&a);

    run b;
    run_open(&b);
    ck_assert_elm_ok(elm_session_step(b.s, &st));
    ck_assert_elm_ok(elm_session_step(b.s, &st));
    ck_assert_elm_ok(elm_session_save(b.s, db));
    run_close(&b);

    expect_same_dir(da, db, adapter_and_state);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

/* Poisoned from the very first step: the optimizer never starts. */
START_TEST(test_nan_first_step)
{
    char *tmp = tu_tmpdir();
    char before[4200], after[4200];
    snprintf(before, sizeof before, "%s/before", tmp);
    snprintf(after, sizeof after, "%s/after", tmp);
    run r;
    run_open(&r);
    ck_assert_elm_ok(elm_session_save(r.s, before));
    et_tensor *orig = poison(r.m);
    elm_step_stats st;
    ELM_STRUCT_INIT(&st);
    st.step = -42;
    ck_assert_elm_status(elm_session_step(r.s, &st), ELM_E_NUMERIC);
    ck_assert_int_eq(st.step, -42); /* stats untouched on failure */
    r.m->norm = orig;
    ck_assert_elm_ok(elm_session_save(r.s, after));
    expect_same_dir(before, after, adapter_and_state);
    ELM_STRUCT_INIT(&st);
    ck_assert_elm_ok(elm_session_step(r.s, &st));
    ck_assert_int_eq(st.step, 1);
    run_close(&r);
    tu_rmtree(tmp);
    free(tmp);
}
END_TEST

/* libtorch's allocator failing is ELM_E_NOMEM with a message, not an abort. */
START_TEST(test_torch_oom_is_nomem)
{
    et_scope *s = et_scope_new();
    ck_assert_ptr_nonnull(s);
    int64_t shape[2] = {(int64_t)1 << 40, (int64_t)1 << 12}; /* 16 PiB of float32 */
    et_device cpu = {0, 0};
    et_tensor *t = et_full(s, 0.0, ET_F32, 2, shape, cpu);
    elm_status st = et_scope_check(s);
    et_scope_free(s); /* before asserting: no leak of the test's own under CK_FORK=no */
    ck_assert_ptr_null(t);
    ck_assert_msg(st == ELM_E_NOMEM, "status %s: %s", elm_status_name(st), elm_last_error());
    ck_assert_str_ne(elm_last_error(), "");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api_numeric");
    TCase *tc = tcase_create("numeric");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_nan_step_refused_state_untouched);
    tcase_add_test(tc, test_nan_step_leaves_no_trace);
    tcase_add_test(tc, test_nan_first_step);
    suite_add_tcase(s, tc);
    TCase *oom = tcase_create("oom");
    tcase_add_test(oom, test_torch_oom_is_nomem);
    suite_add_tcase(s, oom);
    return tu_run(s);
}
