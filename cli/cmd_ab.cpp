// `hakfuzz ab`: the seed's experiment done right. A = v2 telemetry compiled
// out (PoolStatsOff), B = compiled in (PoolStatsOn), same environment, same
// seeded workload, interleaved runs. Before timing anything it proves the
// path under test runs: the seed measured 0.00% because v2 was disabled
// and its counters never executed, then read the noise as a result.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "bench/sample_stats.h"
#include "bench/workloads.h"
#include "cli/build_info.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "hakmem/variants.h"

namespace hakfuzz::cli {

namespace {

constexpr double kLevel = 0.95;
constexpr int kResamples = 10000;
constexpr std::uint64_t kBootstrapSeed = 1;

template <class Pool>
bench::Throughput run_once(const hakmem::EnvSource& env, bench::Workload w, std::uint64_t steps,
                           std::uint64_t seed) {
  hakmem::PoolOptions o;
  o.env = env;
  Pool pool(std::move(o));
  return bench::measure(w, bench::pool_api(pool), steps, seed);
}

struct PathProof {
  bool active = false;
  std::string why;  // the refusal, naming the cause
  std::uint64_t alloc_calls = 0, alloc_fast = 0, free_calls = 0, free_fast = 0;
};

// One stats-on run: the counters are the evidence that v2 alloc and free ran.
PathProof prove_path(const hakmem::EnvSource& env, const hakmem::Config& cfg, bench::Workload w,
                     std::uint64_t steps, std::uint64_t seed) {
  PathProof p;
  hakmem::PoolOptions o;
  o.env = env;
  hakmem::PoolStatsOn pool(std::move(o));
  bench::measure(w, bench::pool_api(pool), steps, seed);
  hakmem::StatsSnapshot s = pool.stats();
  const std::uint8_t mask = cfg.v2_route_mask();
  for (int c = 0; c < hakmem::kNumClasses; ++c) {
    if (!(mask & (1u << c))) continue;
    p.alloc_calls += s.get(c, hakmem::V2Stat::alloc_calls);
    p.alloc_fast += s.get(c, hakmem::V2Stat::alloc_fast);
    p.free_calls += s.get(c, hakmem::V2Stat::free_calls);
    p.free_fast += s.get(c, hakmem::V2Stat::free_fast);
  }
  if (!cfg.v2_enabled)
    p.why =
        "HAKMEM_POOL_V2_ENABLED=0: Pool Hotbox v2 is disabled, so the telemetry under test never "
        "executes and any delta is noise (the seed's Phase 29 trap). Set HAKMEM_POOL_V2_ENABLED=1 "
        "(or pass --env HAKMEM_POOL_V2_ENABLED=1)";
  else if (mask == 0)
    p.why = "HAKMEM_POOL_V2_CLASSES=0x00 routes no class through v2, so its counters never run";
  else if (p.alloc_calls == 0 || p.free_fast == 0)
    p.why = fmt::format(
        "v2 is enabled (classes {:#04x}) but the workload never reached its {} path (v2 alloc_calls={}, "
        "free_fast={}): its sizes fall in classes v2 does not route",
        cfg.v2_classes, p.alloc_calls == 0 ? "alloc" : "free", p.alloc_calls, p.free_fast);
  p.active = p.why.empty();
  return p;
}

const char* verdict_of(const bench::Interval& ci) {
  if (ci.contains(0.0)) return "NEUTRAL";
  return ci.hi < 0 ? "GO" : "NO-GO";
}

}  // namespace

po::options_description ab_options() {
  po::options_description d("ab options");
  // clang-format off
  d.add_options()
      ("runs", number<int>("runs", 10, 2, 1000), "timed runs per side, interleaved ABAB/BABA")
      ("workload", po::value<std::string>()->default_value("W1")->value_name("W"), "W1, W2, W3 or W4 (see 'hakfuzz bench')")
      ("steps", number<std::uint64_t>("steps", bench::kDefaultSteps, 100, 1'000'000'000), "ops per run")
      ("seed", number<std::uint64_t>("seed", 1, 0, UINT64_MAX, "S"), "workload seed")
      ("json", po::value<std::string>()->value_name("FILE"), "write the runs, the interval and the verdict to FILE");
  // clang-format on
  add_env_option(d);
  return d;
}

int run_ab(const po::variables_map& vm) {
  const int runs = get<int>(vm, "runs");
  const std::uint64_t steps = get<std::uint64_t>(vm, "steps"), seed = get<std::uint64_t>(vm, "seed");
  const auto* ws = bench::find_workload(vm["workload"].as<std::string>());
  if (!ws) throw UsageError("--workload: unknown workload '" + vm["workload"].as<std::string>() + "'");
  const hakmem::EnvSource env = hakmem::map_env(resolve_env(vm));
  const hakmem::Config cfg = hakmem::parse_config(env);  // ConfigError: exit 2 in dispatch
  const std::string build = build_info();
  std::cout << fmt::format("hakfuzz ab: seed={} workload={} ({}) steps={} runs={} env: {} build {}\n", seed,
                           ws->key, ws->title, steps, runs, cfg.describe(), build)
            << std::flush;

  PathProof proof = prove_path(env, cfg, ws->id, steps, seed);
  std::cout << fmt::format(
      "path check (stats_on, one run, routed classes {:#04x}): v2 alloc_calls={} alloc_fast={} free_calls={} "
      "free_fast={}: {}\n",
      cfg.v2_route_mask(), proof.alloc_calls, proof.alloc_fast, proof.free_calls, proof.free_fast,
      proof.active ? "ACTIVE" : "NOT ACTIVE");
  nlohmann::json j = {{"command", "ab"},
                      {"seed", seed},
                      {"workload", ws->key},
                      {"steps", steps},
                      {"runs", runs},
                      {"env", cfg.describe()},
                      {"build", build},
                      {"active", proof.active},
                      {"path",
                       {{"alloc_calls", proof.alloc_calls},
                        {"alloc_fast", proof.alloc_fast},
                        {"free_calls", proof.free_calls},
                        {"free_fast", proof.free_fast}}}};
  auto write_json = [&] {
    if (vm.count("json")) std::ofstream(vm["json"].as<std::string>()) << j.dump(2) << "\n";
  };
  if (!proof.active) {
    std::cout << "refused: no A/B without an active path: " << proof.why << "\n";
    j["refused"] = proof.why;
    write_json();
    return kExitFinding;
  }

  // One untimed warm-up of A (B's was the path check), then ABAB... with the
  // order alternating per pair, so drift and warm caches favour neither side.
  run_once<hakmem::PoolStatsOff>(env, ws->id, steps, seed);
  std::vector<double> a, b;
  for (int i = 0; i < runs; ++i) {
    auto run_a = [&] { a.push_back(run_once<hakmem::PoolStatsOff>(env, ws->id, steps, seed).mops()); };
    auto run_b = [&] { b.push_back(run_once<hakmem::PoolStatsOn>(env, ws->id, steps, seed).mops()); };
    if (i % 2 == 0) {
      run_a();
      run_b();
    } else {
      run_b();
      run_a();
    }
  }

  const double delta = bench::delta_percent(a, b);
  const bench::Interval ci = bench::bootstrap_delta_ci(a, b, kLevel, kResamples, kBootstrapSeed);
  const char* verdict = verdict_of(ci);
  std::cout << fmt::format("A stats compiled out ({}): {:8.2f} +- {:.2f} Mops/s (n={})\n",
                           hakmem::PoolStatsOff::kFlavorName, bench::mean_of(a), bench::stdev_of(a),
                           a.size());
  std::cout << fmt::format("B stats compiled in  ({}):  {:8.2f} +- {:.2f} Mops/s (n={})\n",
                           hakmem::PoolStatsOn::kFlavorName, bench::mean_of(b), bench::stdev_of(b), b.size());
  std::cout << fmt::format(
      "delta B vs A: {:+.2f}%  95% CI [{:+.2f}%, {:+.2f}%] (percentile bootstrap, {} resamples per side, "
      "seed {})\n",
      delta, ci.lo, ci.hi, kResamples, kBootstrapSeed);
  std::cout << fmt::format("verdict: {} ({})\n", verdict,
                           std::string_view(verdict) == "NEUTRAL"
                               ? "the interval contains zero: no measurable cost of compiled-in stats"
                           : std::string_view(verdict) == "GO"
                               ? "compiled-in stats are significantly slower: compiling them out is a gain"
                               : "compiled-in stats are significantly faster: compiling out would be a loss, "
                                 "suspect layout effects");
  j["a"] = {
      {"flavour", "stats_off"}, {"mops", a}, {"mean", bench::mean_of(a)}, {"stdev", bench::stdev_of(a)}};
  j["b"] = {{"flavour", "stats_on"}, {"mops", b}, {"mean", bench::mean_of(b)}, {"stdev", bench::stdev_of(b)}};
  j["delta_percent"] = delta;
  j["ci95"] = {{"lo", ci.lo}, {"hi", ci.hi}, {"method", "percentile bootstrap"}, {"resamples", kResamples}};
  j["verdict"] = verdict;
  write_json();
  return kExitClean;
}

}  // namespace hakfuzz::cli
