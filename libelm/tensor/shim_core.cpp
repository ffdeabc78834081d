// shim_core.cpp — runtime queries, scopes, error plumbing, creation,
// inspection and random state.
#include "tensor/shim_internal.hpp"

#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/util/Exception.h>

#include <sched.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#ifdef ELM_WITH_CUDA
#if __has_include(<c10/cuda/CUDAFunctions.h>) && __has_include(<cuda_runtime_api.h>)
#include <c10/cuda/CUDAFunctions.h>
#else
// PyTorch wheels ship c10's headers but not the CUDA toolkit's; the one
// function needed is declared here (it lives in libc10_cuda, linked always).
namespace c10 {
namespace cuda {
__attribute__((visibility("default"))) void device_synchronize();
}
} // namespace c10
#endif
#endif

using namespace elm_shim;

namespace elm_shim {

static bool contains(const std::string &s, const char *needle)
{
    return s.find(needle) != std::string::npos;
}

// Status for a libtorch error message that is not a typed OOM. libtorch
// 1.13's CPU allocator throws a plain c10::Error: "DefaultCPUAllocator:
// can't allocate memory: you tried to allocate N bytes. Error code 12
// (Cannot allocate memory)"; "CUDA out of memory" is caught by the first test.
static elm_status status_of_message(const std::string &m, elm_status dflt)
{
    if (contains(m, "out of memory") || contains(m, "not enough memory") ||
        contains(m, "can't allocate memory") || contains(m, "Cannot allocate memory") ||
        contains(m, "Error code 12 ("))
        return ELM_E_NOMEM;
    if (contains(m, "CUDA error") || contains(m, "CUDA driver") || contains(m, "no CUDA GPUs") ||
        contains(m, "not compiled with CUDA") || contains(m, "CUBLAS_STATUS") ||
        contains(m, "cuDNN error"))
        return ELM_E_DEVICE;
    return dflt;
}

elm_status classify_current(const char *op, std::string *msg) noexcept
{
    elm_status st = ELM_E_INTERNAL;
    try {
        std::string text;
        try {
            throw;
        } catch (const c10::OutOfMemoryError &e) {
            st = ELM_E_NOMEM;
            text = e.what_without_backtrace();
        } catch (const c10::NotImplementedError &e) {
            text = e.what_without_backtrace();
            st = status_of_message(text, ELM_E_UNSUPPORTED);
        } catch (const c10::Error &e) {
            text = e.what_without_backtrace();
            st = status_of_message(text, ELM_E_INVALID);
        } catch (const std::bad_alloc &) {
            st = ELM_E_NOMEM;
            text = "out of memory";
        } catch (const std::exception &e) {
            text = e.what();
            st = status_of_message(text, ELM_E_INTERNAL);
        } catch (...) {
            st = ELM_E_INTERNAL;
            text = "unknown exception";
        }
        // libtorch messages may span lines (context notes); keep them, but
        // drop a trailing newline.
        while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
            text.pop_back();
        *msg = std::string(op) + ": " + text;
    } catch (...) {
        // Building the message itself ran out of memory.
        st = ELM_E_NOMEM;
        try {
            *msg = op;
        } catch (...) {
        }
    }
    return st;
}

void scope_fail(et_scope *s, elm_status st, const std::string &msg) noexcept
{
    if (!s || s->st != ELM_OK)
        return;
    s->st = st;
    try {
        s->msg = msg;
    } catch (...) {
        s->msg.clear();
    }
}

at::ScalarType to_scalar(et_dtype dt)
{
    switch (dt) {
    case ET_F32: return at::kFloat;
    case ET_F16: return at::kHalf;
    case ET_BF16: return at::kBFloat16;
    case ET_F64: return at::kDouble;
    case ET_I64: return at::kLong;
    case ET_I32: return at::kInt;
    case ET_U8: return at::kByte;
    case ET_BOOL: return at::kBool;
    }
    TORCH_CHECK(false, "unknown et_dtype ", static_cast<int>(dt));
}

bool from_scalar(at::ScalarType st, et_dtype *out) noexcept
{
    switch (st) {
    case at::kFloat: *out = ET_F32; return true;
    case at::kHalf: *out = ET_F16; return true;
    case at::kBFloat16: *out = ET_BF16; return true;
    case at::kDouble: *out = ET_F64; return true;
    case at::kLong: *out = ET_I64; return true;
    case at::kInt: *out = ET_I32; return true;
    case at::kByte: *out = ET_U8; return true;
    case at::kBool: *out = ET_BOOL; return true;
    default: return false;
    }
}

at::Device to_device(et_device d)
{
    if (d.kind == 0)
        return at::Device(at::kCPU);
    if (d.kind == 1) {
        TORCH_CHECK(d.index >= 0, "invalid cuda device index ", d.index);
        return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(d.index));
    }
    TORCH_CHECK(false, "unknown device kind ", d.kind);
}

std::vector<int64_t> to_shape(int ndim, const int64_t *shape)
{
    TORCH_CHECK(ndim >= 0, "negative ndim ", ndim);
    TORCH_CHECK(ndim == 0 || shape != nullptr, "NULL shape with ndim ", ndim);
    std::vector<int64_t> v(shape, shape + ndim);
    for (int i = 0; i < ndim; i++)
        TORCH_CHECK(v[i] >= 0, "negative size ", v[i], " at dim ", i, " of shape ", at::IntArrayRef(v));
    return v;
}

et_tensor *adopt(et_scope *s, at::Tensor &&t)
{
    auto *h = new et_tensor{std::move(t)};
    try {
        s->owned.push_back(h);
    } catch (...) {
        delete h;
        throw;
    }
    return h;
}

elm_status null_input(const char *op, et_scope *s) noexcept
{
    if (s && s->st != ELM_OK)
        return elm_err(s->st, "%s", s->msg.c_str());
    return elm_err(ELM_E_INVALID, "%s: NULL tensor", op);
}

} // namespace elm_shim

extern "C" {

/* ---- runtime ---- */

const char *et_backend_version(void)
{
    return TORCH_VERSION;
}

size_t et_dtype_size(et_dtype dt)
{
    switch (dt) {
    case ET_F32: return 4;
    case ET_F16: return 2;
    case ET_BF16: return 2;
    case ET_F64: return 8;
    case ET_I64: return 8;
    case ET_I32: return 4;
    case ET_U8: return 1;
    case ET_BOOL: return 1;
    }
    return 0;
}

const char *et_dtype_name(et_dtype dt)
{
    switch (dt) {
    case ET_F32: return "float32";
    case ET_F16: return "float16";
    case ET_BF16: return "bfloat16";
    case ET_F64: return "float64";
    case ET_I64: return "int64";
    case ET_I32: return "int32";
    case ET_U8: return "uint8";
    case ET_BOOL: return "bool";
    }
    return "unknown";
}

elm_status et_parse_dtype(const char *name, et_dtype *out)
{
    static const struct {
        const char *name;
        et_dtype dt;
    } names[] = {
        {"float32", ET_F32}, {"fp32", ET_F32},  {"f32", ET_F32},     {"bfloat16", ET_BF16},
        {"bf16", ET_BF16},   {"float16", ET_F16}, {"fp16", ET_F16}, {"f16", ET_F16},
    };
    if (!out)
        return ET_NULL_INVALID("et_parse_dtype", "out");
    if (!name)
        return ET_NULL_INVALID("et_parse_dtype", "name");
    for (const auto &n : names)
        if (std::strcmp(name, n.name) == 0) {
            *out = n.dt;
            return ELM_OK;
        }
    return elm_err(ELM_E_INVALID,
                   "et_parse_dtype: unknown dtype '%s' (choices: float32, fp32, f32, bfloat16, "
                   "bf16, float16, fp16, f16)",
                   name);
}

int et_cuda_available(void)
{
    try {
        return at::hasCUDA() && at::detail::getCUDAHooks().getNumGPUs() > 0;
    } catch (...) {
        return 0;
    }
}

int et_cuda_device_count(void)
{
    try {
        return at::hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0;
    } catch (...) {
        return 0;
    }
}

elm_status et_parse_device(const char *text, et_device *out)
{
    if (!out)
        return ET_NULL_INVALID("et_parse_device", "out");
    if (!text)
        return ET_NULL_INVALID("et_parse_device", "text");
    if (std::strcmp(text, "cpu") == 0) {
        *out = et_device{0, 0};
        return ELM_OK;
    }
    int index = 0;
    if (std::strcmp(text, "cuda") == 0) {
        index = 0;
    } else if (std::strncmp(text, "cuda:", 5) == 0 && text[5] >= '0' && text[5] <= '9') {
        char *end = nullptr;
        long v = std::strtol(text + 5, &end, 10);
        if (*end != '\0' || v > 1024)
            return elm_err(ELM_E_INVALID, "et_parse_device: bad device '%s' (cpu, cuda, cuda:N)", text);
        index = static_cast<int>(v);
    } else {
        return elm_err(ELM_E_INVALID, "et_parse_device: bad device '%s' (cpu, cuda, cuda:N)", text);
    }
    int n = et_cuda_device_count();
    if (n <= 0)
        return elm_err(ELM_E_DEVICE, "et_parse_device: '%s' requested but CUDA is not available (libtorch %s%s)",
                       text, TORCH_VERSION, at::hasCUDA() ? ", no GPU visible" : ", built without CUDA");
    if (index >= n)
        return elm_err(ELM_E_DEVICE, "et_parse_device: '%s' requested but only %d CUDA device(s) visible", text, n);
    *out = et_device{1, index};
    return ELM_OK;
}

void et_device_name(et_device dev, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return;
    if (dev.kind == 1)
        snprintf(buf, cap, "cuda:%d", dev.index);
    else if (dev.kind == 0)
        snprintf(buf, cap, "cpu");
    else
        snprintf(buf, cap, "device(%d)", dev.kind);
}

static std::atomic<bool> threads_configured{false};

int et_num_threads_configured(void) { return threads_configured.load() ? 1 : 0; }

elm_status et_set_num_threads(int n)
{
    if (n <= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        if (sched_getaffinity(0, sizeof set, &set) == 0)
            n = CPU_COUNT(&set);
        if (n <= 0)
            n = 1;
    }
    elm_status st = run_status("et_set_num_threads", [&] {
        at::set_num_threads(n);
        // libelm runs no inter-op parallel work; the pool can be sized only
        // once per process and only before first use, so a refusal is fine.
        static bool interop_done = false;
        if (!interop_done) {
            interop_done = true;
            try {
                at::set_num_interop_threads(1);
            } catch (...) {
            }
        }
    });
    if (st == ELM_OK)
        threads_configured.store(true);
    return st;
}

int et_get_num_threads(void)
{
    try {
        return at::get_num_threads();
    } catch (...) {
        return 1;
    }
}

int et_cpu_has_bf16(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) /* OSXSAVE */
        return 0;
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    uint64_t xcr0 = (static_cast<uint64_t>(xhi) << 32) | xlo;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    unsigned max_sub = a;
    bool amx_bf16 = (d >> 22) & 1u;
    bool amx_os = (xcr0 & (3ull << 17)) == (3ull << 17); /* XTILECFG, XTILEDATA */
    if (amx_bf16 && amx_os)
        return 1;
    if (max_sub >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) {
        bool avx512bf16 = (a >> 5) & 1u;
        bool avx512_os = (xcr0 & 0xE6) == 0xE6; /* SSE, AVX, opmask, ZMM */
        if (avx512bf16 && avx512_os)
            return 1;
    }
    return 0;
#else
    return 0;
#endif
}

void et_manual_seed(uint64_t seed)
{
    try {
        at::manual_seed(seed); /* CPU and, where present, every CUDA device */
    } catch (...) {
    }
}

void et_synchronize(et_device dev)
{
#ifdef ELM_WITH_CUDA
    if (dev.kind == 1) {
        try {
            c10::cuda::device_synchronize();
        } catch (...) {
        }
    }
#else
    (void)dev;
#endif
}

/* ---- scopes ---- */

et_scope *et_scope_new(void)
{
    return new (std::nothrow) et_scope();
}

void et_scope_free(et_scope *s)
{
    if (!s)
        return;
    for (et_tensor *t : s->owned)
        delete t;
    delete s;
}

elm_status et_scope_check(et_scope *s)
{
    if (!s)
        return elm_err(ELM_E_INVALID, "et_scope_check: NULL scope");
    if (s->st == ELM_OK)
        return ELM_OK;
    return elm_err(s->st, "%s", s->msg.c_str());
}

void et_scope_reset_error(et_scope *s)
{
    if (!s)
        return;
    s->st = ELM_OK;
    s->msg.clear();
}

size_t et_scope_count(const et_scope *s)
{
    return s ? s->owned.size() : 0;
}

et_tensor *et_share(et_scope *dst, const et_tensor *t)
{
    return run(dst, "et_share", [&] { return at::Tensor(t->t); }, t);
}

/* ---- creation ---- */

et_tensor *et_from_data(et_scope *s, const void *data, et_dtype dt, int ndim, const int64_t *shape)
{
    return run(s, "et_from_data", [&] {
        auto t = at::empty(to_shape(ndim, shape), at::TensorOptions().dtype(to_scalar(dt)));
        size_t n = t.nbytes();
        TORCH_CHECK(n == 0 || data != nullptr, "NULL data for ", n, " bytes");
        if (n)
            std::memcpy(t.data_ptr(), data, n);
        return t;
    });
}

et_tensor *et_from_blob(et_scope *s, void *data, et_dtype dt, int ndim, const int64_t *shape,
                        void (*release)(void *ctx), void *ctx)
{
    return run(s, "et_from_blob", [&] {
        auto sizes = to_shape(ndim, shape);
        auto opts = at::TensorOptions().dtype(to_scalar(dt));
        TORCH_CHECK(data != nullptr, "NULL data");
        return at::from_blob(data, sizes, [release, ctx](void *) {
            if (release)
                release(ctx);
        }, opts);
    });
}

et_tensor *et_zeros(et_scope *s, et_dtype dt, int ndim, const int64_t *shape, et_device dev)
{
    return run(s, "et_zeros", [&] {
        return at::zeros(to_shape(ndim, shape),
                         at::TensorOptions().dtype(to_scalar(dt)).device(to_device(dev)));
    });
}

et_tensor *et_full(et_scope *s, double value, et_dtype dt, int ndim, const int64_t *shape, et_device dev)
{
    return run(s, "et_full", [&] {
        return at::full(to_shape(ndim, shape), value,
                        at::TensorOptions().dtype(to_scalar(dt)).device(to_device(dev)));
    });
}

et_tensor *et_arange(et_scope *s, int64_t start, int64_t end, et_dtype dt, et_device dev)
{
    return run(s, "et_arange", [&] {
        return at::arange(start, end, at::TensorOptions().dtype(to_scalar(dt)).device(to_device(dev)));
    });
}

et_tensor *et_zeros_like(et_scope *s, const et_tensor *t)
{
    return run(s, "et_zeros_like", [&] { return at::zeros_like(t->t); }, t);
}

elm_status et_kaiming_uniform_(et_tensor *t, double a)
{
    if (!t)
        return ET_NULL_INVALID("et_kaiming_uniform_", "tensor");
    return run_status("et_kaiming_uniform_", [&] {
        // torch.nn.init.kaiming_uniform_(t, a): fan_in mode, leaky_relu gain.
        TORCH_CHECK(t->t.dim() >= 2, "fan in can not be computed for tensor with fewer than 2 dimensions (shape ",
                    t->t.sizes(), ")");
        int64_t fan_in = t->t.size(1);
        for (int64_t d = 2; d < t->t.dim(); d++)
            fan_in *= t->t.size(d);
        TORCH_CHECK(fan_in > 0, "fan_in is 0 for shape ", t->t.sizes());
        double gain = std::sqrt(2.0 / (1.0 + a * a));
        double std_ = gain / std::sqrt(static_cast<double>(fan_in));
        double bound = std::sqrt(3.0) * std_;
        at::NoGradGuard ng;
        t->t.uniform_(-bound, bound);
    });
}

elm_status et_uniform_(et_tensor *t, double lo, double hi)
{
    if (!t)
        return ET_NULL_INVALID("et_uniform_", "tensor");
    return run_status("et_uniform_", [&] {
        at::NoGradGuard ng;
        t->t.uniform_(lo, hi);
    });
}

elm_status et_normal_(et_tensor *t, double mean, double std_)
{
    if (!t)
        return ET_NULL_INVALID("et_normal_", "tensor");
    return run_status("et_normal_", [&] {
        at::NoGradGuard ng;
        t->t.normal_(mean, std_);
    });
}

/* ---- inspection ---- */

int et_ndim(const et_tensor *t)
{
    return t ? static_cast<int>(t->t.dim()) : 0;
}

int64_t et_size(const et_tensor *t, int dim)
{
    if (!t)
        return -1;
    int64_t nd = t->t.dim();
    int64_t d = dim < 0 ? dim + nd : dim;
    if (d < 0 || d >= nd)
        return -1;
    return t->t.size(d);
}

int64_t et_numel(const et_tensor *t)
{
    return t ? t->t.numel() : 0;
}

et_dtype et_get_dtype(const et_tensor *t)
{
    et_dtype dt = static_cast<et_dtype>(-1);
    if (t)
        from_scalar(t->t.scalar_type(), &dt);
    return dt;
}

et_device et_get_device(const et_tensor *t)
{
    if (!t || !t->t.is_cuda())
        return et_device{0, 0};
    return et_device{1, static_cast<int>(t->t.device().index())};
}

elm_status et_to_host(const et_tensor *t, void *dst, et_dtype as, size_t nbytes)
{
    if (!t)
        return ET_NULL_INVALID("et_to_host", "tensor");
    return run_status("et_to_host", [&] {
        size_t want = static_cast<size_t>(t->t.numel()) * et_dtype_size(as);
        TORCH_CHECK(nbytes == want, "buffer of ", nbytes, " bytes for ", t->t.numel(), " elements of ",
                    et_dtype_name(as), " (shape ", t->t.sizes(), ") needs ", want);
        TORCH_CHECK(want == 0 || dst != nullptr, "NULL destination");
        auto h = t->t.detach().to(at::kCPU).to(to_scalar(as)).contiguous();
        if (want)
            std::memcpy(dst, h.data_ptr(), want);
    });
}

elm_status et_item(const et_tensor *t, double *out)
{
    if (!t)
        return ET_NULL_INVALID("et_item", "tensor");
    if (!out)
        return ET_NULL_INVALID("et_item", "out");
    return run_status("et_item", [&] {
        TORCH_CHECK(t->t.numel() == 1, "tensor of shape ", t->t.sizes(), " has ", t->t.numel(),
                    " elements, not one");
        *out = t->t.detach().item().toDouble();
    });
}

void et_shape_str(const et_tensor *t, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return;
    if (!t) {
        snprintf(buf, cap, "(null)");
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    auto put = [&](const char *fmt, long long v) {
        if (used < cap) {
            int k = snprintf(buf + used, cap - used, fmt, v);
            if (k > 0)
                used += static_cast<size_t>(k);
        }
    };
    put("[", 0);
    for (int64_t i = 0; i < t->t.dim(); i++)
        put(i ? ", %lld" : "%lld", static_cast<long long>(t->t.size(i)));
    put("]", 0);
}

/* ---- random state ---- */

et_tensor *et_rng_get_state(et_scope *s)
{
    return run(s, "et_rng_get_state", [&] {
        auto gen = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        return gen.get_state();
    });
}

elm_status et_rng_set_state(const et_tensor *state)
{
    if (!state)
        return ET_NULL_INVALID("et_rng_set_state", "state");
    return run_status("et_rng_set_state", [&] {
        auto gen = at::detail::getDefaultCPUGenerator();
        auto st = state->t.detach().to(at::kCPU).contiguous();
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(st);
    });
}

} /* extern "C" */
