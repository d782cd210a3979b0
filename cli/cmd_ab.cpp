// `hakfuzz ab`: stats compiled out (A) against compiled in (B), after the
// proof that the path under test runs (bench/ab.h runs the experiment; this
// file reads its options and prints the proof, the runs and the verdict).
#include <fmt/format.h>

#include <iostream>

#include "bench/ab.h"
#include "cli/build_info.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/output_paths.h"
#include "hakmem/variants.h"

namespace hakfuzz::cli {

namespace {

void print_proof(const bench::PathProof& proof, const hakmem::Config& cfg) {
  std::cout << fmt::format(
      "path check (stats_on, one run, routed classes {:#04x}): v2 alloc_calls={} alloc_fast={} free_calls={} "
      "free_fast={}: {}\n",
      cfg.v2_route_mask(), proof.alloc_calls, proof.alloc_fast, proof.free_calls, proof.free_fast,
      proof.active ? "ACTIVE" : "NOT ACTIVE");
}

void print_outcome(const bench::AbOutcome& o) {
  const auto& a = o.a;
  const auto& b = o.b;
  std::cout << fmt::format("A stats compiled out ({}): {:8.2f} +- {:.2f} Mops/s (n={})\n",
                           hakmem::PoolStatsOff::kFlavorName, bench::mean_of(a), bench::stdev_of(a),
                           a.size());
  std::cout << fmt::format("B stats compiled in  ({}):  {:8.2f} +- {:.2f} Mops/s (n={})\n",
                           hakmem::PoolStatsOn::kFlavorName, bench::mean_of(b), bench::stdev_of(b), b.size());
  std::cout << fmt::format(
      "delta B vs A: {:+.2f}%  95% CI [{:+.2f}%, {:+.2f}%] (percentile bootstrap, {} resamples per side, "
      "seed {})\n",
      o.delta_percent, o.ci.lo, o.ci.hi, bench::kAbResamples, bench::kAbBootstrapSeed);
  std::cout << fmt::format("verdict: {} ({})\n", bench::ab_verdict_name(o.verdict),
                           bench::ab_verdict_meaning(o.verdict));
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
  bench::AbSpec spec;
  spec.runs = get<int>(vm, "runs");
  spec.steps = get<std::uint64_t>(vm, "steps");
  spec.seed = get<std::uint64_t>(vm, "seed");
  spec.workload = bench::find_workload(vm["workload"].as<std::string>());
  if (!spec.workload)
    throw UsageError("--workload: unknown workload '" + vm["workload"].as<std::string>() + "'");
  spec.env = hakmem::map_env(resolve_env(vm));
  spec.config = hakmem::parse_config(spec.env);  // ConfigError: exit 2 in dispatch
  const std::string json_path = vm.count("json") ? vm["json"].as<std::string>() : "";
  if (!json_path.empty()) probe_output_file(json_path, "--json " + json_path, ParentDir::must_exist);
  const std::string build = build_info();
  std::cout << fmt::format("hakfuzz ab: seed={} workload={} ({}) steps={} runs={} env: {} build {}\n",
                           spec.seed, spec.workload->key, spec.workload->title, spec.steps, spec.runs,
                           spec.config.describe(), build)
            << std::flush;

  const bench::AbReport report =
      bench::run_ab(spec, [&](const bench::PathProof& proof) { print_proof(proof, spec.config); });
  if (report.outcome)
    print_outcome(*report.outcome);
  else
    std::cout << "refused: no A/B without an active path: " << report.proof.why << "\n";
  if (!json_path.empty())
    write_output_file(json_path, bench::ab_json(spec, report, build).dump(2) + "\n", "--json " + json_path);
  return report.outcome ? kExitClean : kExitFinding;
}

}  // namespace hakfuzz::cli
