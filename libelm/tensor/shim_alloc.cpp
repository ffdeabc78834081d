// shim_alloc.cpp — a caching allocator for large CPU tensors.
//
// An ELM step allocates and frees the same large tensors (activations,
// logit chunks, gradients) micro-step after micro-step. Through libtorch's
// default CPU allocator they come from glibc: blocks above its mmap
// threshold are unmapped on free, and what stays in its arenas is handed
// back by the objective's malloc_trim, so every micro-step faults the same
// pages in again and the kernel zeroes them (measured: ~20% of a bf16
// SmolLM2 step). Here blocks of at least kMinBytes are kept on free in
// per-size-class lists up to a byte budget (least recently freed released
// first) and handed out again for requests of the same class. Smaller
// requests go to libtorch's default allocator unchanged.
//
// Blocks come from posix_memalign, so the sanitizers still see them: a live
// block's address is kept only disguised (LeakSanitizer reports a leaked
// tensor's storage), and under AddressSanitizer a cached block is poisoned
// (a use after free of a tensor is reported).
//
// Installed once per process with the first non-zero budget
// (et_set_cpu_cache); the budget can change later, 0 empties the cache and
// turns caching off (large blocks then go back to the C library on free). Blocks carry
// their own deleter, so tensors made before or after installation are
// freed correctly either way.
#include "tensor/shim_internal.hpp"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <torch/version.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <list>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>

#if defined(__SANITIZE_ADDRESS__)
#define ELM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ELM_ASAN 1
#endif
#endif
#ifdef ELM_ASAN
#include <sanitizer/asan_interface.h>
#define ELM_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define ELM_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define ELM_POISON(p, n) ((void)(p), (void)(n))
#define ELM_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

using namespace elm_shim;

namespace {

constexpr size_t kMinBytes = size_t(1) << 18; // 256 KiB
constexpr size_t kPage = 4096;

// Size class: rounded up to a page, then to 1/8 steps of its power of two
// (at most 12.5% over the request; untouched pages of a block are never
// resident).
size_t size_class(size_t n)
{
    n = (n + kPage - 1) & ~(kPage - 1);
    size_t p = 1;
    while (p * 2 <= n)
        p *= 2;
    size_t step = p / 8 < kPage ? kPage : p / 8;
    return (n + step - 1) / step * step;
}

struct Block {
    void *ptr;
    size_t bytes;
};

class Cache {
  public:
    std::mutex mu;
    size_t budget = 0;   // bytes the free lists may hold
    size_t cached = 0;   // bytes in the free lists
    size_t mapped = 0;   // bytes of our blocks, live + cached
    uint64_t hits = 0, misses = 0;
    std::list<Block> lru; // front: most recently freed
    std::multimap<size_t, std::list<Block>::iterator> by_size;
    std::unordered_map<uintptr_t, size_t> live; // disguise(pointer) -> class bytes

    // The smallest cached block of at least cls bytes and at most twice
    // that (its pages are resident already; a bigger one stays for a
    // bigger request). *got: its size.
    void *take(size_t cls, size_t *got)
    {
        auto it = by_size.lower_bound(cls);
        if (it == by_size.end() || it->first > 2 * cls)
            return nullptr;
        void *p = it->second->ptr;
        *got = it->first;
        lru.erase(it->second);
        by_size.erase(it);
        cached -= *got;
        ELM_UNPOISON(p, *got);
        return p;
    }

    void release_oldest_until(size_t limit)
    {
        while (cached > limit && !lru.empty()) {
            Block b = lru.back();
            auto range = by_size.equal_range(b.bytes);
            for (auto it = range.first; it != range.second; ++it)
                if (it->second->ptr == b.ptr) {
                    by_size.erase(it);
                    break;
                }
            lru.pop_back();
            cached -= b.bytes;
            mapped -= b.bytes;
            ELM_UNPOISON(b.ptr, b.bytes);
            std::free(b.ptr);
        }
    }
};

uintptr_t disguise(const void *p) { return ~reinterpret_cast<uintptr_t>(p); }

Cache &cache()
{
    static Cache *c = new Cache(); // never destroyed: tensors may die at exit
    return *c;
}

// The default allocator's raw deleter, for small blocks freed through
// raw_deallocate (oneDNN scratch space goes that way).
c10::DeleterFnPtr base_raw_free = nullptr;

void cached_free(void *p)
{
    if (!p)
        return;
    Cache &c = cache();
    std::unique_lock<std::mutex> g(c.mu);
    auto it = c.live.find(disguise(p));
    if (it == c.live.end()) {
        g.unlock();
        if (base_raw_free)
            base_raw_free(p);
        return;
    }
    size_t bytes = it->second;
    c.live.erase(it);
    if (c.budget < bytes) {
        c.mapped -= bytes;
        std::free(p);
        return;
    }
    try {
        c.lru.push_front(Block{p, bytes});
        try {
            c.by_size.emplace(bytes, c.lru.begin());
        } catch (...) {
            c.lru.pop_front();
            throw;
        }
    } catch (...) {
        c.mapped -= bytes;
        std::free(p);
        return;
    }
    ELM_POISON(p, bytes);
    c.cached += bytes;
    c.release_oldest_until(c.budget);
}

class CachingCPUAllocator final : public c10::Allocator {
  public:
    explicit CachingCPUAllocator(c10::Allocator *base) : base_(base) {}

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
    c10::DataPtr allocate(size_t n) override
#else
    c10::DataPtr allocate(size_t n) const override
#endif
    {
        if (n < kMinBytes)
            return base_->allocate(n);
        size_t cls = size_class(n);
        Cache &c = cache();
        void *p = nullptr;
        {
            std::lock_guard<std::mutex> g(c.mu);
            p = c.take(cls, &cls);
            if (p)
                c.hits++;
            else
                c.misses++;
        }
        if (!p) {
            if (posix_memalign(&p, 64, cls) != 0) {
                // Give the cache back and try once more.
                {
                    std::lock_guard<std::mutex> g(c.mu);
                    c.release_oldest_until(0);
                }
                if (posix_memalign(&p, 64, cls) != 0)
                    throw std::bad_alloc();
            }
            std::lock_guard<std::mutex> g(c.mu);
            c.mapped += cls;
        }
        {
            std::lock_guard<std::mutex> g(c.mu);
            try {
                c.live.emplace(disguise(p), cls);
            } catch (...) {
                c.mapped -= cls;
                std::free(p);
                throw;
            }
        }
        return c10::DataPtr(p, p, &cached_free, c10::Device(c10::DeviceType::CPU));
    }

    // raw_allocate/raw_deallocate: our blocks and, for small ones, the
    // default allocator's.
    c10::DeleterFnPtr raw_deleter() const override { return base_raw_free ? &cached_free : nullptr; }

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
    void copy_data(void *dest, const void *src, std::size_t count) const override
    {
        default_copy_data(dest, src, count);
    }
#endif

  private:
    c10::Allocator *base_;
};

} // namespace

static std::atomic<bool> cache_configured{false};

int et_cpu_cache_configured(void) { return cache_configured.load() ? 1 : 0; }

elm_status et_set_cpu_cache(size_t bytes)
{
    elm_status st = run_status("et_set_cpu_cache", [&] {
        Cache &c = cache();
        {
            std::lock_guard<std::mutex> g(c.mu);
            c.budget = bytes;
            c.release_oldest_until(bytes);
        }
        if (bytes > 0) {
            // once per process, also when models are opened from several
            // threads at a time (a function-local static's initialisation
            // is thread-safe; if it throws, the next call tries again)
            static CachingCPUAllocator *installed = [] {
                c10::Allocator *base = c10::GetDefaultCPUAllocator();
                base_raw_free = base->raw_deleter();
                auto *a = new CachingCPUAllocator(base);
                c10::SetCPUAllocator(a, /*priority=*/1);
                return a;
            }();
            (void)installed;
        }
    });
    if (st == ELM_OK)
        cache_configured.store(true);
    return st;
}

void et_cpu_cache_stats(et_cpu_cache_info *out)
{
    if (!out)
        return;
    Cache &c = cache();
    std::lock_guard<std::mutex> g(c.mu);
    out->budget = c.budget;
    out->cached = c.cached;
    out->mapped = c.mapped;
    out->hits = c.hits;
    out->misses = c.misses;
}
