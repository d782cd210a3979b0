// One measurement in a fork()ed child that loads only its own allocator:
// no peer's heap (tcmalloc's sbrk heap, say) shares the process, and the
// child's peak RSS from wait4 belongs to that allocator alone.
#pragma once
#include <cstdint>
#include <string>

#include "bench/allocators.h"
#include "bench/workloads.h"

namespace hakfuzz::bench {

struct Measurement {
  enum class Status : std::uint8_t { ok, unavailable, failed } status = Status::failed;
  Throughput run;
  double peak_rss_mib = 0;  // child's ru_maxrss, including the process baseline
  std::string note;         // why unavailable or failed
};

Measurement measure_in_child(const AllocatorSpec& spec, Workload w, std::uint64_t steps, std::uint64_t seed);

}  // namespace hakfuzz::bench
