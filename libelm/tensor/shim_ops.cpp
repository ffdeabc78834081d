// shim_ops.cpp — conversion, shape, arithmetic, reductions, indexing and the
// neural-network ops. Each is one call into ATen through elm_shim::run.
#include "tensor/shim_internal.hpp"

#include <cmath>
#include <limits>

using namespace elm_shim;

#define T_(x) ((x)->t)

namespace {

int64_t norm_dim(int64_t dim, int64_t ndim)
{
    int64_t d = dim < 0 ? dim + ndim : dim;
    TORCH_CHECK(d >= 0 && d < ndim, "dimension ", dim, " out of range for a tensor of ", ndim, " dims");
    return d;
}

std::vector<at::Tensor> tensor_list(et_tensor *const *ts, int n)
{
    TORCH_CHECK(n > 0 && ts != nullptr, "empty tensor list");
    std::vector<at::Tensor> v;
    v.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; i++)
        v.push_back(ts[i]->t);
    return v;
}

bool list_present(et_tensor *const *ts, int n)
{
    if (!ts)
        return n <= 0; // an empty list is an argument error, reported by the op
    for (int i = 0; i < n; i++)
        if (!ts[i])
            return false;
    return true;
}

// Attention where rows with no allowed key give zeros: such rows attend to
// every key instead (finite values and gradients), then are zeroed.
at::Tensor attention(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v,
                     const c10::optional<at::Tensor> &user_mask, bool causal, double scale)
{
    TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "q, k, v must be [B,H,T,D]; got q ", q.sizes(),
                ", k ", k.sizes(), ", v ", v.sizes());
    int64_t T = q.size(2), S = k.size(2);
    if (user_mask)
        TORCH_CHECK(user_mask->scalar_type() == at::kBool, "mask must be bool, got ", user_mask->scalar_type(),
                    " (shape ", user_mask->sizes(), ")");
    c10::optional<at::Tensor> mask = user_mask;
    bool sdpa_causal = false;
    if (causal) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
        // SDPA's is_causal is top-left aligned: right only when T == S.
        if (!mask && T == S)
            sdpa_causal = true;
#endif
        if (!sdpa_causal) {
            // Query i sits at position S-T+i (a KV cache holds the earlier keys).
            auto c = at::ones({T, S}, q.options().dtype(at::kBool)).tril(S - T);
            mask = mask ? at::logical_and(*mask, c) : c;
        }
    }
    // Only a caller's mask, or causal with T > S, can empty a row.
    c10::optional<at::Tensor> row_empty;
    if (mask && (user_mask || T > S)) {
        auto none = at::logical_not(mask->any(-1, /*keepdim=*/true));
        // On CPU skip the repair when no row is empty; on a GPU always apply
        // it rather than synchronise to find out.
        if (!none.is_cpu() || none.any().item<bool>()) {
            row_empty = none;
            mask = at::logical_or(*mask, none);
        }
    }
    at::Tensor out;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
    c10::optional<double> sc;
    if (scale > 0)
        sc = scale;
    out = at::scaled_dot_product_attention(q, k, v, mask, 0.0, sdpa_causal, sc);
#else
    auto kt = k.transpose(-2, -1);
    at::Tensor scores;
    if (scale > 0)
        scores = at::matmul(q, kt) * scale;
    else // HF eager divides by sqrt(head_dim); same rounding here
        scores = at::matmul(q, kt) / std::sqrt(static_cast<double>(q.size(3)));
    if (mask)
        scores = scores.masked_fill(at::logical_not(*mask), -std::numeric_limits<double>::infinity());
    auto p = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
    out = at::matmul(p, v);
#endif
    if (row_empty)
        out = out.masked_fill(*row_empty, 0.0);
    return out;
}

} // namespace

extern "C" {

/* ---- conversion and shape ---- */

et_tensor *et_to(et_scope *s, const et_tensor *t, et_dtype dt)
{
    return run(s, "et_to", [&] { return T_(t).to(to_scalar(dt)); }, t);
}

et_tensor *et_to_device(et_scope *s, const et_tensor *t, et_device dev)
{
    return run(s, "et_to_device", [&] { return T_(t).to(to_device(dev)); }, t);
}

et_tensor *et_contiguous(et_scope *s, const et_tensor *t)
{
    return run(s, "et_contiguous", [&] { return T_(t).contiguous(); }, t);
}

et_tensor *et_clone(et_scope *s, const et_tensor *t)
{
    return run(s, "et_clone", [&] { return T_(t).clone(); }, t);
}

et_tensor *et_detach(et_scope *s, const et_tensor *t)
{
    return run(s, "et_detach", [&] { return T_(t).detach(); }, t);
}

et_tensor *et_reshape(et_scope *s, const et_tensor *t, int ndim, const int64_t *shape)
{
    return run(s, "et_reshape", [&] {
        TORCH_CHECK(ndim >= 0 && (ndim == 0 || shape), "bad shape");
        return T_(t).reshape(at::IntArrayRef(shape, static_cast<size_t>(ndim)));
    }, t);
}

et_tensor *et_transpose(et_scope *s, const et_tensor *t, int d0, int d1)
{
    return run(s, "et_transpose", [&] { return T_(t).transpose(d0, d1); }, t);
}

et_tensor *et_permute(et_scope *s, const et_tensor *t, int ndim, const int64_t *dims)
{
    return run(s, "et_permute", [&] {
        TORCH_CHECK(ndim >= 0 && (ndim == 0 || dims), "bad dims");
        return T_(t).permute(at::IntArrayRef(dims, static_cast<size_t>(ndim)));
    }, t);
}

et_tensor *et_unsqueeze(et_scope *s, const et_tensor *t, int dim)
{
    return run(s, "et_unsqueeze", [&] { return T_(t).unsqueeze(dim); }, t);
}

et_tensor *et_squeeze(et_scope *s, const et_tensor *t, int dim)
{
    return run(s, "et_squeeze", [&] { return T_(t).squeeze(dim); }, t);
}

et_tensor *et_expand(et_scope *s, const et_tensor *t, int ndim, const int64_t *shape)
{
    return run(s, "et_expand", [&] {
        TORCH_CHECK(ndim >= 0 && (ndim == 0 || shape), "bad shape");
        return T_(t).expand(at::IntArrayRef(shape, static_cast<size_t>(ndim)));
    }, t);
}

et_tensor *et_narrow(et_scope *s, const et_tensor *t, int dim, int64_t start, int64_t len)
{
    return run(s, "et_narrow", [&] { return T_(t).narrow(dim, start, len); }, t);
}

et_tensor *et_select(et_scope *s, const et_tensor *t, int dim, int64_t index)
{
    return run(s, "et_select", [&] { return T_(t).select(dim, index); }, t);
}

et_tensor *et_index_select(et_scope *s, const et_tensor *t, int dim, const et_tensor *index)
{
    return run(s, "et_index_select", [&] { return at::index_select(T_(t), dim, T_(index)); }, t, index);
}

et_tensor *et_cat(et_scope *s, et_tensor *const *ts, int n, int dim)
{
    if (s && !list_present(ts, n))
        return nullptr;
    return run(s, "et_cat", [&] { return at::cat(tensor_list(ts, n), dim); });
}

et_tensor *et_stack(et_scope *s, et_tensor *const *ts, int n, int dim)
{
    if (s && !list_present(ts, n))
        return nullptr;
    return run(s, "et_stack", [&] { return at::stack(tensor_list(ts, n), dim); });
}

et_tensor *et_repeat_interleave(et_scope *s, const et_tensor *t, int64_t repeats, int dim)
{
    return run(s, "et_repeat_interleave", [&] {
        return at::repeat_interleave(T_(t), repeats, static_cast<int64_t>(dim));
    }, t);
}

et_tensor *et_pad_right(et_scope *s, const et_tensor *t, int dim, int64_t amount, double value)
{
    return run(s, "et_pad_right", [&] {
        int64_t nd = T_(t).dim();
        int64_t d = norm_dim(dim, nd);
        TORCH_CHECK(amount >= 0, "negative padding ", amount);
        // constant_pad_nd lists (left, right) pairs from the last dim back.
        std::vector<int64_t> pad(static_cast<size_t>(2 * (nd - d)), 0);
        pad[static_cast<size_t>(2 * (nd - 1 - d) + 1)] = amount;
        return at::constant_pad_nd(T_(t), pad, value);
    }, t);
}

/* ---- arithmetic ---- */

et_tensor *et_add(et_scope *s, const et_tensor *a, const et_tensor *b)
{
    return run(s, "et_add", [&] { return at::add(T_(a), T_(b)); }, a, b);
}

et_tensor *et_sub(et_scope *s, const et_tensor *a, const et_tensor *b)
{
    return run(s, "et_sub", [&] { return at::sub(T_(a), T_(b)); }, a, b);
}

et_tensor *et_mul(et_scope *s, const et_tensor *a, const et_tensor *b)
{
    return run(s, "et_mul", [&] { return at::mul(T_(a), T_(b)); }, a, b);
}

et_tensor *et_div(et_scope *s, const et_tensor *a, const et_tensor *b)
{
    return run(s, "et_div", [&] { return at::div(T_(a), T_(b)); }, a, b);
}

et_tensor *et_add_scaled(et_scope *s, const et_tensor *a, const et_tensor *b, double alpha)
{
    return run(s, "et_add_scaled", [&] { return at::add(T_(a), T_(b), alpha); }, a, b);
}

et_tensor *et_scale(et_scope *s, const et_tensor *t, double k)
{
    return run(s, "et_scale", [&] { return at::mul(T_(t), at::Scalar(k)); }, t);
}

et_tensor *et_add_scalar(et_scope *s, const et_tensor *t, double k)
{
    return run(s, "et_add_scalar", [&] { return at::add(T_(t), at::Scalar(k)); }, t);
}

et_tensor *et_neg(et_scope *s, const et_tensor *t)
{
    return run(s, "et_neg", [&] { return at::neg(T_(t)); }, t);
}

et_tensor *et_exp(et_scope *s, const et_tensor *t)
{
    return run(s, "et_exp", [&] { return at::exp(T_(t)); }, t);
}

et_tensor *et_log(et_scope *s, const et_tensor *t)
{
    return run(s, "et_log", [&] { return at::log(T_(t)); }, t);
}

et_tensor *et_sqrt(et_scope *s, const et_tensor *t)
{
    return run(s, "et_sqrt", [&] { return at::sqrt(T_(t)); }, t);
}

et_tensor *et_rsqrt(et_scope *s, const et_tensor *t)
{
    return run(s, "et_rsqrt", [&] { return at::rsqrt(T_(t)); }, t);
}

et_tensor *et_pow_scalar(et_scope *s, const et_tensor *t, double p)
{
    return run(s, "et_pow_scalar", [&] { return at::pow(T_(t), at::Scalar(p)); }, t);
}

et_tensor *et_abs(et_scope *s, const et_tensor *t)
{
    return run(s, "et_abs", [&] { return at::abs(T_(t)); }, t);
}

et_tensor *et_matmul(et_scope *s, const et_tensor *a, const et_tensor *b)
{
    return run(s, "et_matmul", [&] { return at::matmul(T_(a), T_(b)); }, a, b);
}

et_tensor *et_linear(et_scope *s, const et_tensor *x, const et_tensor *w, const et_tensor *b)
{
    return run(s, "et_linear", [&] {
        c10::optional<at::Tensor> bias;
        if (b)
            bias = T_(b);
        return at::linear(T_(x), T_(w), bias);
    }, x, w);
}

/* ---- reductions ---- */

et_tensor *et_sum(et_scope *s, const et_tensor *t, int dim, int keepdim)
{
    return run(s, "et_sum", [&] { return at::sum(T_(t), {static_cast<int64_t>(dim)}, keepdim != 0); }, t);
}

et_tensor *et_sum_all(et_scope *s, const et_tensor *t)
{
    return run(s, "et_sum_all", [&] { return at::sum(T_(t)); }, t);
}

et_tensor *et_mean(et_scope *s, const et_tensor *t, int dim, int keepdim)
{
    return run(s, "et_mean", [&] { return at::mean(T_(t), {static_cast<int64_t>(dim)}, keepdim != 0); }, t);
}

et_tensor *et_mean_all(et_scope *s, const et_tensor *t)
{
    return run(s, "et_mean_all", [&] { return at::mean(T_(t)); }, t);
}

et_tensor *et_amax(et_scope *s, const et_tensor *t, int dim, int keepdim)
{
    return run(s, "et_amax", [&] { return at::amax(T_(t), {static_cast<int64_t>(dim)}, keepdim != 0); }, t);
}

et_tensor *et_argmax(et_scope *s, const et_tensor *t, int dim, int keepdim)
{
    return run(s, "et_argmax", [&] { return at::argmax(T_(t), static_cast<int64_t>(dim), keepdim != 0); }, t);
}

et_tensor *et_logsumexp(et_scope *s, const et_tensor *t, int dim, int keepdim)
{
    return run(s, "et_logsumexp",
               [&] { return at::logsumexp(T_(t), {static_cast<int64_t>(dim)}, keepdim != 0); }, t);
}

et_tensor *et_cumsum(et_scope *s, const et_tensor *t, int dim)
{
    return run(s, "et_cumsum", [&] { return at::cumsum(T_(t), dim); }, t);
}

static elm_status pair_op(et_scope *s, const char *op, const et_tensor *t, et_tensor **values,
                          et_tensor **indices, std::tuple<at::Tensor, at::Tensor> (*f)(const at::Tensor &, int64_t, int64_t, bool),
                          int64_t a, int64_t b, bool flag)
{
    if (values)
        *values = nullptr;
    if (indices)
        *indices = nullptr;
    if (!s)
        return ET_NULL_INVALID(op, "scope");
    if (!values || !indices)
        return ET_NULL_INVALID(op, "output");
    if (!t)
        return null_input(op, s);
    et_tensor *v = nullptr, *i = nullptr;
    elm_status st = run_status(op, [&] {
        auto r = f(T_(t), a, b, flag);
        v = adopt(s, std::move(std::get<0>(r)));
        i = adopt(s, std::move(std::get<1>(r)));
    });
    if (st == ELM_OK) {
        *values = v;
        *indices = i;
    }
    return st;
}

elm_status et_topk(et_scope *s, const et_tensor *t, int64_t k, int dim, et_tensor **values,
                   et_tensor **indices)
{
    return pair_op(s, "et_topk", t, values, indices,
                   [](const at::Tensor &x, int64_t kk, int64_t d, bool) {
                       return at::topk(x, kk, d, /*largest=*/true, /*sorted=*/true);
                   },
                   k, dim, true);
}

elm_status et_sort(et_scope *s, const et_tensor *t, int dim, int descending, et_tensor **values,
                   et_tensor **indices)
{
    return pair_op(s, "et_sort", t, values, indices,
                   [](const at::Tensor &x, int64_t d, int64_t, bool desc) { return at::sort(x, d, desc); },
                   dim, 0, descending != 0);
}

int et_all_finite(const et_tensor *t)
{
    if (!t)
        return 0;
    try {
        return at::isfinite(T_(t).detach()).all().item<bool>() ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

/* ---- indexing ---- */

et_tensor *et_gather(et_scope *s, const et_tensor *t, int dim, const et_tensor *index)
{
    return run(s, "et_gather", [&] { return at::gather(T_(t), dim, T_(index)); }, t, index);
}

et_tensor *et_scatter(et_scope *s, const et_tensor *t, int dim, const et_tensor *index, const et_tensor *src)
{
    return run(s, "et_scatter", [&] { return at::scatter(T_(t), dim, T_(index), T_(src)); }, t, index, src);
}

et_tensor *et_masked_fill(et_scope *s, const et_tensor *t, const et_tensor *mask, double value)
{
    return run(s, "et_masked_fill", [&] { return at::masked_fill(T_(t), T_(mask), value); }, t, mask);
}

et_tensor *et_where(et_scope *s, const et_tensor *cond, const et_tensor *a, const et_tensor *b)
{
    return run(s, "et_where", [&] { return at::where(T_(cond), T_(a), T_(b)); }, cond, a, b);
}

et_tensor *et_eq_scalar(et_scope *s, const et_tensor *t, double v)
{
    return run(s, "et_eq_scalar", [&] { return at::eq(T_(t), at::Scalar(v)); }, t);
}

et_tensor *et_lt(et_scope *s, const et_tensor *a, const et_tensor *b)
{
    return run(s, "et_lt", [&] { return at::lt(T_(a), T_(b)); }, a, b);
}

et_tensor *et_logical_and(et_scope *s, const et_tensor *a, const et_tensor *b)
{
    return run(s, "et_logical_and", [&] { return at::logical_and(T_(a), T_(b)); }, a, b);
}

et_tensor *et_embedding(et_scope *s, const et_tensor *weight, const et_tensor *ids)
{
    return run(s, "et_embedding", [&] {
        const auto &w = T_(weight);
        TORCH_CHECK(w.dim() == 2, "weight must be [vocab, dim], got ", w.sizes());
        auto id = T_(ids);
        if (id.scalar_type() != at::kLong)
            id = id.to(at::kLong);
        return at::embedding(w, id);
    }, weight, ids);
}

et_tensor *et_tril_mask(et_scope *s, int64_t n, int64_t m, int64_t diagonal, et_device dev)
{
    return run(s, "et_tril_mask", [&] {
        return at::ones({n, m}, at::TensorOptions().dtype(at::kBool).device(to_device(dev))).tril(diagonal);
    });
}

/* ---- neural-network ops ---- */

et_tensor *et_silu(et_scope *s, const et_tensor *t)
{
    return run(s, "et_silu", [&] { return at::silu(T_(t)); }, t);
}

et_tensor *et_softmax(et_scope *s, const et_tensor *t, int dim)
{
    return run(s, "et_softmax", [&] { return at::softmax(T_(t), dim); }, t);
}

et_tensor *et_log_softmax(et_scope *s, const et_tensor *t, int dim)
{
    return run(s, "et_log_softmax", [&] { return at::log_softmax(T_(t), dim); }, t);
}

et_tensor *et_rms_norm(et_scope *s, const et_tensor *x, const et_tensor *w, double eps)
{
    return run(s, "et_rms_norm", [&] {
        const auto &in = T_(x);
        auto h = in.to(at::kFloat);
        auto var = h.pow(2).mean(-1, /*keepdim=*/true);
        h = h * at::rsqrt(var + eps);
        return T_(w) * h.to(in.scalar_type());
    }, x, w);
}

et_tensor *et_rope(et_scope *s, const et_tensor *x, const et_tensor *cos, const et_tensor *sin)
{
    return run(s, "et_rope", [&] {
        const auto &in = T_(x);
        int64_t d = in.size(-1);
        TORCH_CHECK(d % 2 == 0, "head dim ", d, " is odd (shape ", in.sizes(), ")");
        auto x1 = in.narrow(-1, 0, d / 2);
        auto x2 = in.narrow(-1, d / 2, d / 2);
        auto rot = at::cat({at::neg(x2), x1}, -1);
        // HF casts cos/sin to x's dtype before applying them.
        auto c = T_(cos).to(in.scalar_type());
        auto sn = T_(sin).to(in.scalar_type());
        return in * c + rot * sn;
    }, x, cos, sin);
}

et_tensor *et_attention(et_scope *s, const et_tensor *q, const et_tensor *k, const et_tensor *v,
                        const et_tensor *mask, int causal, double scale)
{
    return run(s, "et_attention", [&] {
        c10::optional<at::Tensor> m;
        if (mask)
            m = T_(mask);
        return attention(T_(q), T_(k), T_(v), m, causal != 0, scale);
    }, q, k, v);
}

et_tensor *et_dropout(et_scope *s, const et_tensor *t, double p, int train)
{
    return run(s, "et_dropout", [&] {
        if (p == 0.0 || !train)
            return at::Tensor(T_(t));
        return at::dropout(T_(t), p, true);
    }, t);
}

et_tensor *et_cross_entropy(et_scope *s, const et_tensor *logits, const et_tensor *targets,
                            int64_t ignore_index)
{
    return run(s, "et_cross_entropy", [&] {
        return at::cross_entropy_loss(T_(logits), T_(targets), c10::nullopt, at::Reduction::Mean,
                                      ignore_index, 0.0);
    }, logits, targets);
}

et_tensor *et_cross_entropy_rows(et_scope *s, const et_tensor *logits, const et_tensor *targets,
                                 int64_t ignore_index)
{
    return run(s, "et_cross_entropy_rows", [&] {
        return at::cross_entropy_loss(T_(logits), T_(targets), c10::nullopt, at::Reduction::None,
                                      ignore_index, 0.0);
    }, logits, targets);
}

et_tensor *et_soft_cross_entropy(et_scope *s, const et_tensor *logits, const et_tensor *q)
{
    return run(s, "et_soft_cross_entropy", [&] {
        return at::neg(at::mul(T_(q), at::log_softmax(T_(logits), -1)).sum(-1)).mean();
    }, logits, q);
}

et_tensor *et_multinomial(et_scope *s, const et_tensor *probs)
{
    return run(s, "et_multinomial", [&] {
        auto p = T_(probs);
        TORCH_CHECK(p.dim() == 2, "probs must be [N, V], got ", p.sizes());
        return at::multinomial(p, 1).squeeze(-1);
    }, probs);
}

} /* extern "C" */
