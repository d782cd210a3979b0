// `hakfuzz explore FILE|DIR...`: every interleaving (dfs, preemption-bound),
// or many seeded ones (pct, random), of each input's schedule program, with
// threads switched inside allocator calls. The first finding is shrunk
// (fewer preemptions, fewer ops) and written as an `interleave` input that
// `hakfuzz repro` replays exactly.
#include <fmt/format.h>
#include <unistd.h>

#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cli/build_info.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/output_paths.h"
#include "explore/explore.h"
#include "explore/point_coverage.h"
#include "explore/report.h"
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

}  // namespace

Program schedule_program_of(const Target& t, const std::vector<std::uint8_t>& bytes) {
  if (std::string_view(t.name) == "remote") return decode(bytes, true);
  if (std::string_view(t.name) == "interleave") return decode_interleave(bytes).program;
  throw UsageError(std::string("takes remote or interleave inputs (schedule programs), not ") + t.name);
}

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
      ("shard", po::value<std::string>()->default_value("1/1")->value_name("K/N"),
       "dfs: run part K of N of the search (every interleaving in exactly one part; for several machines)")
      ("jobs", number<int>("jobs", 1, 1, 64), "dfs: the search in N parts, N processes on this machine, merged")
      ("json", po::value<std::string>()->value_name("FILE"),
       "write the report (per input: interleavings, steps, cut, findings; the bound, reduction, memory model and "
       "part) to FILE")
      ("merge", po::bool_switch(), "run nothing: merge the --json reports given as inputs, the parts of one search")
      ("point-coverage", po::bool_switch(),
       "count the steps at each schedule point over every explored interleaving; list the points none reached "
       "(not with --jobs)")
      ("weaken", po::value<std::string>()->value_name("POINT:ORDER"),
       "run one schedule point's atomics with a weaker order in the memory model (as audit-atomics does; "
       "a finding replays with hakfuzz repro --weaken)")
      ("plant", po::value<std::string>(), "(testing) explore a pool with a planted bug (see hakfuzz fuzz --help)");
  // clang-format on
  // C11 by default: hb stays sound under it (CutCheck), and it is the model
  // the allocator's orders are written for.
  add_memory_option(d, MemoryKind::c11);
  return d;
}

namespace {

ExploreOptions options_of(const po::variables_map& vm) {
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
  const auto [k, n] = parse_shard(vm["shard"].as<std::string>());
  o.shard = {k, n};
  if (o.shard.n > 1 && o.strategy != ExploreStrategy::dfs)
    throw UsageError("--shard and --jobs split a dfs only");
  if (vm.count("weaken")) set_weakening(vm["weaken"].as<std::string>());
  o.run = interleave_target_options(false);
  o.run.memory = memory_option(vm);
  o.run.history = history_option(vm);
  // dpor's races know no reads-from: asked for without a model, it runs sc.
  if (o.reduction == Reduction::dpor && vm["memory"].defaulted()) o.run.memory = MemoryKind::sc;
  o.reduction = reduction_under(o.run.memory, o.reduction);
  return o;
}

std::string describe_search(const ExploreOptions& o) {
  if (o.strategy == ExploreStrategy::pct) return fmt::format("pct (depth {}, seed {})", o.depth, o.seed);
  if (o.strategy == ExploreStrategy::random) return fmt::format("random (seed {})", o.seed);
  const std::string part =
      (o.shard.n > 1 ? fmt::format(", part {}/{}", o.shard.k, o.shard.n) : "") +
      fmt::format(", memory {}", memory_kind_name(o.run.memory)) +
      (o.run.history != kDefaultStoreHistory ? fmt::format(" (history {})", o.run.history) : "");
  if (o.reduction == Reduction::dpor) return "dfs (reduction dpor, no preemption bound" + part + ")";
  return fmt::format("dfs (at most {} preemptions, reduction {}{})", o.preemptions,
                     reduction_name(o.reduction), part);
}

void print_input(const ExploredInput& in) {
  const double rate = in.seconds > 0 ? static_cast<double>(in.steps) / in.seconds : 0;
  if (!in.finding) {
    std::cout << fmt::format(
        "{}: {} interleavings explored{}{}, all clean ({} steps, {:.1f} s, {:.0f} steps/s)\n", in.file,
        in.interleavings, in.exhausted ? " (every one within the bound)" : "",
        in.cut ? fmt::format(", {} cut short", in.cut) : "", in.steps, in.seconds, rate);
    return;
  }
  std::cout << fmt::format("{}: FINDING after {} interleavings ({:.1f} s): {}\n", in.file, in.interleavings,
                           in.seconds, in.finding->describe());
}

void print_written(const ExploredInput& in, const Weakening& weaken) {
  if (in.finding_file.empty()) return;
  const std::string flag = weaken.point >= 0 ? "--weaken " + weakening_text(weaken) + " " : "";
  std::cout << fmt::format("  written {} (readable trace: {}.txt); replay: hakfuzz repro {}{}\n",
                           in.finding_file, in.finding_file, flag, in.finding_file);
}

int verdict(const ExploreReport& r) {
  std::size_t interleavings = 0;
  for (const ExploredInput& in : r.inputs) interleavings += in.interleavings;
  std::cout << fmt::format("{} input(s), {} interleavings, {} with a finding\n", r.inputs.size(),
                           interleavings, r.findings())
            << std::flush;
  return r.findings() ? kExitFinding : kExitClean;
}

// One input: explored, its finding minimized and written.
ExploredInput explore_one(const std::filesystem::path& file, const Program& program, ExploreOptions o,
                          const po::variables_map& vm, bool print) {
  const bool tty = isatty(fileno(stdout));
  const std::string who = o.shard.n > 1 ? fmt::format(" [part {}/{}]", o.shard.k, o.shard.n) : "";
  o.progress = [&](const ExploreProgress& p) {
    const std::string line = fmt::format("  {}{}: {} interleavings, {} steps, {:.0f} s", file.string(), who,
                                         p.runs, p.steps, p.seconds);
    std::cout << (tty ? "\r" : "") << line << (tty ? "" : "\n") << std::flush;
  };
  const Exploration e = explore(program, o);
  if (tty) std::cout << "\r\033[K";
  ExploredInput in{file.string(), e.runs, e.steps, e.cut, e.exhausted, e.seconds, e.finding, ""};
  if (print) print_input(in);
  if (!e.finding) return in;
  Minimized m{program, e.schedule, *e.finding, e.preemptions, 0};
  if (!vm["no-minimize"].as<bool>()) {
    m = minimize(program, e.schedule, *e.finding, o.run);
    if (print)
      std::cout << fmt::format("  minimized in {} runs: {} -> {} ops, {} -> {} preemptions: {}\n", m.runs,
                               program.ops.size(), m.program.ops.size(), e.preemptions, m.preemptions,
                               m.finding.describe());
  }
  in.finding_file = write_interleave_finding(vm["out"].as<std::string>(), m);
  if (print) print_written(in, o.run.weaken);
  return in;
}

ExploreReport explore_all(const po::variables_map& vm, const ExploreOptions& o,
                          const std::vector<std::filesystem::path>& files, bool print) {
  std::optional<std::string> target_flag;
  if (vm.count("target")) target_flag = vm["target"].as<std::string>();
  ExploreReport report{build_info(), o.strategy,   o.preemptions, o.reduction, o.seed,
                       o.shard,      o.run.memory, o.run.history, {}};
  for (const auto& file : files) {
    const Program program = schedule_program_of(resolve_target(target_flag, file), read_bytes(file));
    report.inputs.push_back(explore_one(file, program, o, vm, print));
  }
  return report;
}

void write_json(const po::variables_map& vm, const ExploreReport& r) {
  if (!vm.count("json")) return;
  const std::string path = vm["json"].as<std::string>();
  write_output_file(path, to_json(r), "--json " + path);
}

// --jobs N: the parts of the search in N child processes (the scheduler is
// one per process), each writing its report; merged here.
ExploreReport explore_in_parts(const po::variables_map& vm, ExploreOptions o,
                               const std::vector<std::filesystem::path>& files, int jobs) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    fmt::format("hakfuzz-explore-{}", static_cast<long>(::getpid()));
  std::filesystem::create_directories(dir);
  std::vector<pid_t> children;
  for (int k = 1; k <= jobs; ++k) {
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      o.shard = {k, jobs};
      std::ofstream(dir / fmt::format("{}.json", k)) << to_json(explore_all(vm, o, files, false));
      std::cout << std::flush;
      std::_Exit(0);
    }
    children.push_back(pid);
  }
  std::vector<ExploreReport> parts;
  for (pid_t pid : children) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("an explore part died");
  }
  for (int k = 1; k <= jobs; ++k)
    parts.push_back(report_from_json(read_text(dir / fmt::format("{}.json", k))));
  std::filesystem::remove_all(dir);
  return merge_reports(parts);
}

int run_merge(const po::variables_map& vm) {
  std::vector<ExploreReport> parts;
  for (const auto& path : vm["inputs"].as<std::vector<std::string>>()) {
    try {
      parts.push_back(report_from_json(read_text(path)));
    } catch (const ReportError& e) {
      throw UsageError(path + ": " + e.what());
    }
  }
  ExploreReport merged;
  try {
    merged = merge_reports(parts);
  } catch (const ReportError& e) {
    throw UsageError(std::string("--merge: ") + e.what());
  }
  std::cout << fmt::format("hakfuzz explore --merge: {} parts of one search, {} input(s)\n", parts.size(),
                           merged.inputs.size());
  for (const ExploredInput& in : merged.inputs) print_input(in), print_written(in, {});
  write_json(vm, merged);
  return verdict(merged);
}

}  // namespace

int run_explore(const po::variables_map& vm) {
  if (!vm.count("inputs")) throw UsageError("give at least one FILE or DIR");
  if (vm["merge"].as<bool>() && vm["point-coverage"].as<bool>())
    throw UsageError("--point-coverage counts what this run explores: not with --merge");
  if (vm["merge"].as<bool>()) return run_merge(vm);
  ExploreOptions o = options_of(vm);
  const bool point_coverage = vm["point-coverage"].as<bool>();
  PointCoverage points;
  if (point_coverage) o.each_run = [&points](const InterleaveResult& r) { points.add(r); };
  if (vm.count("plant")) set_plant(vm["plant"].as<std::string>(), "interleave");
  const auto files = collect_inputs(vm["inputs"].as<std::vector<std::string>>());
  // A finding is written after its minimization: a directory the user named
  // is proven writable first. The default one is only needed for a finding.
  if (!vm["out"].defaulted())
    probe_output_dir(vm["out"].as<std::string>(), "--out " + vm["out"].as<std::string>());
  if (vm.count("json"))
    probe_output_file(vm["json"].as<std::string>(), "--json " + vm["json"].as<std::string>(),
                      ParentDir::must_exist);
  const int jobs = get<int>(vm, "jobs");
  if (jobs > 1 && (o.shard.n > 1 || o.strategy != ExploreStrategy::dfs))
    throw UsageError("--jobs splits one whole dfs: not with --shard, nor pct/random");
  // The parts run in other processes, whose reports carry no point counts.
  if (jobs > 1 && point_coverage) throw UsageError("--point-coverage counts in one process: not with --jobs");
  std::cout << fmt::format("hakfuzz explore: {} input(s), {}{}; {}\n", files.size(), describe_search(o),
                           jobs > 1 ? fmt::format(", {} jobs", jobs) : "", build_info())
            << std::flush;
  const ExploreReport report =
      jobs > 1 ? explore_in_parts(vm, o, files, jobs) : explore_all(vm, o, files, true);
  if (jobs > 1)
    for (const ExploredInput& in : report.inputs) print_input(in), print_written(in, o.run.weaken);
  write_json(vm, report);
  if (point_coverage) std::cout << points.report();
  return verdict(report);
}

}  // namespace hakfuzz::cli
