// `hakfuzz sweep`: every build switch x environment config from the flag
// table (or the --quick covering subset, one --shard of either, or one
// --cell), each with the seeded program through the runner, the parallel
// stress on the engine and the path proof; then the equivalence check, the
// summary table and the reports. `--merge` reads shard reports instead of
// running cells and ends the same way: one equivalence check, one summary
// table, one set of report writers.
#include <fmt/format.h>
#include <tbb/info.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <limits>

#include "cli/build_info.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/output_paths.h"
#include "cli/progress.h"
#include "oracle/plants.h"
#include "support/digest.h"
#include "support/parse.h"
#include "sweep/exec_cell.h"
#include "sweep/merge.h"
#include "sweep/report.h"
#include "sweep/report_json.h"
#include "sweep/sweep.h"

namespace hakfuzz::cli {

namespace {

// Measured on the 2-core dev machine (g++ RelWithDebInfo): the full
// 1024-cell matrix takes about 41 s with these, --quick about 5.6 s. At a few hundred ops
// some cells turn inactive (a 52 KiB class that never refills): the proof
// in cell.cpp, not this number, is what keeps a short run honest.
constexpr std::uint64_t kDefaultOps = 20000;
// The runner keeps every freed block as a double-free candidate, so a
// program's memory grows with its length.
constexpr std::uint64_t kMaxOps = 1'000'000;
constexpr int kDefaultThreads = 2;
constexpr std::size_t kMaxListed = 20;

// A report path that cannot be written is a usage error, found before the
// sweep runs rather than after.
void probe_reports(const po::variables_map& vm) {
  for (const char* option : {"json", "junit", "html"})
    if (vm.count(option)) {
      const std::string& path = vm[option].as<std::string>();
      probe_output_file(path, fmt::format("--{} {}", option, path), ParentDir::must_exist);
    }
}

// The matrix sets every flag per cell (in memory, or in an --exec child's
// environment): flags the user exported reach no cell.
void note_overridden_env(const po::variables_map& vm) {
  std::string exported;
  for (const auto& [name, value] : resolve_env(vm)) exported += fmt::format(" {}={}", name, value);
  if (!exported.empty())
    std::cout << "note: the sweep's matrix sets every HAKMEM_POOL_* flag per cell, overriding the exported"
              << exported << " (--exec children get each cell's values too)\n";
}

std::string sweep_plant_help() {
  std::string names;
  for (const PlantSpec& p : plant_table())
    if (p.reaches_checker("sweep")) names += (names.empty() ? "" : ", ") + std::string(p.name);
  return "(testing) run every cell over a deliberately broken pool, one of: " + names;
}

// A merge takes the run's settings from its reports: a run option beside
// --merge would be silently ignored, so it is refused.
void refuse_run_options(const po::variables_map& vm) {
  for (const char* name : {"quick", "shard", "threads", "jobs", "seed", "ops", "exec", "cell", "plant"})
    if (vm.count(name) && !vm[name].defaulted())
      throw UsageError(
          fmt::format("--merge reads seed, ops, threads and selection from the reports; --{} "
                      "belongs to a run",
                      name));
}

// The end of a run and of a merge alike: the equivalence check over every
// result, the summary table, the not-passed listing, the reports and the
// verdict. For a merge (`merged`) the time is the shards' summed wall time.
int report_verdict(const po::variables_map& vm, const sweep::Matrix& matrix, const sweep::RunInfo& info,
                   const std::vector<sweep::Cell>& selection, std::vector<sweep::CellResult>& results,
                   bool merged) {
  const std::size_t broken_keys = sweep::check_equivalence(matrix, results);
  std::size_t passed = 0;
  for (const sweep::CellResult& r : results) passed += r.verdict() == sweep::CellStatus::pass;
  std::cout << "\n" << sweep::summary_table(matrix, results);
  if (const std::string listing = sweep::not_passed_listing(matrix, info, results, kMaxListed);
      !listing.empty())
    std::cout << "\n" << listing;
  if (broken_keys) std::cout << fmt::format("{} equivalence classes disagree on their digest\n", broken_keys);
  if (vm.count("json")) sweep::write_json(vm["json"].as<std::string>(), matrix, info, results);
  if (vm.count("junit")) sweep::write_junit(vm["junit"].as<std::string>(), matrix, info, results);
  if (vm.count("html")) sweep::write_html(vm["html"].as<std::string>(), matrix, info, selection, results);
  std::cout << fmt::format("\n{} passed, {} failed ({} configs in {:.1f} s{})\n", passed,
                           results.size() - passed, results.size(), info.wall_seconds,
                           merged ? " of shard time" : "");
  return passed == results.size() ? kExitClean : kExitFinding;
}

int run_merge(const po::variables_map& vm) {
  refuse_run_options(vm);
  probe_reports(vm);
  const std::vector<std::string> paths = vm["merge"].as<std::vector<std::string>>();
  sweep::Matrix matrix;
  sweep::MergedRun merged;
  try {
    std::vector<sweep::ShardReport> reports;
    for (const std::string& path : paths) reports.push_back(sweep::read_report(matrix, path));
    merged = sweep::merge_reports(matrix, reports);
  } catch (const sweep::ReportError& e) {
    std::cerr << "hakfuzz sweep --merge: error: " << e.what()
              << (std::string_view(e.what()).ends_with('\n') ? "" : "\n");
    return kExitUsage;
  }
  const sweep::RunInfo& info = merged.info;
  std::cout << fmt::format(
      "hakfuzz sweep --merge: {} reports (shards {}), seed={} ops={} threads={} cells={} ({} {} of {}){} "
      "build {}\n",
      paths.size(), info.shard, info.seed, info.ops, info.threads, merged.results.size(), info.selection,
      merged.selection.size(), matrix.size(), info.plant.empty() ? "" : " plant=" + info.plant, info.build);
  return report_verdict(vm, matrix, info, merged.selection, merged.results, true);
}

}  // namespace

po::options_description sweep_options() {
  const std::size_t last_cell = sweep::Matrix().size() - 1;
  po::options_description d("sweep options");
  // clang-format off
  d.add_options()
      ("quick", po::bool_switch(), "a covering subset instead of the full matrix: every small flag's values "
                                   "against each other, masks cut to none, all, one bit and all but one bit")
      ("shard", po::value<std::string>()->default_value("1/1")->value_name("K/N"), "run shard K of N (1-based); shards are "
                                                                "disjoint and together cover the selection")
      ("cell", optional_number<std::uint64_t>("cell", 0, last_cell, "INDEX"),
       "run only the cell at INDEX of the full matrix (the replay command the reports print)")
      // Two at least: with one there is no remote free, and every v2 cell would (rightly) be inactive.
      ("threads", number("threads", kDefaultThreads, 2, 64), "stress worker threads per cell (2..64)")
      ("jobs", number("jobs", 0, 0, 256), "cells run at once; 0 = one per hardware thread")
      ("seed", number<std::uint64_t>("seed", 1, 0, std::numeric_limits<std::uint64_t>::max(), "S"),
       "seed of the seeded program and the stress")
      ("ops", number<std::uint64_t>("ops", kDefaultOps, 100, kMaxOps),
       "operations per cell and phase: program ops, stress allocations")
      ("json", po::value<std::string>()->value_name("FILE"), "write one JSON entry per cell to FILE (what --merge reads)")
      ("junit", po::value<std::string>()->value_name("FILE"), "write a JUnit XML report to FILE")
      ("html", po::value<std::string>()->value_name("FILE"),
       "write a self-contained HTML report to FILE: a heatmap of the matrix, the summary, each cell that did not "
       "pass with its replay command")
      ("merge", po::value<std::vector<std::string>>()->multitoken()->value_name("FILE..."),
       "run nothing: merge the --json reports of shards (same build, seed, ops, threads, selection; every cell "
       "exactly once), check equivalence across them, print the summary and write --json/--junit/--html; "
       "exit 2 when the reports do not fit together")
      ("exec", po::bool_switch(), "run each cell in a child process with the flags set in its real environment "
                                  "(the pool reads them through getenv)")
      ("plant", po::value<std::string>()->value_name("NAME"), sweep_plant_help().c_str())
      ("exec-child", optional_number<std::uint64_t>("exec-child", 0, last_cell, "INDEX"),
       "(internal) run one cell, print its result as JSON");
  // clang-format on
  return d;
}

int run_sweep(const po::variables_map& vm) {
  if (vm.count("merge")) return run_merge(vm);
  const auto [shard_k, shard_n] = parse_shard(vm["shard"].as<std::string>());
  sweep::SweepOptions opts;
  opts.cell.seed = get<std::uint64_t>(vm, "seed");
  opts.cell.ops = get<std::uint64_t>(vm, "ops");
  opts.cell.threads = get<int>(vm, "threads");
  opts.jobs = get<int>(vm, "jobs");
  if (vm.count("plant")) set_plant(vm["plant"].as<std::string>(), "sweep");
  if (vm.count("exec-child")) {
    // One cell of a `--exec` parent: the flags (and the plant) are in this process's environment.
    sweep::Matrix matrix;
    opts.cell.process_env = true;
    const sweep::Cell cell = matrix.cell(get<std::uint64_t>(vm, "exec-child"));
    std::cout << sweep::cell_json(matrix, sweep::run_cell(matrix, cell, opts.cell)).dump() << "\n";
    return kExitClean;
  }
  const bool exec = vm["exec"].as<bool>();
  if (exec) {
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    opts.runner = [self](const sweep::Matrix& m, const sweep::Cell& c, const sweep::CellOptions& o) {
      return sweep::run_cell_in_child(m, c, o, self);
    };
  }
  const bool quick = vm["quick"].as<bool>();
  const bool one_cell = vm.count("cell") > 0;
  if (one_cell && (quick || !vm["shard"].defaulted()))
    throw UsageError("--cell runs one cell of the full matrix; it takes no --quick or --shard");
  probe_reports(vm);

  sweep::Matrix matrix;
  const std::vector<sweep::Cell> selection = quick ? matrix.quick() : matrix.all();
  const std::vector<sweep::Cell> cells = one_cell ? std::vector{matrix.cell(get<std::uint64_t>(vm, "cell"))}
                                                  : sweep::select_shard(matrix, selection, shard_k, shard_n);

  sweep::RunInfo info;
  info.seed = opts.cell.seed;
  info.ops = opts.cell.ops;
  info.threads = opts.cell.threads;
  info.jobs = opts.jobs ? opts.jobs : tbb::info::default_concurrency();
  info.selection = quick ? "quick" : "full";
  info.shard =
      one_cell ? fmt::format("cell {}", cells.front().index) : fmt::format("{}/{}", shard_k, shard_n);
  info.build = build_info();
  try {
    const PlantSpec* plant = active_plant();  // --plant, or HAKFUZZ_PLANT exported by the caller
    if (plant) info.plant = plant->name;
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  std::cout << fmt::format(
                   "hakfuzz sweep: seed={} ops={} threads={} jobs={} cells={} ({} {} of {}, shard {}{}{}) "
                   "matrix {} build {}\n",
                   info.seed, info.ops, info.threads, info.jobs, cells.size(), info.selection,
                   selection.size(), matrix.size(), info.shard, exec ? ", each cell in a child process" : "",
                   info.plant.empty() ? "" : ", planted bug " + info.plant, matrix.shape(), info.build)
            << std::flush;
  note_overridden_env(vm);

  auto t0 = std::chrono::steady_clock::now();
  sweep::SweepProgress progress;
  std::vector<sweep::CellResult> results;
  {
    ProgressLine line(progress, cells.size());
    results = sweep::run_sweep(matrix, cells, opts, progress);
  }
  info.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (one_cell)
    std::cout << fmt::format("cell {:04} {} [{}] digest {}\n", cells.front().index,
                             sweep::status_name(results.front().status), matrix.describe(cells.front()),
                             results.front().has_digest ? support::hex64(results.front().digest) : "-");
  return report_verdict(vm, matrix, info, selection, results, false);
}

}  // namespace hakfuzz::cli
