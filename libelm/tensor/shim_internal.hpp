// shim_internal.hpp — private to libelm/tensor: the C structs behind shim.h's
// opaque handles and the exception-to-status plumbing every entry point uses.
#ifndef ELM_TENSOR_SHIM_INTERNAL_HPP
#define ELM_TENSOR_SHIM_INTERNAL_HPP

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/version.h>

#include <string>
#include <utility>
#include <vector>

#include "tensor/shim.h"

extern "C" {
#include "core/error.h"
}

struct et_tensor {
    at::Tensor t;
};

struct et_scope {
    std::vector<et_tensor *> owned;
    elm_status st = ELM_OK;
    std::string msg;
};

namespace elm_shim {

// Turn the exception in flight into a status and "op: message". Call only
// inside a catch block.
elm_status classify_current(const char *op, std::string *msg) noexcept;

// Record a failure in the scope (first one wins).
void scope_fail(et_scope *s, elm_status st, const std::string &msg) noexcept;

// Map between et_dtype and ATen's scalar types (throws on an unknown value).
at::ScalarType to_scalar(et_dtype dt);
bool from_scalar(at::ScalarType st, et_dtype *out) noexcept;
at::Device to_device(et_device d);
std::vector<int64_t> to_shape(int ndim, const int64_t *shape);

// Give a result tensor to the scope; the handle belongs to it.
et_tensor *adopt(et_scope *s, at::Tensor &&t);

template <class... T> inline bool all_present(const T *...ts)
{
    return ((ts != nullptr) && ... && true);
}

// Run `f` (returning at::Tensor) for a scope-owned result. NULL inputs give
// NULL at once without touching the scope's error; a throw is recorded.
template <class F, class... T>
et_tensor *run(et_scope *s, const char *op, F &&f, const T *...inputs) noexcept
{
    if (!s) {
        elm_err(ELM_E_INVALID, "%s: NULL scope", op);
        return nullptr;
    }
    if (!all_present(inputs...))
        return nullptr;
    try {
        return adopt(s, f());
    } catch (...) {
        std::string m;
        elm_status st = classify_current(op, &m);
        scope_fail(s, st, m);
        return nullptr;
    }
}

// Run `f` (returning nothing) for an elm_status entry point; failures go to
// the thread's message.
template <class F> elm_status run_status(const char *op, F &&f) noexcept
{
    try {
        f();
        return ELM_OK;
    } catch (...) {
        std::string m;
        elm_status st = classify_current(op, &m);
        return elm_err(st, "%s", m.c_str());
    }
}

// Status for a NULL tensor handed to an elm_status function: the scope's
// recorded error when it has one (the NULL came from a failed op), else
// ELM_E_INVALID.
elm_status null_input(const char *op, et_scope *s) noexcept;

} // namespace elm_shim

#define ET_NULL_INVALID(op, name) elm_err(ELM_E_INVALID, "%s: NULL %s", op, name)

#endif
