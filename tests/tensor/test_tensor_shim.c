/* Tests of libelm/tensor/shim.h against hand-computed values, finite
 * differences and torch 1.13 reference numbers. */
#include "testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tensor/shim.h"

static const et_device CPU = {0, 0};

static et_tensor *f32(et_scope *s, const float *v, int ndim, const int64_t *shape)
{
    return et_from_data(s, v, ET_F32, ndim, shape);
}

static et_tensor *f64(et_scope *s, const double *v, int ndim, const int64_t *shape)
{
    return et_from_data(s, v, ET_F64, ndim, shape);
}

static et_tensor *i64(et_scope *s, const int64_t *v, int ndim, const int64_t *shape)
{
    return et_from_data(s, v, ET_I64, ndim, shape);
}

/* Copy a tensor to host floats (fails the test on error). */
static void host_f32(et_tensor *t, float *out, size_t n)
{
    ck_assert_msg(t != NULL, "NULL tensor");
    ck_assert_int_eq(et_numel(t), (int64_t)n);
    ck_assert_elm_ok(et_to_host(t, out, ET_F32, n * sizeof(float)));
}

static void host_f64(et_tensor *t, double *out, size_t n)
{
    ck_assert_msg(t != NULL, "NULL tensor");
    ck_assert_int_eq(et_numel(t), (int64_t)n);
    ck_assert_elm_ok(et_to_host(t, out, ET_F64, n * sizeof(double)));
}

static void assert_close(const float *got, const double *want, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= tol, "element %zu: got %.9g want %.9g (tol %g)", i, got[i],
                      want[i], tol);
}

/* ---- runtime ---- */

START_TEST(test_runtime)
{
    ck_assert_str_eq(et_dtype_name(ET_BF16), "bfloat16");
    ck_assert_str_eq(et_dtype_name(ET_F32), "float32");
    ck_assert_uint_eq(et_dtype_size(ET_BF16), 2);
    ck_assert_uint_eq(et_dtype_size(ET_I64), 8);
    et_dtype dt;
    ck_assert_elm_ok(et_parse_dtype("bf16", &dt));
    ck_assert_int_eq(dt, ET_BF16);
    ck_assert_elm_ok(et_parse_dtype("fp16", &dt));
    ck_assert_int_eq(dt, ET_F16);
    ck_assert_elm_status(et_parse_dtype("int3", &dt), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "bfloat16"));

    et_device d;
    ck_assert_elm_ok(et_parse_device("cpu", &d));
    ck_assert_int_eq(d.kind, 0);
    ck_assert_elm_status(et_parse_device("tpu", &d), ELM_E_INVALID);
    if (!et_cuda_available())
        ck_assert_elm_status(et_parse_device("cuda:0", &d), ELM_E_DEVICE);
    char buf[32];
    et_device_name((et_device){1, 3}, buf, sizeof buf);
    ck_assert_str_eq(buf, "cuda:3");

    ck_assert_ptr_nonnull(et_backend_version());
    ck_assert(strlen(et_backend_version()) >= 3);
    ck_assert_elm_ok(et_set_num_threads(0));
    ck_assert_int_ge(et_get_num_threads(), 1);
    ck_assert_elm_ok(et_set_num_threads(1));
    ck_assert_int_eq(et_get_num_threads(), 1);
    int bf = et_cpu_has_bf16();
    ck_assert(bf == 0 || bf == 1);
}
END_TEST

/* ---- basic ops ---- */

START_TEST(test_linear)
{
    et_scope *s = et_scope_new();
    float x[] = {1, 2, 3, -1, 0.5f, 2};
    float w[] = {0.5f, -1, 0.25f, 2, 0, -1};
    float b[] = {0.1f, -0.2f};
    int64_t sx[] = {2, 3}, sb[] = {2};
    et_tensor *y = et_linear(s, f32(s, x, 2, sx), f32(s, w, 2, sx), f32(s, b, 1, sb));
    et_tensor *y0 = et_linear(s, f32(s, x, 2, sx), f32(s, w, 2, sx), NULL);
    ck_assert_elm_ok(et_scope_check(s));
    ck_assert_int_eq(et_size(y, 0), 2);
    ck_assert_int_eq(et_size(y, -1), 2);
    float got[4];
    host_f32(y, got, 4);
    /* row 0: 0.5-2+0.75 = -0.75, 2+0-3 = -1; row 1: -0.5-0.5+0.5 = -0.5, -2+0-2 = -4 */
    double want[] = {-0.75 + 0.1, -1 - 0.2, -0.5 + 0.1, -4 - 0.2};
    assert_close(got, want, 4, 1e-6);
    host_f32(y0, got, 4);
    double want0[] = {-0.75, -1, -0.5, -4};
    assert_close(got, want0, 4, 1e-6);
    char shp[32];
    et_shape_str(y, shp, sizeof shp);
    ck_assert_str_eq(shp, "[2, 2]");
    et_scope_free(s);
}
END_TEST

START_TEST(test_rms_norm)
{
    et_scope *s = et_scope_new();
    float x[] = {1, 2, 3, 4, -2, 0, 0, 2};
    float w[] = {1, 1, 2, 2};
    int64_t sx[] = {2, 4}, sw[] = {4};
    et_tensor *y = et_rms_norm(s, f32(s, x, 2, sx), f32(s, w, 1, sw), 1e-6);
    ck_assert_elm_ok(et_scope_check(s));
    float got[8];
    host_f32(y, got, 8);
    double r0 = 1 / sqrt(30.0 / 4 + 1e-6), r1 = 1 / sqrt(8.0 / 4 + 1e-6);
    double want[] = {1 * r0, 2 * r0, 6 * r0, 8 * r0, -2 * r1, 0, 0, 4 * r1};
    assert_close(got, want, 8, 1e-6);

    /* bf16 input: computed in fp32, result bf16 */
    et_tensor *yb = et_rms_norm(s, et_to(s, f32(s, x, 2, sx), ET_BF16), et_to(s, f32(s, w, 1, sw), ET_BF16), 1e-6);
    ck_assert_elm_ok(et_scope_check(s));
    ck_assert_int_eq(et_get_dtype(yb), ET_BF16);
    host_f32(yb, got, 8);
    assert_close(got, want, 8, 0.02);
    et_scope_free(s);
}
END_TEST

START_TEST(test_rope)
{
    et_scope *s = et_scope_new();
    float x[] = {1, 2, 3, 4, 5, 6, 7, 8};
    float c[] = {0.5f, 0.25f, 0.5f, 0.25f, 1, 0, 1, 0};
    float sn[] = {0.1f, 0.2f, 0.1f, 0.2f, 0, 1, 0, 1};
    int64_t sx[] = {1, 1, 2, 4}; /* B=1 H=1 T=2 D=4 */
    et_tensor *y = et_rope(s, f32(s, x, 4, sx), f32(s, c, 4, sx), f32(s, sn, 4, sx));
    ck_assert_elm_ok(et_scope_check(s));
    float got[8];
    host_f32(y, got, 8);
    /* rotate_half([1,2,3,4]) = [-3,-4,1,2]; rotate_half([5,6,7,8]) = [-7,-8,5,6] */
    double want[] = {1 * 0.5 - 3 * 0.1, 2 * 0.25 - 4 * 0.2, 3 * 0.5 + 1 * 0.1, 4 * 0.25 + 2 * 0.2,
                     5, -8, 7, 6};
    assert_close(got, want, 8, 1e-6);
    et_scope_free(s);
}
END_TEST

/* Reference attention in double: mask[t*S+j] != 0 means attend. */
static void ref_attention(const float *q, const float *k, const float *v, const unsigned char *mask, int T, int S,
                          int D, double *out)
{
    for (int t = 0; t < T; t++) {
        double sc[16], mx = -INFINITY, z = 0;
        int any = 0;
        for (int j = 0; j < S; j++) {
            if (!mask[t * S + j]) {
                sc[j] = -INFINITY;
                continue;
            }
            any = 1;
            double d = 0;
            for (int e = 0; e < D; e++)
                d += (double)q[t * D + e] * k[j * D + e];
            sc[j] = d / sqrt((double)D);
            if (sc[j] > mx)
                mx = sc[j];
        }
        for (int e = 0; e < D; e++)
            out[t * D + e] = 0;
        if (!any)
            continue;
        for (int j = 0; j < S; j++)
            z += mask[t * S + j] ? exp(sc[j] - mx) : 0;
        for (int j = 0; j < S; j++)
            if (mask[t * S + j])
                for (int e = 0; e < D; e++)
                    out[t * D + e] += exp(sc[j] - mx) / z * v[j * D + e];
    }
}

START_TEST(test_attention)
{
    et_scope *s = et_scope_new();
    enum { T = 3, D = 2 };
    float q[] = {0.1f, 0.2f, -0.3f, 0.4f, 0.5f, -0.6f};
    float k[] = {1.0f, -0.5f, 0.25f, 0.75f, -1.0f, 0.5f};
    float v[] = {1, 2, 3, 4, 5, 6};
    int64_t sh[] = {1, 1, T, D};
    et_tensor *tq = f32(s, q, 4, sh), *tk = f32(s, k, 4, sh), *tv = f32(s, v, 4, sh);

    /* causal */
    unsigned char causal[T * T] = {1, 0, 0, 1, 1, 0, 1, 1, 1};
    double want[T * D];
    float got[T * D];
    ref_attention(q, k, v, causal, T, T, D, want);
    host_f32(et_attention(s, tq, tk, tv, NULL, 1, 0), got, T * D);
    assert_close(got, want, T * D, 1e-6);
    /* the same with an explicit bool mask equal to the causal mask */
    int64_t sm[] = {1, 1, T, T};
    et_tensor *m = et_from_data(s, causal, ET_BOOL, 4, sm);
    host_f32(et_attention(s, tq, tk, tv, m, 0, 0), got, T * D);
    assert_close(got, want, T * D, 1e-6);

    /* left padding: key 0 is padding; with causal, query 0 sees no key and
     * must give zeros (not NaN). */
    unsigned char pad[T * T] = {0, 1, 1, 0, 1, 1, 0, 1, 1};
    unsigned char both[T * T];
    for (int i = 0; i < T * T; i++)
        both[i] = pad[i] && causal[i];
    ref_attention(q, k, v, both, T, T, D, want);
    et_tensor *mp = et_from_data(s, pad, ET_BOOL, 4, sm);
    ck_assert_int_eq(et_set_requires_grad(tq, 1), ELM_OK);
    et_tensor *o = et_attention(s, tq, tk, tv, mp, 1, 0);
    host_f32(o, got, T * D);
    ck_assert(et_all_finite(o));
    assert_close(got, want, T * D, 1e-6);
    ck_assert(got[0] == 0 && got[1] == 0);
    /* gradients through the empty row stay finite */
    ck_assert_elm_ok(et_backward(et_sum_all(s, o)));
    et_tensor *g = et_grad(s, tq);
    ck_assert_ptr_nonnull(g);
    ck_assert(et_all_finite(g));
    float gq[T * D];
    host_f32(g, gq, T * D);
    ck_assert(gq[0] == 0 && gq[1] == 0);

    /* explicit scale */
    ref_attention(q, k, v, causal, T, T, D, want);
    et_tensor *o2 = et_attention(s, tq, tk, tv, NULL, 1, 1 / sqrt(2.0));
    host_f32(o2, got, T * D);
    assert_close(got, want, T * D, 1e-6);

    /* KV cache: one query against three keys, causal means all three */
    int64_t sq1[] = {1, 1, 1, D};
    et_tensor *q1 = f32(s, q + 4, 4, sq1);
    ref_attention(q, k, v, causal, T, T, D, want);
    host_f32(et_attention(s, q1, tk, tv, NULL, 1, 0), got, D);
    assert_close(got, want + 4, D, 1e-6);
    ck_assert_elm_ok(et_scope_check(s));
    et_scope_free(s);
}
END_TEST

START_TEST(test_softmax_topk_gather)
{
    et_scope *s = et_scope_new();
    float x[] = {1, 2, 3, 0, -1, 0.5f};
    int64_t sx[] = {2, 3};
    et_tensor *t = f32(s, x, 2, sx);
    float got[6];
    host_f32(et_softmax(s, t, -1), got, 6);
    double z0 = exp(1) + exp(2) + exp(3), z1 = exp(0) + exp(-1) + exp(0.5);
    double want[] = {exp(1) / z0, exp(2) / z0, exp(3) / z0, 1 / z1, exp(-1) / z1, exp(0.5) / z1};
    assert_close(got, want, 6, 1e-6);
    host_f32(et_log_softmax(s, t, 1), got, 6);
    for (int i = 0; i < 6; i++)
        want[i] = log(want[i]);
    assert_close(got, want, 6, 1e-6);

    et_tensor *vals, *idx;
    ck_assert_elm_ok(et_topk(s, t, 2, -1, &vals, &idx));
    float gv[4];
    int64_t gi[4];
    host_f32(vals, gv, 4);
    ck_assert_int_eq(et_get_dtype(idx), ET_I64);
    ck_assert_elm_ok(et_to_host(idx, gi, ET_I64, sizeof gi));
    ck_assert(gv[0] == 3 && gv[1] == 2 && gv[2] == 0.5f && gv[3] == 0);
    ck_assert(gi[0] == 2 && gi[1] == 1 && gi[2] == 2 && gi[3] == 0);
    ck_assert_elm_ok(et_sort(s, t, -1, 0, &vals, &idx));
    host_f32(vals, got, 6);
    ck_assert(got[0] == 1 && got[2] == 3 && got[3] == -1 && got[5] == 0.5f);
    ck_assert_elm_status(et_topk(s, t, 7, -1, &vals, &idx), ELM_E_INVALID);
    ck_assert_ptr_null(vals);

    int64_t ix[] = {2, 0, 1, 1};
    int64_t si[] = {2, 2};
    et_tensor *gt = et_gather(s, t, 1, i64(s, ix, 2, si));
    host_f32(gt, gv, 4);
    ck_assert(gv[0] == 3 && gv[1] == 1 && gv[2] == -1 && gv[3] == -1);

    float src[] = {10, 20, 30, 40};
    int64_t ix2[] = {0, 2, 1, 0};
    et_tensor *sc = et_scatter(s, t, 1, i64(s, ix2, 2, si), f32(s, src, 2, si));
    host_f32(sc, got, 6);
    float want_sc[] = {10, 2, 20, 40, 30, 0.5f};
    ck_assert_mem_eq(got, want_sc, sizeof want_sc);
    host_f32(t, got, 6); /* scatter makes a copy */
    ck_assert(got[0] == 1);

    et_tensor *parts[] = {t, et_narrow(s, t, 1, 1, 2)};
    et_tensor *c = et_cat(s, parts, 2, 1);
    ck_assert_int_eq(et_size(c, 1), 5);
    float gc[10];
    host_f32(c, gc, 10);
    float want_c[] = {1, 2, 3, 2, 3, 0, -1, 0.5f, -1, 0.5f};
    ck_assert_mem_eq(gc, want_c, sizeof want_c);
    et_tensor *st = et_stack(s, parts + 1, 1, 0);
    ck_assert_int_eq(et_ndim(st), 3);

    et_tensor *pr = et_pad_right(s, t, 1, 2, -5);
    float gp[10];
    host_f32(pr, gp, 10);
    float want_p[] = {1, 2, 3, -5, -5, 0, -1, 0.5f, -5, -5};
    ck_assert_mem_eq(gp, want_p, sizeof want_p);
    ck_assert_elm_ok(et_scope_check(s));
    et_scope_free(s);
}
END_TEST

START_TEST(test_cross_entropy)
{
    et_scope *s = et_scope_new();
    float lg[] = {1, 2, 3, 0, -1, 0.5f, 4, 4, 4};
    int64_t sl[] = {3, 3}, st[] = {3};
    int64_t tg[] = {0, 2, -100};
    et_tensor *logits = f32(s, lg, 2, sl);
    double v;
    ck_assert_elm_ok(et_item(et_cross_entropy(s, logits, i64(s, tg, 1, st), -100), &v));
    double z0 = log(exp(1) + exp(2) + exp(3)), z1 = log(exp(0) + exp(-1) + exp(0.5));
    double want = ((z0 - 1) + (z1 - 0.5)) / 2;
    ck_assert_msg(fabs(v - want) < 1e-6, "CE %.9g want %.9g", v, want);

    float q[] = {0.5f, 0.5f, 0, 0, 0, 1, 1, 0, 0};
    ck_assert_elm_ok(et_item(et_soft_cross_entropy(s, logits, f32(s, q, 2, sl)), &v));
    double z2 = log(3 * exp(4));
    double want_s = (0.5 * (z0 - 1) + 0.5 * (z0 - 2) + (z1 - 0.5) + (z2 - 4)) / 3;
    ck_assert_msg(fabs(v - want_s) < 1e-6, "soft CE %.9g want %.9g", v, want_s);
    et_scope_free(s);
}
END_TEST

/* ---- autograd against finite differences (double) ---- */

static double fd_loss(const double *w, const double *x)
{
    /* loss = sum(silu(x @ w^T)^2) + logsumexp over the row of (x@w^T) */
    double total = 0;
    for (int r = 0; r < 2; r++) {
        double y[2], m = -INFINITY, z = 0;
        for (int o = 0; o < 2; o++) {
            y[o] = 0;
            for (int i = 0; i < 3; i++)
                y[o] += x[r * 3 + i] * w[o * 3 + i];
            double sl = y[o] / (1 + exp(-y[o]));
            total += sl * sl;
            if (y[o] > m)
                m = y[o];
        }
        for (int o = 0; o < 2; o++)
            z += exp(y[o] - m);
        total += m + log(z);
    }
    return total;
}

START_TEST(test_autograd_fd)
{
    et_scope *s = et_scope_new();
    double w[] = {0.3, -0.7, 0.2, 1.1, 0.4, -0.5};
    double x[] = {1, 2, -1, 0.5, -0.25, 2};
    int64_t sh[] = {2, 3};
    et_tensor *tw = f64(s, w, 2, sh), *tx = f64(s, x, 2, sh);
    ck_assert_elm_ok(et_set_requires_grad(tw, 1));
    ck_assert(et_requires_grad(tw));
    ck_assert_ptr_null(et_grad(s, tw));
    et_tensor *y = et_linear(s, tx, tw, NULL);
    et_tensor *loss = et_add(s, et_sum_all(s, et_pow_scalar(s, et_silu(s, y), 2)),
                             et_sum_all(s, et_logsumexp(s, y, 1, 0)));
    ck_assert_elm_ok(et_scope_check(s));
    double lv;
    ck_assert_elm_ok(et_item(loss, &lv));
    ck_assert_msg(fabs(lv - fd_loss(w, x)) < 1e-12, "loss %.17g vs %.17g", lv, fd_loss(w, x));
    ck_assert_elm_ok(et_backward(loss));
    double g[6];
    host_f64(et_grad(s, tw), g, 6);
    for (int i = 0; i < 6; i++) {
        double wp[6], wm[6], h = 1e-6;
        memcpy(wp, w, sizeof w);
        memcpy(wm, w, sizeof w);
        wp[i] += h;
        wm[i] -= h;
        double fd = (fd_loss(wp, x) - fd_loss(wm, x)) / (2 * h);
        ck_assert_msg(fabs(g[i] - fd) < 1e-7, "grad %d: %.12g vs finite difference %.12g", i, g[i], fd);
    }
    ck_assert_elm_ok(et_zero_grad(tw));
    ck_assert_ptr_null(et_grad(s, tw));
    ck_assert_elm_ok(et_scope_check(s));
    et_scope_free(s);
}
END_TEST

/* ---- AdamW and clipping vs torch 1.13 ---- */

/* Reference (torch 1.13.1, CPU):
 *   w = torch.tensor([[0.5, -1.0, 0.25], [1.5, 0.0, -0.75]], requires_grad=True)
 *   c = torch.tensor([[0.1, -0.2, 0.3], [-0.4, 0.5, -0.6]])
 *   opt = torch.optim.AdamW([w], lr=0.1, betas=(0.9, 0.999), eps=1e-8,
 *                           weight_decay=0.01, foreach=False)
 *   for _ in range(3):
 *       opt.zero_grad(); loss = (w * c).sum() + (w * w).sum() * 0.5
 *       loss.backward(); opt.step()
 *   print w, opt.state[w]['exp_avg'], ['exp_avg_sq'] with "%.9g"
 *   w.grad = None; loss = ...same...; loss.backward()
 *   n = torch.nn.utils.clip_grad_norm_([w], 1.0); print n, w.grad
 * Compared bit for bit ("%.9g" round-trips float32). */
static const float ADAM_W[] = {0.202370137f, -0.698541939f, -0.0463212058f,
                               1.19721544f, -0.294833243f, -0.449101925f};
static const float ADAM_M[] = {0.133554026f, -0.295952618f, 0.120089449f,
                               0.268712014f, 0.106628746f, -0.33667028f};
static const float ADAM_V[] = {0.000768523372f, 0.00364056998f, 0.000626902096f,
                               0.00300903921f, 0.000500114402f, 0.00469784252f};
static const float CLIP_NORM = 1.65572309f;
static const float CLIP_GRAD[] = {0.182621092f, -0.542688251f, 0.153213218f,
                                  0.481490552f, 0.123913623f, -0.633621275f};

/* Ops in the order Python creates them: autograd accumulates w's gradient in
 * that order, so a different order changes rounding. */
static et_tensor *adam_loss(et_scope *s, et_tensor *w, et_tensor *c)
{
    et_tensor *a = et_sum_all(s, et_mul(s, w, c));
    et_tensor *b = et_scale(s, et_sum_all(s, et_mul(s, w, w)), 0.5);
    return et_add(s, a, b);
}

START_TEST(test_adamw_torch)
{
    et_scope *keep = et_scope_new();
    float w0[] = {0.5f, -1.0f, 0.25f, 1.5f, 0.0f, -0.75f};
    float c0[] = {0.1f, -0.2f, 0.3f, -0.4f, 0.5f, -0.6f};
    int64_t sh[] = {2, 3};
    et_tensor *w = f32(keep, w0, 2, sh), *c = f32(keep, c0, 2, sh);
    ck_assert_elm_ok(et_set_requires_grad(w, 1));
    et_adamw *opt = et_adamw_new(&w, 1, 0.1, 0.9, 0.999, 1e-8, 0.01);
    ck_assert_ptr_nonnull(opt);
    ck_assert_elm_ok(et_adamw_step(opt)); /* no grad yet: nothing moves */
    float got[6];
    host_f32(w, got, 6);
    ck_assert_mem_eq(got, w0, sizeof w0);
    for (int i = 0; i < 3; i++) {
        et_scope *s = et_scope_new();
        ck_assert_elm_ok(et_zero_grad(w));
        ck_assert_elm_ok(et_backward(adam_loss(s, w, c)));
        ck_assert_elm_ok(et_adamw_step(opt));
        et_scope_free(s);
    }
    ck_assert_int_eq(et_adamw_steps(opt), 4);
    /* bit-equal to torch.optim.AdamW on the libtorch the constants came
     * from (1.13); another libtorch's elementwise kernels round differently
     * (2.11: 4 ulp), so there within 1e-6 relative */
    double tol = strncmp(et_backend_version(), "1.13.", 5) == 0 ? 0.0 : 1e-6;
    host_f32(w, got, 6);
    for (int i = 0; i < 6; i++)
        ck_assert_msg(fabs((double)got[i] - ADAM_W[i]) <= tol * fabs((double)ADAM_W[i]),
                      "w[%d] %.9g vs torch %.9g (libtorch %s)", i, got[i], ADAM_W[i], et_backend_version());
    et_tensor *m, *v;
    ck_assert_elm_ok(et_adamw_get_state(opt, keep, 0, &m, &v));
    host_f32(m, got, 6);
    for (int i = 0; i < 6; i++)
        ck_assert_msg(fabs((double)got[i] - ADAM_M[i]) <= tol * fabs((double)ADAM_M[i]), "m[%d] %.9g vs %.9g", i,
                      got[i], ADAM_M[i]);
    host_f32(v, got, 6);
    for (int i = 0; i < 6; i++)
        ck_assert_msg(fabs((double)got[i] - ADAM_V[i]) <= tol * fabs((double)ADAM_V[i]), "v[%d] %.9g vs %.9g", i,
                      got[i], ADAM_V[i]);
    ck_assert_elm_status(et_adamw_get_state(opt, keep, 1, &m, &v), ELM_E_INVALID);

    /* clip_grad_norm_ */
    et_scope *s = et_scope_new();
    ck_assert_elm_ok(et_zero_grad(w));
    ck_assert_elm_ok(et_backward(adam_loss(s, w, c)));
    double norm;
    int finite;
    ck_assert_elm_ok(et_grad_norm_clip(&w, 1, 1.0, &norm, &finite));
    ck_assert_int_eq(finite, 1);
    /* (from weights that may differ by a few ulp elsewhere: same tolerance) */
    ck_assert_msg(fabs((double)(float)norm - CLIP_NORM) <= tol * CLIP_NORM, "norm %.9g vs %.9g", norm, CLIP_NORM);
    host_f32(et_grad(s, w), got, 6);
    for (int i = 0; i < 6; i++)
        ck_assert_msg(fabs((double)got[i] - CLIP_GRAD[i]) <= tol * fabs((double)CLIP_GRAD[i]),
                      "grad[%d] %.9g vs torch %.9g", i, got[i], CLIP_GRAD[i]);
    et_scope_free(s);

    /* state round trip: a fresh optimizer restored from the old one steps alike */
    et_tensor *w2 = et_clone(keep, w);
    w2 = et_detach(keep, w2);
    ck_assert_elm_ok(et_set_requires_grad(w2, 1));
    et_adamw *opt2 = et_adamw_new(&w2, 1, 0.1, 0.9, 0.999, 1e-8, 0.01);
    ck_assert_elm_ok(et_adamw_get_state(opt, keep, 0, &m, &v));
    ck_assert_elm_ok(et_adamw_set_state(opt2, 0, m, v, 3));
    s = et_scope_new();
    ck_assert_elm_ok(et_zero_grad(w));
    ck_assert_elm_ok(et_backward(adam_loss(s, w, c)));
    ck_assert_elm_ok(et_backward(adam_loss(s, w2, c)));
    ck_assert_elm_ok(et_adamw_step(opt));
    ck_assert_elm_ok(et_adamw_step(opt2));
    float g2[6];
    host_f32(w, got, 6);
    host_f32(w2, g2, 6);
    ck_assert_mem_eq(got, g2, sizeof g2);
    et_scope_free(s);

    et_adamw_free(opt);
    et_adamw_free(opt2);
    et_adamw_free(NULL);
    et_scope_free(keep);
}
END_TEST

START_TEST(test_clip_nonfinite)
{
    et_scope *s = et_scope_new();
    float w0[] = {1, 2};
    int64_t sh[] = {2};
    et_tensor *w = f32(s, w0, 1, sh);
    ck_assert_elm_ok(et_set_requires_grad(w, 1));
    ck_assert_elm_ok(et_backward(et_sum_all(s, et_log(s, et_add_scalar(s, w, -1)))));
    double norm;
    int finite;
    ck_assert_elm_ok(et_grad_norm_clip(&w, 1, 1.0, &norm, &finite));
    ck_assert_int_eq(finite, 0);
    float g[2];
    host_f32(et_grad(s, w), g, 2);
    ck_assert(isinf(g[0]) && g[1] == 1); /* untouched */
    et_scope_free(s);
}
END_TEST

/* ---- errors, scopes, modes ---- */

START_TEST(test_libtorch_error)
{
    et_scope *s = et_scope_new();
    int64_t sa[] = {2, 3}, sb[] = {4, 5};
    et_tensor *a = et_zeros(s, ET_F32, 2, sa, CPU), *b = et_zeros(s, ET_F32, 2, sb, CPU);
    ck_assert_ptr_null(et_matmul(s, a, b));
    /* shape errors are argument errors */
    ck_assert_elm_status(et_scope_check(s), ELM_E_INVALID);
    const char *msg = elm_last_error();
    ck_assert_msg(strncmp(msg, "et_matmul: ", 11) == 0, "message: %s", msg);
    ck_assert_msg(strstr(msg, "2x3") && strstr(msg, "4x5"), "message lacks shapes: %s", msg);
    ck_assert_msg(!strstr(msg, "Exception raised from"), "backtrace leaked: %s", msg);

    /* elm_status functions report directly */
    float buf[3];
    ck_assert_elm_status(et_to_host(a, buf, ET_F32, sizeof buf), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "et_to_host"));
    ck_assert_elm_status(et_item(a, (double *)buf), ELM_E_INVALID);
    et_scope_free(s);
}
END_TEST

START_TEST(test_sticky_errors)
{
    et_scope *s = et_scope_new();
    int64_t sa[] = {2, 3}, sb[] = {4, 5};
    et_tensor *a = et_zeros(s, ET_F32, 2, sa, CPU), *b = et_zeros(s, ET_F32, 2, sb, CPU);
    et_tensor *bad = et_matmul(s, a, b);                      /* first error */
    et_tensor *chain = et_silu(s, et_add(s, bad, a));          /* NULL in, NULL out */
    ck_assert_ptr_null(chain);
    ck_assert_ptr_null(et_narrow(s, a, 1, 2, 5));              /* second real error */
    ck_assert_ptr_nonnull(et_add(s, a, a));                    /* valid ops still run */
    ck_assert_elm_status(et_scope_check(s), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "et_matmul"));
    ck_assert_elm_status(et_scope_check(s), ELM_E_INVALID);    /* still there */
    /* an elm_status op given the NULL result reports the scope's error */
    et_tensor *v, *i;
    elm_err_clear();
    ck_assert_elm_status(et_topk(s, bad, 1, 0, &v, &i), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "et_matmul"));
    et_scope_reset_error(s);
    ck_assert_elm_ok(et_scope_check(s));
    ck_assert_ptr_null(et_narrow(s, a, 1, 2, 5));
    ck_assert_elm_status(et_scope_check(s), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "et_narrow"));
    /* NULL scope */
    ck_assert_ptr_null(et_add(NULL, a, a));
    ck_assert_str_eq(elm_status_name(ELM_E_INVALID), "ELM_E_INVALID");
    et_scope_free(s);
}
END_TEST

static int released;
static void on_release(void *ctx)
{
    released += *(int *)ctx;
}

START_TEST(test_scope_free)
{
    released = 0;
    static float blob[4] = {1, 2, 3, 4};
    int tag = 7;
    et_scope *s = et_scope_new();
    ck_assert_uint_eq(et_scope_count(s), 0);
    int64_t sh[] = {4};
    et_tensor *b = et_from_blob(s, blob, ET_F32, 1, sh, on_release, &tag);
    et_tensor *y = et_scale(s, b, 2);
    et_tensor *r = et_reshape(s, b, 2, (int64_t[]){2, 2});
    ck_assert_ptr_nonnull(y);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(et_scope_count(s), 3);
    float got[4];
    host_f32(y, got, 4);
    ck_assert(got[3] == 8);

    et_scope *outer = et_scope_new();
    et_tensor *kept = et_share(outer, r);
    ck_assert_uint_eq(et_scope_count(outer), 1);
    et_scope_free(s);
    ck_assert_int_eq(released, 0); /* the view in `outer` keeps the blob alive */
    host_f32(kept, got, 4);
    ck_assert(got[2] == 3);
    et_scope_free(outer);
    ck_assert_int_eq(released, 7);
    et_scope_free(NULL);
    ck_assert_uint_eq(et_scope_count(NULL), 0);
}
END_TEST

START_TEST(test_grad_mode)
{
    ck_assert_int_eq(et_grad_enabled(), 1);
    ck_assert_int_eq(et_set_grad_enabled(0), 1);
    ck_assert_int_eq(et_grad_enabled(), 0);
    et_scope *s = et_scope_new();
    float w0[] = {1, 2};
    int64_t sh[] = {2};
    et_tensor *w = f32(s, w0, 1, sh);
    ck_assert_elm_ok(et_set_requires_grad(w, 1));
    et_tensor *y = et_scale(s, w, 3);
    ck_assert_int_eq(et_requires_grad(y), 0);
    ck_assert_elm_status(et_backward(et_sum_all(s, y)), ELM_E_INVALID);
    ck_assert_int_eq(et_set_grad_enabled(1), 0);
    y = et_scale(s, w, 3);
    ck_assert_int_eq(et_requires_grad(y), 1);
    ck_assert_elm_ok(et_backward(et_sum_all(s, y)));
    ck_assert_elm_ok(et_backward(et_sum_all(s, et_scale(s, w, 3)))); /* accumulates */
    float g[2];
    host_f32(et_grad(s, w), g, 2);
    ck_assert(g[0] == 6 && g[1] == 6);
    /* in-place updates work on leaves that need grad */
    float d[] = {0.5f, 0.5f};
    ck_assert_elm_ok(et_add_(w, f32(s, d, 1, sh), -2));
    ck_assert_elm_ok(et_mul_scalar_(w, 2));
    host_f32(w, g, 2);
    ck_assert(g[0] == 0 && g[1] == 2);
    ck_assert_elm_ok(et_copy_(w, f32(s, w0, 1, sh)));
    host_f32(w, g, 2);
    ck_assert(g[0] == 1 && g[1] == 2);
    et_scope_free(s);
}
END_TEST

START_TEST(test_rng_state)
{
    et_scope *s = et_scope_new();
    et_manual_seed(1234);
    et_tensor *st = et_rng_get_state(s);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(et_get_dtype(st), ET_U8);
    int64_t sh[] = {16};
    et_tensor *a = et_zeros(s, ET_F32, 1, sh, CPU);
    ck_assert_elm_ok(et_uniform_(a, -1, 1));
    float p[] = {0.1f, 0.2f, 0.3f, 0.4f, 1, 1, 1, 1};
    int64_t sp[] = {2, 4};
    et_tensor *draw1 = et_multinomial(s, f32(s, p, 2, sp));
    ck_assert_int_eq(et_ndim(draw1), 1);
    ck_assert_int_eq(et_size(draw1, 0), 2);

    ck_assert_elm_ok(et_rng_set_state(st));
    et_tensor *b = et_zeros(s, ET_F32, 1, sh, CPU);
    ck_assert_elm_ok(et_uniform_(b, -1, 1));
    et_tensor *draw2 = et_multinomial(s, f32(s, p, 2, sp));
    float fa[16], fb[16];
    host_f32(a, fa, 16);
    host_f32(b, fb, 16);
    ck_assert_mem_eq(fa, fb, sizeof fa);
    int64_t d1[2], d2[2];
    ck_assert_elm_ok(et_to_host(draw1, d1, ET_I64, sizeof d1));
    ck_assert_elm_ok(et_to_host(draw2, d2, ET_I64, sizeof d2));
    ck_assert_mem_eq(d1, d2, sizeof d1);

    /* reseeding reproduces too; a different seed differs */
    et_manual_seed(1234);
    ck_assert_elm_ok(et_uniform_(b, -1, 1));
    host_f32(b, fb, 16);
    ck_assert_mem_eq(fa, fb, sizeof fa);
    et_manual_seed(99);
    ck_assert_elm_ok(et_normal_(b, 0, 1));
    host_f32(b, fb, 16);
    ck_assert(memcmp(fa, fb, sizeof fa) != 0);

    /* kaiming_uniform_ bound: sqrt(6 / ((1 + a^2) fan_in)) */
    int64_t sk[] = {8, 24};
    et_tensor *k = et_zeros(s, ET_F32, 2, sk, CPU);
    ck_assert_elm_ok(et_kaiming_uniform_(k, sqrt(5.0)));
    float kv[8 * 24];
    host_f32(k, kv, 8 * 24);
    double bound = sqrt(6.0 / (6.0 * 24)), mx = 0;
    for (int i = 0; i < 8 * 24; i++)
        mx = fmax(mx, fabs(kv[i]));
    ck_assert(mx <= bound && mx > bound * 0.5);

    ck_assert_elm_status(et_rng_set_state(a), ELM_E_INVALID); /* not a byte tensor */
    ck_assert_elm_ok(et_scope_check(s));
    et_scope_free(s);
}
END_TEST

START_TEST(test_bf16_roundtrip)
{
    et_scope *s = et_scope_new();
    float x[] = {1.5f, -2.25f, 0.0078125f, 3.0e38f, 1.0f + 1.0f / 256};
    int64_t sh[] = {5};
    et_tensor *b = et_to(s, f32(s, x, 1, sh), ET_BF16);
    ck_assert_int_eq(et_get_dtype(b), ET_BF16);
    uint16_t raw[5];
    ck_assert_elm_ok(et_to_host(b, raw, ET_BF16, sizeof raw));
    ck_assert_uint_eq(raw[0], 0x3FC0);
    ck_assert_uint_eq(raw[1], 0xC010);
    float back[5];
    host_f32(b, back, 5);
    ck_assert(back[0] == 1.5f && back[1] == -2.25f && back[2] == 0.0078125f);
    ck_assert(back[4] == 1.0f); /* 1 + 2^-8 rounds to even in bf16 */
    /* bf16 bytes back in */
    et_tensor *c = et_from_data(s, raw, ET_BF16, 1, sh);
    float back2[5];
    host_f32(c, back2, 5);
    ck_assert_mem_eq(back, back2, sizeof back);
    /* wrong byte count */
    ck_assert_elm_status(et_to_host(b, raw, ET_BF16, sizeof raw - 2), ELM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "[5]"));
    /* dtype inspection and f16 */
    et_tensor *h = et_to(s, b, ET_F16);
    ck_assert_int_eq(et_get_dtype(h), ET_F16);
    ck_assert_int_eq(et_numel(h), 5);
    ck_assert_elm_ok(et_scope_check(s));
    et_scope_free(s);
}
END_TEST

START_TEST(test_misc_ops)
{
    et_scope *s = et_scope_new();
    et_tensor *r = et_arange(s, 0, 6, ET_I64, CPU);
    et_tensor *m = et_tril_mask(s, 2, 3, 1, CPU);
    unsigned char mk[6];
    ck_assert_elm_ok(et_to_host(m, mk, ET_BOOL, sizeof mk));
    unsigned char want_m[] = {1, 1, 0, 1, 1, 1};
    ck_assert_mem_eq(mk, want_m, sizeof mk);
    float w[] = {0, 1, 10, 11, 20, 21};
    int64_t sw[] = {3, 2};
    int64_t ids[] = {2, 0, 2, 1};
    int64_t si[] = {2, 2};
    et_tensor *e = et_embedding(s, f32(s, w, 2, sw), i64(s, ids, 2, si));
    ck_assert_int_eq(et_ndim(e), 3);
    float ge[8];
    host_f32(e, ge, 8);
    float want_e[] = {20, 21, 0, 1, 20, 21, 10, 11};
    ck_assert_mem_eq(ge, want_e, sizeof ge);
    et_tensor *eq = et_eq_scalar(s, r, 3);
    double v;
    ck_assert_elm_ok(et_item(et_sum_all(s, eq), &v));
    ck_assert(v == 1);
    ck_assert_elm_ok(et_item(et_argmax(s, r, 0, 0), &v));
    ck_assert(v == 5);
    ck_assert_elm_ok(et_item(et_sum_all(s, et_cumsum(s, r, 0)), &v));
    ck_assert(v == 0 + 1 + 3 + 6 + 10 + 15);
    et_tensor *ri = et_repeat_interleave(s, et_reshape(s, r, 2, sw), 2, 1);
    ck_assert_int_eq(et_size(ri, 1), 4);
    float full[] = {0};
    et_tensor *f = et_full(s, 2.5, ET_F32, 0, NULL, CPU);
    host_f32(f, full, 1);
    ck_assert(full[0] == 2.5f);
    ck_assert(et_dropout(s, f, 0.5, 0) != NULL);
    ck_assert_elm_ok(et_scope_check(s));
    et_scope_free(s);
}
END_TEST

/* The large-block cache (shim_alloc.cpp): a freed block of >= 256 KiB is
 * kept and handed out again for a request of its size class or up to half
 * its size, contents are not shared between tensors, oneDNN's raw
 * allocations (bf16 matmul scratch) pass through, and budget 0 empties it. */
START_TEST(test_cpu_cache)
{
    ck_assert_elm_ok(et_set_cpu_cache((size_t)8 << 20));
    et_cpu_cache_info a, b;
    const int64_t n = 300000; /* 1.2 MB of floats */
    float *host = malloc((size_t)n * sizeof(float)), *back = malloc((size_t)n * sizeof(float));
    ck_assert(host && back);
    for (int64_t i = 0; i < n; i++)
        host[i] = (float)i;

    et_scope *s = et_scope_new();
    ck_assert(et_from_data(s, host, ET_F32, 1, &n) != NULL);
    et_scope_free(s); /* its block goes to the cache */
    et_cpu_cache_stats(&a);
    ck_assert_uint_ge(a.cached, (size_t)n * sizeof(float));
    ck_assert_uint_le(a.cached, a.budget);

    for (int64_t i = 0; i < n; i++)
        host[i] = (float)(n - i);
    s = et_scope_new();
    et_tensor *t = et_from_data(s, host, ET_F32, 1, &n); /* same class: from the cache */
    et_cpu_cache_stats(&b);
    ck_assert_uint_eq(b.hits, a.hits + 1);
    ck_assert_uint_lt(b.cached, a.cached);
    ck_assert_elm_ok(et_to_host(t, back, ET_F32, (size_t)n * sizeof(float)));
    ck_assert(memcmp(host, back, (size_t)n * sizeof(float)) == 0);
    et_scope_free(s);

    /* a smaller request (0.8 MB) reuses the 1.2 MB block */
    int64_t m = 200000;
    et_cpu_cache_stats(&a);
    s = et_scope_new();
    t = et_full(s, 3.0, ET_F32, 1, &m, CPU);
    et_cpu_cache_stats(&b);
    ck_assert_uint_eq(b.hits, a.hits + 1);
    double v = 0;
    ck_assert_elm_ok(et_item(et_sum_all(s, t), &v));
    ck_assert(v == 3.0 * (double)m);
    et_scope_free(s);

    /* bf16 matmul (oneDNN where the CPU has AVX512/AMX; raw allocations through the same
     * allocator). k = 16 keeps every partial sum exact in bf16: without oneDNN's path (AVX2
     * only), libtorch 1.13's fallback loop accumulates in bf16 and a k = 512 sum of 0.125s
     * stalls at 32 (measured on an AMD EPYC). */
    s = et_scope_new();
    int64_t sa[2] = {256, 16}, sb[2] = {16, 512};
    et_tensor *x = et_to(s, et_full(s, 0.5, ET_F32, 2, sa, CPU), ET_BF16);
    et_tensor *w = et_to(s, et_full(s, 0.25, ET_F32, 2, sb, CPU), ET_BF16);
    for (int rep = 0; rep < 3; rep++) {
        et_tensor *y = et_matmul(s, x, w);
        ck_assert_elm_ok(et_item(et_sum_all(s, et_to(s, y, ET_F32)), &v));
        ck_assert_msg(fabs(v - 256.0 * 512 * 2.0) < 1e-3, "sum %g", v);
    }
    ck_assert_elm_ok(et_scope_check(s));
    et_scope_free(s);

    /* budget 0: emptied, and freed blocks are not kept */
    ck_assert_elm_ok(et_set_cpu_cache(0));
    et_cpu_cache_stats(&a);
    ck_assert_uint_eq(a.cached, 0);
    s = et_scope_new();
    ck_assert(et_from_data(s, host, ET_F32, 1, &n) != NULL);
    et_scope_free(s);
    et_cpu_cache_stats(&b);
    ck_assert_uint_eq(b.cached, 0);
    ck_assert_uint_eq(b.mapped, 0);
    free(host);
    free(back);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tensor");
    TCase *tc = tcase_create("shim");
    tcase_add_test(tc, test_runtime);
    tcase_add_test(tc, test_linear);
    tcase_add_test(tc, test_rms_norm);
    tcase_add_test(tc, test_rope);
    tcase_add_test(tc, test_attention);
    tcase_add_test(tc, test_softmax_topk_gather);
    tcase_add_test(tc, test_cross_entropy);
    tcase_add_test(tc, test_autograd_fd);
    tcase_add_test(tc, test_adamw_torch);
    tcase_add_test(tc, test_clip_nonfinite);
    tcase_add_test(tc, test_libtorch_error);
    tcase_add_test(tc, test_sticky_errors);
    tcase_add_test(tc, test_scope_free);
    tcase_add_test(tc, test_grad_mode);
    tcase_add_test(tc, test_rng_state);
    tcase_add_test(tc, test_bf16_roundtrip);
    tcase_add_test(tc, test_misc_ops);
    tcase_add_test(tc, test_cpu_cache);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
