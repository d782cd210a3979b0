// Phase 29's A/B experiment done right. A = v2 telemetry compiled out
// (PoolStatsOff), B = compiled in (PoolStatsOn), same environment, same
// seeded workload, interleaved runs. Before timing anything it proves the
// path under test runs: Phase 29 measured 0.00% because v2 was disabled
// and its counters never executed, then read the noise as a result. Without
// that proof there is no delta to report, only the refusal naming why.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench/sample_stats.h"
#include "bench/workloads.h"
#include "hakmem/types.h"

namespace hakfuzz::bench {

inline constexpr double kAbLevel = 0.95;
inline constexpr int kAbResamples = 10000;
inline constexpr std::uint64_t kAbBootstrapSeed = 1;

struct AbSpec {
  const WorkloadSpec* workload = nullptr;
  int runs = 10;  // timed runs per side
  std::uint64_t steps = kDefaultSteps;
  std::uint64_t seed = 1;
  hakmem::EnvSource env;  // both sides' pools read their flags here
  hakmem::Config config;  // what `env` says, parsed
};

// One stats-on run's v2 counters over the routed classes: the evidence that
// v2 alloc and free ran.
struct PathProof {
  bool active = false;
  std::string why;  // the refusal, naming the cause
  std::uint64_t alloc_calls = 0, alloc_fast = 0, free_calls = 0, free_fast = 0;
};

enum class AbVerdict : std::uint8_t { go, neutral, no_go };
const char* ab_verdict_name(AbVerdict v);     // GO, NEUTRAL, NO-GO
const char* ab_verdict_meaning(AbVerdict v);  // what it says about compiled-in stats

struct AbOutcome {
  std::vector<double> a, b;  // Mops/s of each timed run, per side
  double delta_percent = 0;  // mean(B) against mean(A)
  Interval ci;               // kAbLevel percentile bootstrap of the delta
  AbVerdict verdict = AbVerdict::neutral;
};

struct AbReport {
  PathProof proof;
  std::optional<AbOutcome> outcome;  // none: refused, the path under test never ran
};

// The path proof first, handed to `on_proof` before any timed run; then,
// only when it holds, one untimed warm-up and the interleaved runs.
AbReport run_ab(const AbSpec& spec, const std::function<void(const PathProof&)>& on_proof = {});

// The spec, the proof and the runs, the interval and the verdict (or the
// refusal), for --json.
nlohmann::json ab_json(const AbSpec& spec, const AbReport& report, const std::string& build);

}  // namespace hakfuzz::bench
