// The seeded mid-size workloads W1-W4 (docs/bench.md), run against any
// allocator reached
// through two function pointers, so the pool and every peer get the
// identical op sequence and the same indirect-call cost.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hakfuzz::bench {

struct AllocApi {
  void* (*alloc)(void* ctx, std::size_t size);
  void (*free)(void* ctx, void* ptr);
  void* ctx;
};

// Either flavour of the pool (or anything with alloc/free) as an AllocApi.
template <class Pool>
AllocApi pool_api(Pool& pool) {
  return {[](void* c, std::size_t n) { return static_cast<Pool*>(c)->alloc(n); },
          [](void* c, void* p) { static_cast<Pool*>(c)->free(p); }, &pool};
}

enum class Workload : std::uint8_t { W1, W2, W3, W4 };

struct WorkloadSpec {
  Workload id;
  const char* key;  // "W1"
  const char* title;
};
const std::vector<WorkloadSpec>& workload_table();
const WorkloadSpec* find_workload(std::string_view key);

struct Throughput {
  std::uint64_t ops = 0;
  double seconds = 0;
  std::uint64_t digest = 0;  // total bytes requested: equal across allocators
  double mops() const { return seconds > 0 ? static_cast<double>(ops) / seconds / 1e6 : 0; }
};

// `steps` is the op count (one malloc or one free); W3 splits it into four
// ops per produced block, as the study does (1M blocks = 4M ops).
Throughput measure(Workload w, const AllocApi& api, std::uint64_t steps, std::uint64_t seed);

inline constexpr std::uint64_t kDefaultSteps = 4'000'000;

}  // namespace hakfuzz::bench
