#include "bench/allocators.h"

#include <dlfcn.h>

#include <cstdlib>

#include "hakmem/variants.h"

namespace hakfuzz::bench {

namespace {

class Glibc final : public LoadedAllocator {
 public:
  AllocApi api() override {
    return {[](void*, std::size_t n) { return std::malloc(n); }, [](void*, void* p) { std::free(p); },
            nullptr};
  }
};

// The stats-compiled-out flavour: the one a production build would ship.
class PoolRoute final : public LoadedAllocator {
 public:
  explicit PoolRoute(bool v2) : v2_(v2) { reset(); }
  void reset() override {
    pool_.reset();  // the old arena goes before the new one is reserved
    hakmem::PoolOptions o;
    hakmem::Config cfg;  // table defaults, v2 on or off: every class routed when on
    cfg.v2_enabled = v2_;
    o.env = hakmem::map_env(cfg.env_vars());
    pool_ = std::make_unique<hakmem::PoolStatsOff>(std::move(o));
  }
  AllocApi api() override { return pool_api(*pool_); }

 private:
  bool v2_;
  std::unique_ptr<hakmem::PoolStatsOff> pool_;
};

using MallocFn = void* (*)(std::size_t);
using FreeFn = void (*)(void*);

// The library stays loaded for the life of the process: peers keep
// thread caches whose destructors run at thread exit, after any dlclose.
class Peer final : public LoadedAllocator {
 public:
  Peer(MallocFn m, FreeFn f) : m_(m), f_(f) {}
  AllocApi api() override {
    return {[](void* c, std::size_t n) { return static_cast<Peer*>(c)->m_(n); },
            [](void* c, void* p) { static_cast<Peer*>(c)->f_(p); }, this};
  }

 private:
  MallocFn m_;
  FreeFn f_;
};

}  // namespace

const std::vector<AllocatorSpec>& allocator_table() {
  static const std::vector<AllocatorSpec> table = {
      {"glibc", AllocKind::glibc},
      {"pool-v1", AllocKind::pool_v1},
      {"pool-v2", AllocKind::pool_v2},
      {"tbbmalloc", AllocKind::peer, "libtbbmalloc.so.2", "scalable_malloc", "scalable_free"},
      {"jemalloc", AllocKind::peer, "libjemalloc.so.2", "malloc", "free"},  // Debian: no je_ prefix
      {"mimalloc", AllocKind::peer, "libmimalloc.so.2", "mi_malloc", "mi_free"},
      {"tcmalloc", AllocKind::peer, "libtcmalloc_minimal.so.4", "tc_malloc", "tc_free"},
  };
  return table;
}

const AllocatorSpec* find_allocator(std::string_view name) {
  for (const AllocatorSpec& a : allocator_table())
    if (name == a.name) return &a;
  return nullptr;
}

std::unique_ptr<LoadedAllocator> open_allocator(const AllocatorSpec& spec, std::string& why_not) {
  switch (spec.kind) {
    case AllocKind::glibc:
      return std::make_unique<Glibc>();
    case AllocKind::pool_v1:
      return std::make_unique<PoolRoute>(false);
    case AllocKind::pool_v2:
      return std::make_unique<PoolRoute>(true);
    case AllocKind::peer:
      break;
  }
  void* h = dlopen(spec.library, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    why_not = e ? e : "dlopen failed";
    return nullptr;
  }
  auto m = reinterpret_cast<MallocFn>(dlsym(h, spec.alloc_symbol));
  auto f = reinterpret_cast<FreeFn>(dlsym(h, spec.free_symbol));
  if (!m || !f) {
    why_not = std::string(spec.library) + " lacks " + spec.alloc_symbol + "/" + spec.free_symbol;
    return nullptr;
  }
  return std::make_unique<Peer>(m, f);
}

}  // namespace hakfuzz::bench
