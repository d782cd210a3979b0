// `hakfuzz stress`: one parallel stress run (stress/stress_driver.h) on a
// pool of the chosen flavour and environment; on a finding, the last ops of
// every worker, a JSON report and a `remote` replay input.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/build_info.h"
#include "cli/commands.h"
#include "fuzz/program.h"
#include "hakmem/variants.h"
#include "stress/failure_report.h"
#include "stress/replay.h"
#include "stress/stress_driver.h"

namespace hakfuzz::cli {

namespace {

constexpr std::size_t kArenaBytes = std::size_t{4} << 30;  // reserved only; slabs commit on use

// NAME=VALUE words, each NAME a flag of the table; the values are checked by
// parse_config (a bad one is a configuration error, exit 2).
std::vector<std::pair<std::string, std::string>> parse_env_words(const std::vector<std::string>& words) {
  std::vector<std::pair<std::string, std::string>> env;
  for (const std::string& w : words) {
    const auto eq = w.find('=');
    if (eq == std::string::npos) throw UsageError("--env '" + w + "': expected NAME=VALUE");
    std::string name = w.substr(0, eq);
    bool known = false;
    for (const hakmem::FlagSpec& f : hakmem::flag_table()) known |= !f.build_switch && name == f.name;
    if (!known)
      throw UsageError("--env '" + w + "': " + name + " is not an environment flag (see hakfuzz flags)");
    env.emplace_back(std::move(name), w.substr(eq + 1));
  }
  return env;
}

// Findings, each worker's last ops, the replay input and the JSON report.
// After a crash (called from the signal handler) the replay is written but
// not run: this process's state is gone.
void report_failure(const stress::DriverResult& res, const hakmem::Config& config,
                    const stress::RunHeader& header, const stress::DriverSpec& spec,
                    const std::string& report_path, bool crashed) {
  std::cout << fmt::format("\n{} finding(s):\n", res.findings.size());
  for (const std::string& f : res.findings) std::cout << "  " << f << "\n";
  for (std::size_t w = 0; w < res.last_ops.size(); ++w) {
    std::cout << fmt::format("last ops of worker {}:\n", w);
    for (const stress::LoggedOp& op : res.last_ops[w]) std::cout << "  " << stress::describe_op(op) << "\n";
  }
  std::cout << std::flush;
  const stress::Replay replay = stress::build_replay(res.window, config, spec.threads);
  const std::string replay_file = stress::replay_path_for(report_path);
  if (const auto dir = std::filesystem::path(report_path).parent_path(); !dir.empty())
    std::filesystem::create_directories(dir);
  {
    const std::vector<std::uint8_t> bytes = encode(replay.program);
    std::ofstream out(replay_file, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + replay_file);
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

template <class P>
int run_flavour(stress::DriverSpec spec, const std::vector<std::pair<std::string, std::string>>& env,
                const std::string& report_path) {
  const hakmem::Config config = hakmem::parse_config(hakmem::map_env(env));
  const stress::RunHeader header{spec.seed, config.describe(), P::kFlavorName, build_info()};
  std::cout << fmt::format("hakfuzz stress: seed={} config: {} flavour={} build: {}\n", header.seed,
                           header.config, header.flavour, header.build)
            << fmt::format("mode={} threads={} {} size-mix={} remote-ratio={} working-set={} rounds={}\n",
                           stress::stress_mode_name(spec.mode), spec.threads,
                           spec.seconds > 0 ? fmt::format("seconds={}", spec.seconds)
                                            : fmt::format("ops={}", spec.ops),
                           stress::size_mix_name(spec.mix), spec.remote_ratio, spec.working_set, spec.rounds)
            << (config.v2_route_mask() ? ""
                                       : "note: v2 is disabled, so no free is a v2 remote push "
                                         "(--env HAKMEM_POOL_V2_ENABLED=1 enables it)\n")
            << std::flush;

  spec.on_crash = [&](const stress::DriverResult& partial) {
    report_failure(partial, config, header, spec, report_path, true);
  };
  stress::DriverResult res;
  {
    hakmem::PoolOptions o;
    o.env = hakmem::map_env(env);
    o.arena_bytes = kArenaBytes;
    P pool(o);
    res = stress::run_driver(pool, spec);
  }
  for (const stress::RoundReport& r : res.rounds)
    std::cout << fmt::format("round {}: {} allocs, {} frees, {} live blocks ({} bytes), RSS {} KiB\n",
                             r.round, r.allocs, r.frees, r.live_blocks, r.live_bytes, r.rss_kb);
  const std::uint64_t remote = res.tally.remote_total();
  std::cout << fmt::format(
      "{} ops in {:.2f} s ({:.0f} ops/s); {} blocks handed off; frees: {} of another worker's block, {} v2 "
      "remote ({:.0f}%), {} rejected; "
      "RSS peak {} KiB, final {} KiB\n"
      "memory: {}\n",
      res.ops, res.seconds, res.seconds > 0 ? res.ops / res.seconds : 0.0, res.handed_off, res.foreign_frees,
      remote, res.tally.frees ? 100.0 * remote / res.tally.frees : 0.0, res.tally.rejected, res.peak_rss_kb,
      res.final_rss_kb, res.rss_verdict);
  if (res.lockstep_lost)
    std::cout << "note: a worker stalled for 2 s; the rest of the run was not in lockstep\n";
  if (res.findings.empty()) {
    std::cout << "clean\n";
    return kExitClean;
  }

  report_failure(res, config, header, spec, report_path, false);
  return kExitFinding;
}

}  // namespace

po::options_description stress_options() {
  po::options_description d("stress options");
  // clang-format off
  d.add_options()
      ("mode", po::value<std::string>()->default_value("exchange")->value_name("M"),
       "exchange (shared atomic slots) | handoff (bounded concurrent queue) | churn (std::threads that exit each round)")
      ("threads", po::value<int>()->default_value(4)->value_name("N"), "worker threads (1..64)")
      ("seconds", po::value<double>()->value_name("S"), "run for S seconds (instead of --ops)")
      ("ops", po::value<std::uint64_t>()->default_value(200000)->value_name("N"), "allocations in total")
      ("seed", po::value<std::uint64_t>()->default_value(1)->value_name("S"), "seed of every worker's choices")
      ("size-mix", po::value<std::string>()->default_value("mixed")->value_name("MIX"),
       "mixed (all classes, 1/16 large) | mid (all classes) | small (2 and 4 KiB) | large (above 52 KiB)")
      ("remote-ratio", po::value<double>()->default_value(0.75)->value_name("R"),
       "share of blocks handed to other workers (0..1)")
      ("working-set", po::value<std::size_t>()->default_value(256)->value_name("N"),
       "shared slots / queue bound; each worker also keeps N/threads blocks of its own")
      ("rounds", po::value<int>()->default_value(4)->value_name("N"), "rounds, each ended by a quiescent check")
      ("env", po::value<std::vector<std::string>>()->value_name("NAME=VALUE"),
       "allocator environment flag for the pool (repeatable)")
      ("stats-compiled", po::value<int>()->default_value(0)->value_name("0|1"),
       "allocator flavour: telemetry compiled out (0) or in (1)")
      ("report", po::value<std::string>()->default_value("stress-failure.json")->value_name("FILE"),
       "JSON failure report; the replay input goes beside it as FILE with .remote");
  // clang-format on
  // Self-test of the failure path only: breaks one canary on purpose.
  d.add_options()("plant", po::value<std::string>()->value_name("canary"), "(testing) plant a bug: canary");
  return d;
}

int run_stress(const po::variables_map& vm) {
  stress::DriverSpec spec;
  const std::string mode = vm["mode"].as<std::string>();
  const auto parsed_mode = stress::parse_stress_mode(mode);
  if (!parsed_mode) throw UsageError("--mode '" + mode + "': expected exchange, handoff or churn");
  spec.mode = *parsed_mode;
  const std::string mix = vm["size-mix"].as<std::string>();
  const auto parsed_mix = stress::parse_size_mix(mix);
  if (!parsed_mix) throw UsageError("--size-mix '" + mix + "': expected mixed, mid, small or large");
  spec.mix = *parsed_mix;
  spec.threads = vm["threads"].as<int>();
  if (spec.threads < 1 || spec.threads > 64) throw UsageError("--threads must be in 1..64");
  if (vm.count("seconds")) {
    spec.seconds = vm["seconds"].as<double>();
    if (!(spec.seconds > 0 && spec.seconds <= 86400)) throw UsageError("--seconds must be in (0, 86400]");
  }
  spec.ops = vm["ops"].as<std::uint64_t>();
  if (spec.ops < 1 || spec.ops > 10'000'000'000ull) throw UsageError("--ops must be in 1..10000000000");
  spec.seed = vm["seed"].as<std::uint64_t>();
  spec.remote_ratio = vm["remote-ratio"].as<double>();
  if (!(spec.remote_ratio >= 0 && spec.remote_ratio <= 1)) throw UsageError("--remote-ratio must be in 0..1");
  spec.working_set = vm["working-set"].as<std::size_t>();
  if (spec.working_set < 1 || spec.working_set > 1'000'000)
    throw UsageError("--working-set must be in 1..1000000");
  spec.rounds = vm["rounds"].as<int>();
  if (spec.rounds < 1 || spec.rounds > 10'000) throw UsageError("--rounds must be in 1..10000");
  if (vm.count("plant")) {
    if (vm["plant"].as<std::string>() != "canary") throw UsageError("--plant: only 'canary' exists");
    spec.plant_canary = true;
  }
  const int stats_compiled = vm["stats-compiled"].as<int>();
  if (stats_compiled != 0 && stats_compiled != 1) throw UsageError("--stats-compiled must be 0 or 1");
  const auto env = parse_env_words(vm.count("env") ? vm["env"].as<std::vector<std::string>>()
                                                   : std::vector<std::string>{});
  const std::string report = vm["report"].as<std::string>();
  return stats_compiled ? run_flavour<hakmem::PoolStatsOn>(spec, env, report)
                        : run_flavour<hakmem::PoolStatsOff>(spec, env, report);
}

}  // namespace hakfuzz::cli
