// The allocators `hakfuzz bench` compares: the embedded pool (v1 route, v2
// route; stats compiled out) and glibc called directly, and the peers,
// each loaded with dlopen(RTLD_NOW | RTLD_LOCAL) + dlsym so its malloc
// never replaces the process's (no LD_PRELOAD, no RTLD_DEEPBIND).
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/workloads.h"

namespace hakfuzz::bench {

enum class AllocKind : std::uint8_t { glibc, pool_v1, pool_v2, peer };

struct AllocatorSpec {
  const char* name;
  AllocKind kind;
  const char* library = nullptr;  // peer: the Debian soname
  const char* alloc_symbol = nullptr;
  const char* free_symbol = nullptr;
};
const std::vector<AllocatorSpec>& allocator_table();
const AllocatorSpec* find_allocator(std::string_view name);

// One allocator, ready to call. A peer whose library is missing or lacks
// its symbols is not an error: open() returns nullptr and says why.
class LoadedAllocator {
 public:
  virtual ~LoadedAllocator() = default;
  virtual AllocApi api() = 0;
  // The pool needs a fresh instance per measurement; peers ignore this.
  virtual void reset() {}
};
std::unique_ptr<LoadedAllocator> open_allocator(const AllocatorSpec& spec, std::string& why_not);

// jemalloc carries initial-exec TLS that dlopen cannot place without this
// glibc tunable, read only at process start (see the peer study).
inline constexpr const char* kStaticTlsTunable = "glibc.rtld.optional_static_tls=8192";

}  // namespace hakfuzz::bench
