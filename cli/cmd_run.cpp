// `hakfuzz run [options] -- PROGRAM ARGS...`: an unmodified program on the
// pool through libhakmem_preload.so (found beside this binary), with the
// checks a foreign process allows. Each process the program starts that
// loads the shim leaves a report (preload/report.h) in a scratch directory;
// after the program ends they are read back and judged here: rejected frees
// (with their backtraces), the invariant walk at exit (and on --walk-signal),
// and, at exit, the nothing-kept rules of oracle/model.h: no page kept against
// the reuse contract, and an empty pool when the program freed everything.
// Exit status: the program's own, 1 when a check fails, 2 for a usage error
// or a program that cannot be started.
#include <fmt/format.h>
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/output_paths.h"
#include "cli/preload_launch.h"
#include "oracle/judge.h"
#include "preload/report.h"
#include "support/parse.h"

namespace hakfuzz::cli {

namespace fs = std::filesystem;
using hakmem::preload::ProcessReport;

namespace {

po::options_description run_desc() {
  po::options_description d("run options");
  add_env_option(d);
  d.add_options()("walk-signal", po::value<std::string>()->value_name("SIGNAL"),
                  "also run the invariant walk when the program receives SIGNAL (a name such as USR2, or a "
                  "number); it runs at the next pool call, when the process has one thread")(
      "reports", po::value<std::string>()->value_name("DIR"),
      "keep the per-process reports in DIR (default: a scratch directory, removed afterwards)");
  return d;
}

int parse_signal(const std::string& word) {
  std::string name = word;
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  for (int s = 1; s < NSIG; ++s)
    if (const char* abbrev = sigabbrev_np(s); abbrev && name == abbrev) return s;
  if (const std::optional<int> s = support::parse_whole<int>(word); s && *s > 0 && *s < NSIG) return *s;
  throw UsageError("--walk-signal '" + word + "': expected a signal name (USR2, SIGUSR2) or number 1.." +
                   std::to_string(NSIG - 1));
}

// What one process's report says; the failures it counts.
int judge(const ProcessReport& r, std::ostream& out) {
  int failures = 0;
  const std::string who =
      fmt::format("pid {}{} ({})", r.pid, r.forked ? ", forked" : "", fs::path(r.exe).filename().string());
  for (const hakmem::preload::Rejection& j : r.rejections) {
    ++failures;
    out << fmt::format("hakfuzz run: {}: rejected free of {}: {} (class {})\n", who, j.ptr, j.reason, j.cls);
    for (const std::string& f : j.frames) out << "    " << f << "\n";
  }
  std::vector<std::string> notes;
  for (const hakmem::preload::WalkRecord& w : r.walks) {
    if (w.skipped) {
      notes.push_back(fmt::format("walk at {} skipped ({} threads running)", w.when, w.threads));
      continue;
    }
    if (!w.ok) {
      ++failures;
      notes.push_back(fmt::format("walk at {} FAILED: {}", w.when, w.error));
    } else {
      notes.push_back(
          fmt::format("walk at {} clean ({} live blocks, {} bytes)", w.when, w.live_blocks, w.live_bytes));
    }
    if (w.when != "exit" || !r.census) continue;
    if (std::optional<std::string> why = model::check_retention(*r.census)) {
      ++failures;
      notes.push_back("KEPT: " + *why);
    } else if (w.live_blocks == w.startup_live && w.startup_live == w.startup_large) {
      // Everything the program allocated is freed; what stays is start-up's
      // (large blocks only, so the class pages must be exactly empty).
      hakmem::Census c = *r.census;
      c.large_blocks -= w.startup_large;
      if (std::optional<std::string> why = model::check_empty(c)) {
        ++failures;
        notes.push_back("NOT EMPTY: " + *why);
      } else {
        notes.push_back(
            w.startup_live
                ? fmt::format("everything freed but {} start-up block(s), the pool is empty", w.startup_live)
                : std::string("everything freed, the pool is empty"));
      }
    } else {
      notes.push_back(fmt::format("nothing kept ({} blocks still live, so no empty-pool check)",
                                  w.live_blocks - w.startup_live));
    }
  }
  if (!r.exited) notes.push_back("no exit report (ended by _exit, exec or a signal)");
  std::string line =
      fmt::format("hakfuzz run: {}: {} pool allocs, {} pool frees, {} foreign frees, {} rejected", who,
                  r.pool_allocs, r.pool_frees, r.foreign_frees, r.rejections.size());
  for (const std::string& n : notes) line += "; " + n;
  out << line << "\n";
  return failures;
}

}  // namespace

int run_run(const std::vector<std::string>& args) {
  po::options_description desc = run_desc();
  po::variables_map vm;
  const std::vector<std::string> program = parse_program_command(args, desc, vm);
  if (vm.count("help")) {
    std::cout
        << "usage: hakfuzz run [options] -- PROGRAM [ARGS...]\n\n"
           "run an unmodified program on the pool (LD_PRELOAD of libhakmem_preload.so) and check it: "
           "rejected frees with backtraces, the invariant walk at exit, nothing kept, an empty pool when "
           "everything was freed\n\n"
        << desc;
    return kExitClean;
  }
  po::notify(vm);
  const PreloadLaunch launch = preload_launch(program, vm, "hakfuzz run [options] -- PROGRAM [ARGS...]");
  const int walk_signal = vm.count("walk-signal") ? parse_signal(vm["walk-signal"].as<std::string>()) : 0;

  const bool keep = vm.count("reports") > 0;
  fs::path dir;
  if (keep) {
    dir = vm["reports"].as<std::string>();
    const std::string named = "--reports " + dir.string();
    create_output_dir(dir, named);
    probe_output_dir(dir, named);  // the shim cannot say that it could not write its report
    for (const fs::directory_entry& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".report") fs::remove(e.path());
  } else {
    dir = scratch_dir("run");
  }

  std::vector<std::string> own_env = {std::string(hakmem::preload::kReportDirEnv) + "=" +
                                      fs::absolute(dir).string()};
  if (walk_signal)
    own_env.push_back(std::string(hakmem::preload::kWalkSignalEnv) + "=" + std::to_string(walk_signal));
  const int status = spawn_preloaded("run", launch, own_env, "", keep ? fs::path() : dir);

  std::vector<ProcessReport> reports;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".report") continue;
    std::ifstream in(e.path());
    reports.push_back(hakmem::preload::parse_report(in));
    reports.back().file = e.path().string();
  }
  std::ranges::sort(reports, {}, &ProcessReport::pid);
  int failures = 0;
  for (const ProcessReport& r : reports) failures += judge(r, std::cerr);
  if (!keep) fs::remove_all(dir);

  const auto [code, how] = program_end(status);
  if (reports.empty()) {
    std::cerr << "hakfuzz run: no process loaded the shim (a static or setuid program?)\n";
    ++failures;
  }
  std::cerr << fmt::format(
      "hakfuzz run: {} process(es) on the pool, program {}; {}\n", reports.size(), how,
      failures ? fmt::format("{} check(s) FAILED", failures) : std::string("checks clean"));
  return failures ? kExitFinding : code;
}

}  // namespace hakfuzz::cli
