// `hakfuzz audit-atomics FILE|DIR...`: explore/audit.h over the schedule
// programs given; one line per weakening tried, each counterexample written
// as an `interleave` input that `hakfuzz repro --weaken` replays.
#include <fmt/format.h>

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/build_info.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "explore/audit.h"
#include "fuzz/inputs.h"
#include "fuzz/interleave_input.h"

namespace hakfuzz::cli {

po::options_description audit_atomics_options() {
  po::options_description d("audit-atomics options");
  // clang-format off
  d.add_options()
      ("target", po::value<std::string>(), "remote or interleave (default: from the path)")
      ("preemptions", number<int>("preemptions", 1, 0, 8, "P"), "explore each program within P preemptions")
      ("runs", number<std::uint64_t>("runs", 0, 0, 100'000'000), "per program and weakening; 0: until exhausted")
      ("seconds", number<double>("seconds", 10, 0, 86400, "S"), "per program and weakening; 0: no limit")
      ("out", po::value<std::string>()->default_value("audit-findings")->value_name("DIR"),
       "where each counterexample's minimized interleave input goes");
  // clang-format on
  return d;
}

namespace {

using hakmem::sched::PointKind;

const char* kind_name(PointKind k) {
  return k == PointKind::load ? "load" : k == PointKind::store ? "store" : "rmw";
}

// Whether this machine would show it: what x86 compiles each order to.
std::string on_x86(PointKind kind, std::memory_order from, std::memory_order to) {
  if (kind == PointKind::load) return "not observable on x86 (a load is a mov in every order)";
  if (kind == PointKind::rmw)
    return "not observable on x86 (a read-modify-write is one locked instruction in every order)";
  if (from == std::memory_order_seq_cst)
    return "may be observable on x86 (the seq_cst store's xchg becomes a mov that a later load can pass; no "
           "TSO "
           "model here says whether this counterexample needs that)";
  (void)to;
  return "not observable on x86 (a mov either way)";
}

void print_row(const AuditRow& row, const std::string& out_dir, const AuditOptions& o) {
  const auto& info = hakmem::sched::point_info(static_cast<hakmem::sched::Point>(row.point));
  const std::string head =
      fmt::format("{:<17} {:<26} {:<5} {:<16}", row.correctness() ? "CORRECTNESS" : "no counterexample",
                  info.name, kind_name(info.kind), written_text(row.written));
  if (row.weakenings.empty()) {
    std::cout << head << " already relaxed: nothing weaker to try\n";
    return;
  }
  for (const AuditWeakening& w : row.weakenings) {
    const std::string what =
        fmt::format("{} -> {}: ", order_name(strongest(row.written)), order_name(w.order));
    if (w.counterexample) {
      const Minimized& m = *w.counterexample;
      const std::string file = write_interleave_finding(out_dir, m);
      std::cout << head << " " << what
                << fmt::format(
                       "breaks under C11 ({}, from {}), {}; replay: hakfuzz repro --weaken {}:{} {}\n",
                       finding_kind_name(m.finding.kind), w.program,
                       on_x86(info.kind, strongest(row.written), w.order), info.name, order_name(w.order),
                       file);
    } else if (w.runs == 0) {
      std::cout << head << " " << what << "breaks (weaker than an order that broke)\n";
    } else {
      std::cout << head << " " << what
                << fmt::format("no counterexample in {} interleavings{}\n", w.runs,
                               w.complete ? fmt::format(" (every one within {} preemptions)", o.preemptions)
                                          : " (stopped at the budget)");
    }
  }
}

}  // namespace

int run_audit_atomics(const po::variables_map& vm) {
  if (!vm.count("inputs")) throw UsageError("give at least one FILE or DIR of schedule programs");
  if (!Scheduler::kModelsMemory) throw UsageError("audit-atomics needs a build without ThreadSanitizer");
  std::optional<std::string> target_flag;
  if (vm.count("target")) target_flag = vm["target"].as<std::string>();
  std::vector<AuditProgram> programs;
  for (const auto& file : collect_inputs(vm["inputs"].as<std::vector<std::string>>()))
    programs.push_back(
        {file.string(), schedule_program_of(resolve_target(target_flag, file), read_bytes(file))});
  AuditOptions o;
  o.preemptions = get<int>(vm, "preemptions");
  o.max_runs = get<std::uint64_t>(vm, "runs");
  o.max_seconds = get<double>(vm, "seconds");
  o.run = interleave_target_options(false);
  std::cout
      << fmt::format(
             "hakfuzz audit-atomics: {} program(s), dfs within {} preemptions under C11 executions, one "
             "point's order weakened at a time; {}\n",
             programs.size(), o.preemptions, build_info())
      << std::flush;
  const bool tty = isatty(fileno(stdout));
  const Audit audit = audit_atomics(programs, o, [&](const std::string& what) {
    // One line each where no terminal redraws it (a CI log).
    std::cout << (tty ? "\r\033[K  " : "  exploring ") << what << (tty ? "" : "\n") << std::flush;
  });
  if (tty) std::cout << "\r\033[K";
  if (audit.baseline) {
    std::cout << fmt::format("{}: FINDING with no weakening, nothing to audit against: {}\n",
                             audit.baseline_program, audit.baseline->describe());
    return kExitFinding;
  }
  const std::string out_dir = vm["out"].as<std::string>();
  std::size_t correctness = 0;
  for (const AuditRow& row : audit.rows) {
    print_row(row, out_dir, o);
    correctness += row.correctness();
  }
  std::cout << fmt::format(
                   "{} atomic point(s) reached, {} CORRECTNESS (a weakening breaks), {} with no "
                   "counterexample within the bound\n",
                   audit.rows.size(), correctness, audit.rows.size() - correctness)
            << std::flush;
  return kExitClean;
}

}  // namespace hakfuzz::cli
