// The `bench` experiment: every (workload, allocator) of a spec measured
// `reps` times, each measurement in its own fork()ed child, interleaved
// A B C ... with the starting allocator rotated each rep so slow phases of a
// noisy machine spread across allocators instead of landing on one. The
// report holds the table (medians, spread, the ratio to glibc), the
// allocators skipped, the failed measurements and every run.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench/allocators.h"
#include "bench/sample_stats.h"
#include "bench/workloads.h"

namespace hakfuzz::bench {

struct BenchSpec {
  std::vector<const WorkloadSpec*> workloads;
  std::vector<const AllocatorSpec*> allocators;
  int reps = 5;
  std::uint64_t steps = kDefaultSteps;
  std::uint64_t seed = 1;
};

// One row of the table: a (workload, allocator) that gave measurements.
struct BenchRow {
  const WorkloadSpec* workload;
  const AllocatorSpec* allocator;
  Spread mops;
  std::optional<double> vs_glibc;  // median over glibc's median; none without glibc
  double peak_rss_mib = 0;
  std::uint64_t digest = 0;
};

struct BenchReport {
  std::vector<BenchRow> rows;                  // by workload, then allocator, in the spec's order
  std::map<std::string, std::string> skipped;  // allocator -> why it could not be loaded
  std::vector<std::string> failures;           // one line per measurement that crashed or said nothing
  // Every allocator of a workload saw the same op sequence (the digest
  // counts the bytes requested), and every rep of one the same.
  bool digests_agree = true;
  nlohmann::json runs = nlohmann::json::array();  // every measurement, in the order taken
  // A child that crashed or returned nothing, or allocators that disagree
  // on the op sequence: the pool (or a peer) broke under the workload.
  bool clean() const { return failures.empty() && digests_agree; }
};

// What a caller sees while the run goes on.
struct BenchObserver {
  // Before each measurement: its number (from 1) of `total`.
  std::function<void(std::size_t done, std::size_t total, const WorkloadSpec&, const AllocatorSpec&)>
      measuring;
  // An allocator that cannot be loaded, once: it is left out from then on.
  std::function<void(const AllocatorSpec&, const std::string& why)> skipping;
};

BenchReport run_bench(const BenchSpec& spec, const BenchObserver& observer = {});

// The table's header and rows, one line each, as `hakfuzz bench` prints them.
std::string bench_table(const BenchReport& report);

// The spec, every run and the summary, for --json.
nlohmann::json bench_json(const BenchSpec& spec, const BenchReport& report, const std::string& build);

// jemalloc's static-TLS trap: the tunable only counts at process start, so
// when the spec measures jemalloc the process re-executes itself once with
// it set. Returns only when no re-exec is needed or it failed (jemalloc is
// then skipped with dlopen's note).
void reexec_for_static_tls(const BenchSpec& spec);

}  // namespace hakfuzz::bench
