// `hakfuzz stress`: one run of the stress engine (stress/engine.h) on a pool
// of the chosen flavour, environment and planted bug; on a finding, the last
// ops of every worker, a JSON report and a `remote` replay input.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>

#include "cli/build_info.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/output_paths.h"
#include "fuzz/interleave_input.h"
#include "oracle/plants.h"
#include "program/program.h"
#include "stress/controlled.h"
#include "stress/failure_report.h"
#include "stress/parallel.h"
#include "stress/replay.h"

namespace hakfuzz::cli {

namespace {

constexpr std::size_t kArenaBytes = std::size_t{4} << 30;  // reserved only; slabs commit on use

// Findings, each worker's last ops, the replay input and the JSON report.
// After a crash (called from the signal handler) the replay is written but
// not run: this process's state is gone.
void report_failure(const stress::StressResult& res, const hakmem::Config& config,
                    const stress::RunHeader& header, const stress::StressSpec& spec,
                    const std::string& report_path, bool crashed) {
  std::cout << fmt::format("\n{} finding(s):\n", res.findings.size());
  for (const Finding& f : res.findings) std::cout << "  " << f.describe() << "\n";
  for (std::size_t w = 0; w < res.last_ops.size(); ++w) {
    std::cout << fmt::format("last ops of worker {}:\n", w);
    for (const stress::LoggedOp& op : res.last_ops[w]) std::cout << "  " << stress::describe_op(op) << "\n";
  }
  std::cout << std::flush;
  const stress::Replay replay = stress::build_replay(res.window, config, spec.threads);
  const std::string replay_file = stress::replay_path_for(report_path);
  if (const auto dir = std::filesystem::path(report_path).parent_path(); !dir.empty())
    create_output_dir(dir, "--report " + report_path);
  {
    const std::vector<std::uint8_t> bytes = encode(replay.program);
    std::ofstream out(replay_file, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw UsageError("--report " + report_path + ": cannot write " + replay_file);
  }
  const stress::ReplayVerdict verdict =
      crashed
          ? stress::ReplayVerdict{false, "not run in the crashed process: hakfuzz repro --target remote " +
                                             replay_file}
          : stress::run_replay(replay);
  stress::write_failure_report(report_path, header, spec, res, replay, replay_file, verdict);
  std::cout << fmt::format("report: {}\nreplay: {} ({} schedule ops on {} threads): {}\n", report_path,
                           replay_file, replay.program.ops.size(), replay.program.threads,
                           verdict.reproduced ? "reproduced: " + verdict.finding
                           : crashed          ? verdict.finding
                                              : std::string("did not reproduce the finding"));
  for (const std::string& a : replay.approximations) std::cout << "  approximation: " << a << "\n";
  std::cout << std::flush;
}

void print_summary(const stress::StressResult& res) {
  for (const stress::RoundReport& r : res.rounds)
    std::cout << fmt::format(
        "round {}: {} allocs, {} frees, {} live blocks ({} bytes), {} slabs, RSS {} KiB\n", r.round, r.allocs,
        r.frees, r.live_blocks, r.live_bytes, r.slabs, r.rss_kb);
  const std::uint64_t remote = res.tally.remote_frees();
  std::cout << fmt::format(
      "{} ops in {:.2f} s ({:.0f} ops/s); {} blocks handed off; frees: {} of another worker's block, {} v2 "
      "remote ({:.0f}%), {} drained by their owners, {} rejected; RSS peak {} KiB, final {} KiB\n"
      "memory: {}\n"
      "end: {}\n",
      res.ops, res.seconds, res.seconds > 0 ? res.ops / res.seconds : 0.0, res.handed_off, res.foreign_frees,
      remote, res.tally.frees ? 100.0 * remote / res.tally.frees : 0.0, res.drained, res.tally.rejected,
      res.peak_rss_kb, res.final_rss_kb, res.rss_verdict, res.empty_verdict);
  if (res.lockstep_lost)
    std::cout << "note: a worker stalled for 2 s; the rest of the run was not in lockstep\n";
}

// The planted bugs stress can catch (plants.def's `reaches`).
std::string stress_plant_help() {
  std::string out = "(testing) run over a deliberately broken pool:";
  for (const PlantSpec& p : plant_table())
    if (p.reaches_checker("stress")) out += std::string(" ") + p.name + " (" + p.doc + ");";
  return out;
}

}  // namespace

po::options_description stress_options() {
  po::options_description d("stress options");
  // clang-format off
  d.add_options()
      ("mode", po::value<std::string>()->default_value("exchange")->value_name("M"), stress::stress_mode_help().c_str())
      ("threads", number("threads", 4, 1, 64), "worker threads (1..64)")
      ("seconds", optional_number("seconds", 0.001, 86400.0, "S"), "run for S seconds (instead of --ops)")
      ("ops", number<std::uint64_t>("ops", 200000, 1, 10'000'000'000), "allocations in total")
      ("seed", number<std::uint64_t>("seed", 1, 0, std::numeric_limits<std::uint64_t>::max(), "S"), "seed of every worker's choices")
      ("size-mix", po::value<std::string>()->default_value("mixed")->value_name("MIX"),
       "mixed (all classes, 1/16 large) | mid (all classes) | small (2 and 4 KiB) | large (above 52 KiB)")
      ("remote-ratio", number("remote-ratio", 0.75, 0.0, 1.0, "R"), "share of blocks handed to other workers (0..1)")
      ("working-set", number<std::uint64_t>("working-set", 256, 1, 1'000'000),
       "shared slots / queue bound; each worker also keeps N/threads blocks of its own")
      ("rounds", number("rounds", 20, 1, 10'000), "rounds, each ended by a quiescent check")
      ("stats-compiled", number("stats-compiled", 0, 0, 1, "0|1"),
       "allocator flavour: telemetry compiled out (0) or in (1)")
      ("report", po::value<std::string>()->default_value("stress-failure.json")->value_name("FILE"),
       "JSON failure report; the replay input goes beside it as FILE with .remote")
      ("controlled", po::value<std::string>()->value_name("S"),
       "random | pct: instead of free-running threads, stress-shaped schedule programs (--threads 2..8) under "
       "the scheduler, threads switched inside allocator calls; a finding is an exact interleave input")
      ("depth", number("depth", 3, 1, 8, "D"), "--controlled pct: D-1 priority change points per program")
      ("programs", number<std::uint64_t>("programs", 2000, 1, 1'000'000'000),
       "--controlled without --seconds: how many programs")
      ("plant", po::value<std::string>()->value_name("NAME"), stress_plant_help().c_str());
  // clang-format on
  add_env_option(d);
  add_memory_option(d, MemoryKind::c11);  // --controlled: the weakest model the litmus tests prove
  return d;
}

// --controlled: the report is the minimized interleave input beside
// --report's path (its directory), not the parallel run's JSON.
int run_controlled_stress(const po::variables_map& vm) {
  stress::ControlledSpec spec;
  const std::string strategy = vm["controlled"].as<std::string>();
  if (strategy == "pct")
    spec.strategy = ExploreStrategy::pct;
  else if (strategy == "random")
    spec.strategy = ExploreStrategy::random;
  else
    throw UsageError("--controlled '" + strategy + "': expected random or pct");
  spec.threads = get<int>(vm, "threads");
  if (spec.threads < 2 || spec.threads > kMaxThreads)
    throw UsageError(fmt::format("--controlled runs 2..{} threads, not {}", kMaxThreads, spec.threads));
  if (vm.count("seconds")) spec.seconds = get<double>(vm, "seconds");
  spec.programs = get<std::uint64_t>(vm, "programs");
  spec.seed = get<std::uint64_t>(vm, "seed");
  spec.depth = get<int>(vm, "depth");
  spec.memory = memory_option(vm);
  spec.history = history_option(vm);
  spec.config = resolve_config(vm);
  if (vm.count("plant")) set_plant(vm["plant"].as<std::string>(), "stress");
  const PlantSpec* plant = active_plant();
  // The finding goes beside --report: a path the user named is proven
  // writable before the run, the default only needed for a finding.
  if (const std::string report = vm["report"].as<std::string>(); !vm["report"].defaulted()) {
    const std::filesystem::path dir = std::filesystem::path(report).parent_path();
    probe_output_dir(dir.empty() ? "." : dir, "--report " + report);
  }
  std::cout
      << fmt::format(
             "hakfuzz stress --controlled {}: seed={} threads={} {} ops per program memory={} config: {}{} "
             "build: {}\n",
             strategy, spec.seed, spec.threads, spec.ops_per_program, memory_kind_name(spec.memory),
             spec.config.describe(), plant ? fmt::format(" plant={}", plant->name) : "", build_info())
      << std::flush;
  spec.progress = [](std::uint64_t programs, std::uint64_t steps) {
    std::cout << fmt::format("  {} programs, {} steps\n", programs, steps) << std::flush;
  };
  const stress::ControlledResult res = stress::run_controlled(spec);
  std::cout << fmt::format("{} programs, {} schedule steps in {:.1f} s ({:.0f} steps/s)\n", res.programs,
                           res.steps, res.seconds, res.seconds > 0 ? res.steps / res.seconds : 0.0);
  if (!res.finding) {
    std::cout << "clean\n";
    return kExitClean;
  }
  const Minimized& m = *res.finding;
  const std::string dir = std::filesystem::path(vm["report"].as<std::string>()).parent_path().string();
  const std::string path = write_interleave_finding(dir.empty() ? "." : dir, m);
  std::cout
      << fmt::format(
             "FINDING in program {}, minimized in {:.1f} s from {} ops and {} preemptions to {} and {}: {}\n"
             "  written {} (readable trace: {}.txt); replay: hakfuzz repro {}; shrink: hakfuzz "
             "explore --strategy dfs {}\n",
             res.failing_program, res.shrink_seconds, res.found_ops, res.found_preemptions,
             m.program.ops.size(), m.preemptions, m.finding.describe(), path, path, path, path)
      << std::flush;
  return kExitFinding;
}

int run_stress(const po::variables_map& vm) {
  if (vm.count("controlled")) return run_controlled_stress(vm);
  stress::StressSpec spec;
  const std::string mode = vm["mode"].as<std::string>();
  const auto parsed_mode = stress::parse_stress_mode(mode);
  if (!parsed_mode) throw UsageError("--mode '" + mode + "': expected " + stress::stress_mode_help());
  spec.mode = *parsed_mode;
  const std::string mix = vm["size-mix"].as<std::string>();
  const auto parsed_mix = stress::parse_size_mix(mix);
  if (!parsed_mix) throw UsageError("--size-mix '" + mix + "': expected mixed, mid, small or large");
  spec.mix = *parsed_mix;
  spec.threads = get<int>(vm, "threads");
  if (vm.count("seconds")) spec.seconds = get<double>(vm, "seconds");
  spec.ops = get<std::uint64_t>(vm, "ops");
  spec.seed = get<std::uint64_t>(vm, "seed");
  spec.remote_ratio = get<double>(vm, "remote-ratio");
  spec.working_set = get<std::uint64_t>(vm, "working-set");
  spec.rounds = get<int>(vm, "rounds");
  spec.end_empty = true;
  if (vm.count("plant")) set_plant(vm["plant"].as<std::string>(), "stress");
  const PlantSpec* plant = active_plant();
  const Flavour flavour = flavour_of(get<int>(vm, "stats-compiled") != 0);
  const hakmem::Config config = resolve_config(vm);
  const std::string report_path = vm["report"].as<std::string>();
  if (!vm["report"].defaulted())
    probe_output_file(report_path, "--report " + report_path, ParentDir::created_by_writer);

  const stress::RunHeader header{spec.seed, config.describe(), flavour_name(flavour),
                                 plant ? plant->name : "", build_info()};
  std::cout << fmt::format("hakfuzz stress: seed={} config: {} flavour={}{} build: {}\n", header.seed,
                           header.config, header.flavour, plant ? fmt::format(" plant={}", plant->name) : "",
                           header.build)
            << fmt::format("mode={} threads={} {} size-mix={} remote-ratio={} working-set={} rounds={}\n",
                           stress::stress_mode_name(spec.mode), spec.threads,
                           spec.seconds > 0 ? fmt::format("seconds={}", spec.seconds)
                                            : fmt::format("ops={}", spec.ops),
                           stress::size_mix_name(spec.mix), spec.remote_ratio, spec.working_set, spec.rounds)
            << (config.v2_route_mask()
                    ? ""
                    : "note: v2 is disabled, so no free is a v2 remote push "
                      "(HAKMEM_POOL_V2_ENABLED=1 or --env HAKMEM_POOL_V2_ENABLED=1 enables it)\n")
            << std::flush;

  spec.on_crash = [&](const stress::StressResult& partial) {
    report_failure(partial, config, header, spec, report_path, true);
  };
  stress::StressResult res;
  {
    hakmem::PoolOptions o;
    o.env = hakmem::map_env(resolve_env(vm));
    o.arena_bytes = kArenaBytes;
    const std::unique_ptr<PoolUnderTest> pool = make_pool(flavour, std::move(o), plant);
    res = stress::run_parallel(*pool, spec);
  }
  print_summary(res);
  if (res.findings.empty()) {
    std::cout << "clean\n";
    return kExitClean;
  }
  report_failure(res, config, header, spec, report_path, false);
  return kExitFinding;
}

}  // namespace hakfuzz::cli
