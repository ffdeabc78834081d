// shim_optim.cpp — autograd, in-place updates, AdamW and gradient clipping.
// AdamW and clip_grad_norm_ follow torch 1.13's Python code op for op (same
// ATen calls, same scalar arguments) so results match bit for bit on CPU.
#include "tensor/shim_internal.hpp"

#include <cmath>
#include <new>

using namespace elm_shim;

struct et_adamw {
    std::vector<at::Tensor> params;
    std::vector<at::Tensor> exp_avg, exp_avg_sq;
    std::vector<int64_t> step; // per parameter, as torch's state['step']
    int64_t steps = 0;         // calls of et_adamw_step
    double lr, beta1, beta2, eps, wd;
};

extern "C" {

/* ---- autograd ---- */

int et_grad_enabled(void)
{
    return c10::GradMode::is_enabled() ? 1 : 0;
}

int et_set_grad_enabled(int on)
{
    int prev = c10::GradMode::is_enabled() ? 1 : 0;
    c10::GradMode::set_enabled(on != 0);
    return prev;
}

elm_status et_set_requires_grad(et_tensor *t, int on)
{
    if (!t)
        return ET_NULL_INVALID("et_set_requires_grad", "tensor");
    return run_status("et_set_requires_grad", [&] { t->t.set_requires_grad(on != 0); });
}

int et_requires_grad(const et_tensor *t)
{
    return t && t->t.requires_grad() ? 1 : 0;
}

elm_status et_backward(const et_tensor *loss)
{
    if (!loss)
        return ET_NULL_INVALID("et_backward", "loss");
    return run_status("et_backward", [&] {
        TORCH_CHECK(loss->t.numel() == 1, "loss must be a scalar, got shape ", loss->t.sizes());
        TORCH_CHECK(loss->t.requires_grad(), "loss does not require grad (no parameter needs grad, or "
                                             "it was computed with grad mode off)");
        loss->t.backward();
    });
}

elm_status et_backward_grad(const et_tensor *t, const et_tensor *grad)
{
    if (!t || !grad)
        return ET_NULL_INVALID("et_backward_grad", t ? "grad" : "tensor");
    return run_status("et_backward_grad", [&] {
        TORCH_CHECK(t->t.sizes() == grad->t.sizes(), "grad must have the tensor's shape ", t->t.sizes(),
                    ", got ", grad->t.sizes());
        TORCH_CHECK(t->t.requires_grad(), "tensor does not require grad (no parameter needs grad, or "
                                          "it was computed with grad mode off)");
        t->t.backward(grad->t);
    });
}

et_tensor *et_grad(et_scope *s, const et_tensor *t)
{
    if (!t)
        return nullptr;
    if (s && !t->t.grad().defined())
        return nullptr;
    return run(s, "et_grad", [&] { return at::Tensor(t->t.grad()); }, t);
}

elm_status et_zero_grad(et_tensor *t)
{
    if (!t)
        return ET_NULL_INVALID("et_zero_grad", "tensor");
    return run_status("et_zero_grad", [&] { t->t.mutable_grad().reset(); });
}

/* ---- in-place updates ---- */

elm_status et_copy_(et_tensor *dst, const et_tensor *src)
{
    if (!dst || !src)
        return ET_NULL_INVALID("et_copy_", dst ? "src" : "dst");
    return run_status("et_copy_", [&] {
        at::NoGradGuard ng;
        TORCH_CHECK(dst->t.sizes() == src->t.sizes(), "shape mismatch: dst ", dst->t.sizes(), ", src ",
                    src->t.sizes());
        dst->t.copy_(src->t);
    });
}

elm_status et_add_(et_tensor *dst, const et_tensor *src, double alpha)
{
    if (!dst || !src)
        return ET_NULL_INVALID("et_add_", dst ? "src" : "dst");
    return run_status("et_add_", [&] {
        at::NoGradGuard ng;
        dst->t.add_(src->t, alpha);
    });
}

elm_status et_mul_scalar_(et_tensor *t, double k)
{
    if (!t)
        return ET_NULL_INVALID("et_mul_scalar_", "tensor");
    return run_status("et_mul_scalar_", [&] {
        at::NoGradGuard ng;
        t->t.mul_(k);
    });
}

/* ---- AdamW ---- */

et_adamw *et_adamw_new(et_tensor *const *params, size_t n, double lr, double beta1, double beta2,
                       double eps, double weight_decay)
{
    if (!params && n > 0) {
        ET_NULL_INVALID("et_adamw_new", "params");
        return nullptr;
    }
    for (size_t i = 0; i < n; i++)
        if (!params[i]) {
            elm_err(ELM_E_INVALID, "et_adamw_new: parameter %zu is NULL", i);
            return nullptr;
        }
    if (!(lr >= 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps >= 0) ||
        !(weight_decay >= 0)) {
        elm_err(ELM_E_INVALID, "et_adamw_new: invalid hyperparameters (lr %g, betas %g %g, eps %g, weight decay %g)",
                lr, beta1, beta2, eps, weight_decay);
        return nullptr;
    }
    et_adamw *opt = nullptr;
    elm_status st = run_status("et_adamw_new", [&] {
        opt = new et_adamw();
        opt->lr = lr;
        opt->beta1 = beta1;
        opt->beta2 = beta2;
        opt->eps = eps;
        opt->wd = weight_decay;
        at::NoGradGuard ng;
        for (size_t i = 0; i < n; i++) {
            const at::Tensor &p = params[i]->t;
            opt->params.push_back(p);
            opt->exp_avg.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
            opt->exp_avg_sq.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
            opt->step.push_back(0);
        }
    });
    if (st != ELM_OK) {
        delete opt;
        return nullptr;
    }
    return opt;
}

void et_adamw_free(et_adamw *opt)
{
    delete opt;
}

void et_adamw_set_lr(et_adamw *opt, double lr)
{
    if (opt)
        opt->lr = lr;
}

elm_status et_adamw_step(et_adamw *opt)
{
    if (!opt)
        return ET_NULL_INVALID("et_adamw_step", "optimizer");
    return run_status("et_adamw_step", [&] {
        at::NoGradGuard ng;
        const double lr = opt->lr, beta1 = opt->beta1, beta2 = opt->beta2, eps = opt->eps, wd = opt->wd;
        for (size_t i = 0; i < opt->params.size(); i++) {
            at::Tensor &param = opt->params[i];
            const at::Tensor &grad = param.grad();
            if (!grad.defined())
                continue;
            at::Tensor &exp_avg = opt->exp_avg[i];
            at::Tensor &exp_avg_sq = opt->exp_avg_sq[i];
            opt->step[i] += 1;
            // torch keeps step as a float32 tensor and reads it with .item().
            double step = static_cast<double>(static_cast<float>(opt->step[i]));

            param.mul_(1 - lr * wd);
            exp_avg.mul_(beta1).add_(grad, 1 - beta1);
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);

            double bias_correction1 = 1 - std::pow(beta1, step);
            double bias_correction2 = 1 - std::pow(beta2, step);
            double step_size = lr / bias_correction1;
            double bias_correction2_sqrt = std::sqrt(bias_correction2);

            at::Tensor denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps);
            param.addcdiv_(exp_avg, denom, -step_size);
        }
        opt->steps += 1;
    });
}

int64_t et_adamw_steps(const et_adamw *opt)
{
    return opt ? opt->steps : 0;
}

elm_status et_adamw_get_state(et_adamw *opt, et_scope *s, size_t i, et_tensor **exp_avg,
                              et_tensor **exp_avg_sq)
{
    if (exp_avg)
        *exp_avg = nullptr;
    if (exp_avg_sq)
        *exp_avg_sq = nullptr;
    if (!opt || !s || !exp_avg || !exp_avg_sq)
        return ET_NULL_INVALID("et_adamw_get_state", !opt ? "optimizer" : !s ? "scope" : "output");
    if (i >= opt->params.size())
        return elm_err(ELM_E_INVALID, "et_adamw_get_state: parameter index %zu out of range (%zu parameters)", i,
                       opt->params.size());
    et_tensor *a = nullptr, *b = nullptr;
    elm_status st = run_status("et_adamw_get_state", [&] {
        // Copies: later steps update the optimizer's tensors in place.
        a = adopt(s, opt->exp_avg[i].clone());
        b = adopt(s, opt->exp_avg_sq[i].clone());
    });
    if (st == ELM_OK) {
        *exp_avg = a;
        *exp_avg_sq = b;
    }
    return st;
}

elm_status et_adamw_set_state(et_adamw *opt, size_t i, const et_tensor *exp_avg,
                              const et_tensor *exp_avg_sq, int64_t steps)
{
    if (!opt || !exp_avg || !exp_avg_sq)
        return ET_NULL_INVALID("et_adamw_set_state", !opt ? "optimizer" : "state tensor");
    if (i >= opt->params.size())
        return elm_err(ELM_E_INVALID, "et_adamw_set_state: parameter index %zu out of range (%zu parameters)", i,
                       opt->params.size());
    if (steps < 0)
        return elm_err(ELM_E_INVALID, "et_adamw_set_state: negative step count %lld",
                       static_cast<long long>(steps));
    return run_status("et_adamw_set_state", [&] {
        const at::Tensor &p = opt->params[i];
        TORCH_CHECK(exp_avg->t.sizes() == p.sizes() && exp_avg_sq->t.sizes() == p.sizes(),
                    "state shapes exp_avg ", exp_avg->t.sizes(), ", exp_avg_sq ", exp_avg_sq->t.sizes(),
                    " do not match parameter ", i, " of shape ", p.sizes());
        at::NoGradGuard ng;
        auto a = exp_avg->t.detach().to(p.options()).clone(at::MemoryFormat::Preserve);
        auto b = exp_avg_sq->t.detach().to(p.options()).clone(at::MemoryFormat::Preserve);
        opt->exp_avg[i] = a;
        opt->exp_avg_sq[i] = b;
        opt->step[i] = steps;
        if (steps > opt->steps)
            opt->steps = steps;
    });
}

elm_status et_grad_norm_clip(et_tensor *const *params, size_t n, double max_norm, double *norm,
                             int *finite)
{
    if (norm)
        *norm = 0;
    if (finite)
        *finite = 1;
    if (!params && n > 0)
        return ET_NULL_INVALID("et_grad_norm_clip", "params");
    for (size_t i = 0; i < n; i++)
        if (!params[i])
            return elm_err(ELM_E_INVALID, "et_grad_norm_clip: parameter %zu is NULL", i);
    return run_status("et_grad_norm_clip", [&] {
        at::NoGradGuard ng;
        std::vector<at::Tensor> grads;
        for (size_t i = 0; i < n; i++)
            if (params[i]->t.grad().defined())
                grads.push_back(params[i]->t.grad());
        if (grads.empty())
            return;
        auto device = grads[0].device();
        std::vector<at::Tensor> norms;
        norms.reserve(grads.size());
        for (const auto &g : grads)
            norms.push_back(at::norm(g.detach(), 2.0).to(device));
        at::Tensor total = at::norm(at::stack(norms), 2.0);
        bool ok = at::isfinite(total).item<bool>();
        if (norm)
            *norm = total.item().toDouble();
        if (finite)
            *finite = ok ? 1 : 0;
        if (!ok || !(max_norm > 0))
            return;
        // Python's `max_norm / (total + 1e-6)` is Tensor.__rdiv__: reciprocal() * max_norm.
        at::Tensor coef = (total + 1e-6).reciprocal() * max_norm;
        at::Tensor clamped = at::clamp(coef, c10::nullopt, 1.0);
        for (auto &g : grads)
            g.detach().mul_(clamped.to(g.device()));
    });
}

} /* extern "C" */
