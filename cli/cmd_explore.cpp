// `hakfuzz explore FILE|DIR...`: every interleaving (dfs, preemption-bound),
// or many seeded ones (pct, random), of each input's schedule program, with
// threads switched inside allocator calls. The first finding is shrunk
// (fewer preemptions, fewer ops) and written as an `interleave` input that
// `hakfuzz repro` replays exactly.
#include <fmt/format.h>
#include <unistd.h>

#include <iostream>

#include "cli/build_info.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/output_paths.h"
#include "explore/explore.h"
#include "fuzz/inputs.h"
#include "fuzz/interleave_input.h"
#include "fuzz/targets.h"

namespace hakfuzz::cli {

namespace {

ExploreStrategy parse_strategy(const std::string& s) {
  for (ExploreStrategy x : {ExploreStrategy::dfs, ExploreStrategy::pct, ExploreStrategy::random})
    if (s == explore_strategy_name(x)) return x;
  throw UsageError("--strategy '" + s + "': expected dfs, pct or random");
}

// The schedule program an input holds: a `remote` schedule, or the program
// of an `interleave` input.
Program program_of(const Target& t, const std::vector<std::uint8_t>& bytes) {
  if (std::string_view(t.name) == "remote") return decode(bytes, true);
  if (std::string_view(t.name) == "interleave") return decode_interleave(bytes).program;
  throw UsageError(std::string("explore takes remote or interleave inputs, not ") + t.name);
}

}  // namespace

po::options_description explore_options() {
  po::options_description d("explore options");
  // clang-format off
  d.add_options()
      ("target", po::value<std::string>(), "remote or interleave (default: from the path)")
      ("strategy", po::value<std::string>()->default_value("dfs")->value_name("S"),
       "dfs (every schedule within --preemptions) | pct | random")
      ("preemptions", number<int>("preemptions", 2, 0, 8, "P"), "dfs: at most P preemptions per schedule")
      ("reduction", po::value<std::string>()->default_value("hb")->value_name("R"),
       "dfs: none (every schedule within the bound) | hb (the same, cut where a run reaches a state "
       "an earlier one reached: one happens-before order of the steps so far, no fewer preemptions "
       "left) | dpor (dynamic partial-order reduction and sleep sets, no preemption bound)")
      ("depth", number<int>("depth", 3, 1, 8, "D"), "pct: D-1 priority change points per run")
      ("runs", number<std::uint64_t>("runs", 0, 0, 100'000'000), "runs per input; 0: dfs until exhausted, 1000 for pct/random")
      ("seconds", number<double>("seconds", 0, 0, 86400, "S"), "stop each input after S seconds; 0: no limit")
      ("seed", number<std::uint64_t>("seed", 1, 0, UINT64_MAX, "S"), "pct/random: the first run's seed")
      ("out", po::value<std::string>()->default_value("explore-findings")->value_name("DIR"),
       "where a finding's minimized interleave input goes")
      ("no-minimize", po::bool_switch(), "write the failing schedule as found")
      ("plant", po::value<std::string>(), "(testing) explore a pool with a planted bug (see hakfuzz fuzz --help)");
  // clang-format on
  return d;
}

int run_explore(const po::variables_map& vm) {
  if (!vm.count("inputs")) throw UsageError("give at least one FILE or DIR");
  ExploreOptions o;
  o.strategy = parse_strategy(vm["strategy"].as<std::string>());
  o.preemptions = get<int>(vm, "preemptions");
  const std::string reduction = vm["reduction"].as<std::string>();
  if (const std::optional<Reduction> r = parse_reduction(reduction))
    o.reduction = *r;
  else
    throw UsageError("--reduction '" + reduction + "': expected none, hb or dpor");
  o.depth = get<int>(vm, "depth");
  o.max_runs = get<std::uint64_t>(vm, "runs");
  o.max_seconds = get<double>(vm, "seconds");
  o.seed = get<std::uint64_t>(vm, "seed");
  if (vm.count("plant")) set_plant(vm["plant"].as<std::string>(), "interleave");
  o.run = interleave_target_options(false);
  std::optional<std::string> target_flag;
  if (vm.count("target")) target_flag = vm["target"].as<std::string>();
  const auto files = collect_inputs(vm["inputs"].as<std::vector<std::string>>());
  // A finding is written after its minimization: a directory the user named
  // is proven writable first. The default one is only needed for a finding.
  if (!vm["out"].defaulted())
    probe_output_dir(vm["out"].as<std::string>(), "--out " + vm["out"].as<std::string>());
  std::cout << fmt::format("hakfuzz explore: {} input(s), strategy {}{}; {}\n", files.size(),
                           explore_strategy_name(o.strategy),
                           o.strategy == ExploreStrategy::dfs
                               ? o.reduction == Reduction::dpor
                                     ? std::string(" (reduction dpor, no preemption bound)")
                                     : fmt::format(" (at most {} preemptions, reduction {})", o.preemptions,
                                                   reduction_name(o.reduction))
                           : o.strategy == ExploreStrategy::pct
                               ? fmt::format(" (depth {}, seed {})", o.depth, o.seed)
                               : fmt::format(" (seed {})", o.seed),
                           build_info())
            << std::flush;
  const bool tty = isatty(fileno(stdout));
  std::size_t failed = 0, total_runs = 0;
  for (const auto& file : files) {
    const Program program = program_of(resolve_target(target_flag, file), read_bytes(file));
    o.progress = [&](const ExploreProgress& p) {
      const std::string line = fmt::format("  {}: {} interleavings, {} steps, {:.0f} s", file.string(),
                                           p.runs, p.steps, p.seconds);
      if (tty)
        std::cout << "\r" << line << std::flush;
      else
        std::cout << line << "\n" << std::flush;
    };
    const Exploration e = explore(program, o);
    if (tty) std::cout << "\r\033[K";
    total_runs += e.runs;
    const double rate = e.seconds > 0 ? static_cast<double>(e.steps) / e.seconds : 0;
    if (!e.finding) {
      std::cout << fmt::format(
          "{}: {} interleavings explored{}{}, all clean ({} steps, {:.1f} s, {:.0f} steps/s)\n",
          file.string(), e.runs, e.exhausted ? " (every one within the bound)" : "",
          e.cut ? fmt::format(", {} cut short", e.cut) : "", e.steps, e.seconds, rate);
      continue;
    }
    ++failed;
    std::cout << fmt::format("{}: FINDING after {} interleavings ({:.1f} s): {}\n", file.string(), e.runs,
                             e.seconds, e.finding->describe());
    Minimized m{program, e.schedule, *e.finding, e.preemptions, 0};
    if (!vm["no-minimize"].as<bool>()) {
      m = minimize(program, e.schedule, *e.finding, o.run);
      std::cout << fmt::format("  minimized in {} runs: {} -> {} ops, {} -> {} preemptions: {}\n", m.runs,
                               program.ops.size(), m.program.ops.size(), e.preemptions, m.preemptions,
                               m.finding.describe());
    }
    const std::string path = write_interleave_finding(vm["out"].as<std::string>(), m);
    std::cout << fmt::format("  written {} (readable trace: {}.txt); replay: hakfuzz repro {}\n", path, path,
                             path);
  }
  std::cout << fmt::format("{} input(s), {} interleavings, {} with a finding\n", files.size(), total_runs,
                           failed)
            << std::flush;
  return failed ? kExitFinding : kExitClean;
}

}  // namespace hakfuzz::cli
