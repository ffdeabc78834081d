/*
 * shim.h — the C face of libelm's compute core. The implementation
 * (shim*.cpp) is the only C++ in the library and the only place that
 * includes libtorch headers; everything above sees plain C.
 *
 * Ownership (ggml-context style): every tensor a function makes belongs to
 * the scope passed in; et_scope_free frees them all. A tensor that must
 * outlive its scope is shared into a longer-lived one with et_share.
 *
 * Errors are sticky per scope: a function that fails returns NULL and
 * records the first error in the scope; a function given a NULL tensor
 * returns NULL at once without touching the recorded error. So a sequence
 * of ops is written without checks and checked once with et_scope_check(),
 * which copies the first message into elm_last_error(). Functions returning
 * elm_status report through elm_err directly.
 */
#ifndef ELM_TENSOR_SHIM_H
#define ELM_TENSOR_SHIM_H

#include "elm.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct et_scope et_scope;
typedef struct et_tensor et_tensor;
typedef struct et_adamw et_adamw;

typedef enum et_dtype {
    ET_F32 = 0,
    ET_F16 = 1,
    ET_BF16 = 2,
    ET_F64 = 3,
    ET_I64 = 4,
    ET_I32 = 5,
    ET_U8 = 6,
    ET_BOOL = 7
} et_dtype;

typedef struct et_device {
    int kind;  /* 0 cpu, 1 cuda */
    int index; /* cuda device index */
} et_device;

/* ---- runtime ---- */
const char *et_backend_version(void);         /* "1.13.1" */
size_t et_dtype_size(et_dtype dt);            /* bytes per element */
const char *et_dtype_name(et_dtype dt);       /* "float32", "bfloat16", ... */
elm_status et_parse_dtype(const char *name, et_dtype *out); /* float32|fp32|f32|bfloat16|bf16|float16|fp16|f16 */
elm_status et_parse_device(const char *text, et_device *out); /* "cpu", "cuda", "cuda:N" (checked against the hardware) */
void et_device_name(et_device dev, char *buf, size_t cap);    /* "cpu", "cuda:0" */
int et_cuda_available(void);
int et_cuda_device_count(void);
elm_status et_set_num_threads(int n);         /* n <= 0: CPUs in this process's affinity mask */
int et_get_num_threads(void);
/* 1 once et_set_num_threads has succeeded in this process (through
 * elm_set_num_threads or a model load), else 0: a model load that is not
 * told runtime.threads leaves a count someone chose alone. */
int et_num_threads_configured(void);
/* Caching of large CPU tensor blocks (shim_alloc.cpp): freed blocks of at
 * least 256 KiB are kept, up to `bytes` in all, for the next request of
 * their size class instead of going back to the system (0: no caching). */
elm_status et_set_cpu_cache(size_t bytes);
/* 1 once et_set_cpu_cache has succeeded in this process, else 0. */
int et_cpu_cache_configured(void);
typedef struct et_cpu_cache_info {
    size_t budget, cached, mapped; /* bytes: the limit, held free, ours in all */
    uint64_t hits, misses;         /* requests served from the cache / not */
} et_cpu_cache_info;
void et_cpu_cache_stats(et_cpu_cache_info *out);
int et_cpu_has_bf16(void);                    /* AMX-BF16 or AVX512-BF16 present */
void et_manual_seed(uint64_t seed);           /* global CPU (and CUDA) generator */
void et_synchronize(et_device dev);

/* ---- scopes ---- */
et_scope *et_scope_new(void);                 /* NULL only when out of memory */
void et_scope_free(et_scope *s);              /* frees every tensor in it; NULL ok */
elm_status et_scope_check(et_scope *s);       /* ELM_OK, or the first error (message set) */
void et_scope_reset_error(et_scope *s);
size_t et_scope_count(const et_scope *s);     /* tensors held (for leak tests) */
/* A new handle in `dst` to the same tensor (shares storage). */
et_tensor *et_share(et_scope *dst, const et_tensor *t);

/* ---- creation ---- */
/* Copy `data` (host memory, row-major) into a new CPU tensor. */
et_tensor *et_from_data(et_scope *s, const void *data, et_dtype dt, int ndim, const int64_t *shape);
/* Wrap host memory without copying; `release(ctx)` runs when the storage dies
 * (may be NULL). The memory must stay valid and unchanged until then. */
et_tensor *et_from_blob(et_scope *s, void *data, et_dtype dt, int ndim, const int64_t *shape,
                        void (*release)(void *ctx), void *ctx);
et_tensor *et_zeros(et_scope *s, et_dtype dt, int ndim, const int64_t *shape, et_device dev);
et_tensor *et_full(et_scope *s, double value, et_dtype dt, int ndim, const int64_t *shape, et_device dev);
et_tensor *et_arange(et_scope *s, int64_t start, int64_t end, et_dtype dt, et_device dev);
et_tensor *et_zeros_like(et_scope *s, const et_tensor *t);
/* In-place initialisers (no autograd), using the global generator. */
elm_status et_kaiming_uniform_(et_tensor *t, double a); /* as torch.nn.init.kaiming_uniform_(t, a) */
elm_status et_uniform_(et_tensor *t, double lo, double hi);
elm_status et_normal_(et_tensor *t, double mean, double std);

/* ---- inspection ---- */
int et_ndim(const et_tensor *t);
int64_t et_size(const et_tensor *t, int dim);   /* negative dim counts from the end */
int64_t et_numel(const et_tensor *t);
et_dtype et_get_dtype(const et_tensor *t);
et_device et_get_device(const et_tensor *t);
/* Copy to host memory as `as` (converted, contiguous); nbytes must equal
 * numel × size(as). */
elm_status et_to_host(const et_tensor *t, void *dst, et_dtype as, size_t nbytes);
elm_status et_item(const et_tensor *t, double *out); /* one-element tensor */
/* Describe shape "[2, 3, 64]" for messages. */
void et_shape_str(const et_tensor *t, char *buf, size_t cap);

/* ---- conversion and shape ---- */
et_tensor *et_to(et_scope *s, const et_tensor *t, et_dtype dt);
et_tensor *et_to_device(et_scope *s, const et_tensor *t, et_device dev);
et_tensor *et_contiguous(et_scope *s, const et_tensor *t);
et_tensor *et_clone(et_scope *s, const et_tensor *t);
et_tensor *et_detach(et_scope *s, const et_tensor *t);
et_tensor *et_reshape(et_scope *s, const et_tensor *t, int ndim, const int64_t *shape);
et_tensor *et_transpose(et_scope *s, const et_tensor *t, int d0, int d1);
et_tensor *et_permute(et_scope *s, const et_tensor *t, int ndim, const int64_t *dims);
et_tensor *et_unsqueeze(et_scope *s, const et_tensor *t, int dim);
et_tensor *et_squeeze(et_scope *s, const et_tensor *t, int dim);
et_tensor *et_expand(et_scope *s, const et_tensor *t, int ndim, const int64_t *shape);
et_tensor *et_narrow(et_scope *s, const et_tensor *t, int dim, int64_t start, int64_t len);
et_tensor *et_select(et_scope *s, const et_tensor *t, int dim, int64_t index);
et_tensor *et_index_select(et_scope *s, const et_tensor *t, int dim, const et_tensor *index);
et_tensor *et_cat(et_scope *s, et_tensor *const *ts, int n, int dim);
et_tensor *et_stack(et_scope *s, et_tensor *const *ts, int n, int dim);
et_tensor *et_repeat_interleave(et_scope *s, const et_tensor *t, int64_t repeats, int dim);
et_tensor *et_pad_right(et_scope *s, const et_tensor *t, int dim, int64_t amount, double value);

/* ---- arithmetic (broadcasting) ---- */
et_tensor *et_add(et_scope *s, const et_tensor *a, const et_tensor *b);
et_tensor *et_sub(et_scope *s, const et_tensor *a, const et_tensor *b);
et_tensor *et_mul(et_scope *s, const et_tensor *a, const et_tensor *b);
et_tensor *et_div(et_scope *s, const et_tensor *a, const et_tensor *b);
et_tensor *et_add_scaled(et_scope *s, const et_tensor *a, const et_tensor *b, double alpha); /* a + alpha*b */
et_tensor *et_scale(et_scope *s, const et_tensor *t, double k);
et_tensor *et_add_scalar(et_scope *s, const et_tensor *t, double k);
et_tensor *et_neg(et_scope *s, const et_tensor *t);
et_tensor *et_exp(et_scope *s, const et_tensor *t);
et_tensor *et_log(et_scope *s, const et_tensor *t);
et_tensor *et_sqrt(et_scope *s, const et_tensor *t);
et_tensor *et_rsqrt(et_scope *s, const et_tensor *t);
et_tensor *et_pow_scalar(et_scope *s, const et_tensor *t, double p);
et_tensor *et_abs(et_scope *s, const et_tensor *t);
et_tensor *et_matmul(et_scope *s, const et_tensor *a, const et_tensor *b);
/* x @ w^T + b (b may be NULL), as torch.nn.functional.linear. */
et_tensor *et_linear(et_scope *s, const et_tensor *x, const et_tensor *w, const et_tensor *b);

/* ---- reductions ---- */
et_tensor *et_sum(et_scope *s, const et_tensor *t, int dim, int keepdim);
et_tensor *et_sum_all(et_scope *s, const et_tensor *t);
et_tensor *et_mean(et_scope *s, const et_tensor *t, int dim, int keepdim);
et_tensor *et_mean_all(et_scope *s, const et_tensor *t);
et_tensor *et_amax(et_scope *s, const et_tensor *t, int dim, int keepdim);
et_tensor *et_argmax(et_scope *s, const et_tensor *t, int dim, int keepdim);
et_tensor *et_logsumexp(et_scope *s, const et_tensor *t, int dim, int keepdim);
et_tensor *et_cumsum(et_scope *s, const et_tensor *t, int dim);
/* values and indices (I64) of the k largest along dim, sorted descending. */
elm_status et_topk(et_scope *s, const et_tensor *t, int64_t k, int dim, et_tensor **values,
                   et_tensor **indices);
elm_status et_sort(et_scope *s, const et_tensor *t, int dim, int descending, et_tensor **values,
                   et_tensor **indices);
/* 1 if every element is finite (NULL tensor: 0). */
int et_all_finite(const et_tensor *t);

/* ---- indexing ---- */
et_tensor *et_gather(et_scope *s, const et_tensor *t, int dim, const et_tensor *index);
/* Copy of t with src scattered at index along dim. */
et_tensor *et_scatter(et_scope *s, const et_tensor *t, int dim, const et_tensor *index, const et_tensor *src);
et_tensor *et_masked_fill(et_scope *s, const et_tensor *t, const et_tensor *mask, double value);
et_tensor *et_where(et_scope *s, const et_tensor *cond, const et_tensor *a, const et_tensor *b);
et_tensor *et_eq_scalar(et_scope *s, const et_tensor *t, double v);
et_tensor *et_lt(et_scope *s, const et_tensor *a, const et_tensor *b);
et_tensor *et_logical_and(et_scope *s, const et_tensor *a, const et_tensor *b);
/* Rows of `weight` picked by integer ids (any shape) → ids.shape + [dim]. */
et_tensor *et_embedding(et_scope *s, const et_tensor *weight, const et_tensor *ids);
/* Lower-triangular bool mask [n, m] (True = may attend), offset as torch.tril(diagonal). */
et_tensor *et_tril_mask(et_scope *s, int64_t n, int64_t m, int64_t diagonal, et_device dev);

/* ---- neural-network ops ---- */
et_tensor *et_silu(et_scope *s, const et_tensor *t);
et_tensor *et_softmax(et_scope *s, const et_tensor *t, int dim);
et_tensor *et_log_softmax(et_scope *s, const et_tensor *t, int dim);
/* HF LlamaRMSNorm: computed in fp32, cast back to x's dtype, then × w. */
et_tensor *et_rms_norm(et_scope *s, const et_tensor *x, const et_tensor *w, double eps);
/* Rotary embedding, HF "rotate_half" convention: x [B,H,T,D], cos/sin
 * broadcastable to [B,1,T,D]. Result in x's dtype. */
et_tensor *et_rope(et_scope *s, const et_tensor *x, const et_tensor *cos, const et_tensor *sin);
/* Scaled dot-product attention. q [B,H,T,D], k/v [B,H,S,D] (same H: the
 * caller repeats KV heads), mask bool [B or 1,1,T,S] (True = attend) or NULL
 * with causal=1 for a plain causal mask. scale <= 0: 1/sqrt(D).
 * Uses SDPA where libtorch has it. Rows with no allowed key give zeros. */
et_tensor *et_attention(et_scope *s, const et_tensor *q, const et_tensor *k, const et_tensor *v,
                        const et_tensor *mask, int causal, double scale);
/* Dropout with the global generator; identity when p == 0 or !train. */
et_tensor *et_dropout(et_scope *s, const et_tensor *t, double p, int train);
/* Mean cross-entropy of logits [N,V] against I64 targets [N]; positions
 * whose target == ignore_index do not count. */
et_tensor *et_cross_entropy(et_scope *s, const et_tensor *logits, const et_tensor *targets,
                            int64_t ignore_index);
/* The same per row, unreduced: [N] (0 where the target == ignore_index). */
et_tensor *et_cross_entropy_rows(et_scope *s, const et_tensor *logits, const et_tensor *targets,
                                 int64_t ignore_index);
/* Mean over N of -sum_v q[n,v] * log_softmax(logits)[n,v]; q [N,V]. */
et_tensor *et_soft_cross_entropy(et_scope *s, const et_tensor *logits, const et_tensor *q);
/* Draw one index per row of probs [N,V] (non-negative, need not sum to 1). */
et_tensor *et_multinomial(et_scope *s, const et_tensor *probs);

/* ---- autograd ---- */
int et_grad_enabled(void);
int et_set_grad_enabled(int on);            /* returns the previous setting (thread-local) */
elm_status et_set_requires_grad(et_tensor *t, int on);
int et_requires_grad(const et_tensor *t);
elm_status et_backward(const et_tensor *loss); /* scalar loss; grads accumulate */
/* Back-propagate grad (t's shape) from t, as t.backward(grad): vector-
 * Jacobian product; grads accumulate. */
elm_status et_backward_grad(const et_tensor *t, const et_tensor *grad);
/* The gradient of t, or NULL if it has none (no error recorded then). */
et_tensor *et_grad(et_scope *s, const et_tensor *t);
elm_status et_zero_grad(et_tensor *t);      /* grad = None */

/* ---- in-place updates (no autograd) ---- */
elm_status et_copy_(et_tensor *dst, const et_tensor *src);
elm_status et_add_(et_tensor *dst, const et_tensor *src, double alpha);
elm_status et_mul_scalar_(et_tensor *t, double k);

/* ---- optimisation ---- */
/* AdamW exactly as torch.optim.AdamW (single-tensor path, amsgrad off).
 * Keeps its own references to the parameters. */
et_adamw *et_adamw_new(et_tensor *const *params, size_t n, double lr, double beta1, double beta2,
                       double eps, double weight_decay);
void et_adamw_free(et_adamw *opt);
void et_adamw_set_lr(et_adamw *opt, double lr);
/* One update of every parameter that has a gradient. */
elm_status et_adamw_step(et_adamw *opt);
int64_t et_adamw_steps(const et_adamw *opt);
/* State of parameter i (exp_avg, exp_avg_sq; zeros before the first step),
 * into scope s; and restore it. */
elm_status et_adamw_get_state(et_adamw *opt, et_scope *s, size_t i, et_tensor **exp_avg,
                              et_tensor **exp_avg_sq);
elm_status et_adamw_set_state(et_adamw *opt, size_t i, const et_tensor *exp_avg,
                              const et_tensor *exp_avg_sq, int64_t steps);
/* Total L2 norm of the gradients of params; if max_norm > 0, scale them as
 * torch.nn.utils.clip_grad_norm_ does. *finite = 0 if any gradient is
 * not finite (then nothing is scaled). */
elm_status et_grad_norm_clip(et_tensor *const *params, size_t n, double max_norm, double *norm,
                             int *finite);

/* ---- random state (for exact resume) ---- */
/* Global CPU generator state as a U8 tensor, and restore it. */
et_tensor *et_rng_get_state(et_scope *s);
elm_status et_rng_set_state(const et_tensor *state);

#ifdef __cplusplus
}
#endif

#endif
