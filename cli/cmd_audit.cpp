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
#include "fuzz/targets.h"
#include "oracle/plants.h"

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
       "where each counterexample's minimized interleave input goes")
      ("plant", po::value<std::string>(), "(testing) audit a pool with a planted bug (see hakfuzz fuzz --help)");
  // clang-format on
  return d;
}

namespace {

using hakmem::sched::PointKind;

const char* kind_name(PointKind k) {
  return k == PointKind::load ? "load" : k == PointKind::store ? "store" : "rmw";
}

std::string bound_text(const AuditSearch& s, const AuditOptions& o) {
  return fmt::format("no counterexample in {} interleavings{}", s.runs,
                     s.complete ? fmt::format(" (every one within {} preemptions)", o.preemptions)
                                : " (stopped at the budget)");
}

std::string replay_text(const AuditSearch& s, const Weakening& w, const std::string& out_dir) {
  const Minimized& m = *s.counterexample;
  return fmt::format("{}, from {}; replay: hakfuzz repro {}{}", finding_kind_name(m.finding.kind), s.program,
                     w.point < 0 ? "" : "--weaken " + weakening_text(w) + " ",
                     write_interleave_finding(out_dir, m));
}

// What an exploration under x86-TSO says.
std::string x86_verdict(const AuditSearch& x86, const Weakening& weaken, const std::string& out_dir,
                        const AuditOptions& o) {
  return x86.counterexample ? "observable on x86-TSO (" + replay_text(x86, weaken, out_dir) + ")"
                            : "not observable on x86-TSO (" + bound_text(x86, o) + ")";
}

// Whether this machine would show it: explored under x86-TSO for a store;
// a load is a mov and an RMW one locked instruction in every order.
std::string on_x86(PointKind kind, const AuditWeakening& w, const Weakening& weaken,
                   const std::string& out_dir, const AuditOptions& o) {
  if (kind == PointKind::load) return "not observable on x86 (a load is a mov in every order)";
  if (kind == PointKind::rmw)
    return "not observable on x86 (a read-modify-write is one locked instruction in every order)";
  return w.x86 ? x86_verdict(*w.x86, weaken, out_dir, o) : "";
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
    const Weakening weaken{row.point, w.order};
    std::cout << head << " " << order_name(strongest(row.written)) << " -> " << order_name(w.order) << ": ";
    if (w.c11.counterexample)
      std::cout << "breaks under C11 (" << replay_text(w.c11, weaken, out_dir) << "); "
                << on_x86(info.kind, w, weaken, out_dir, o) << "\n";
    else if (w.c11.runs == 0)
      std::cout << "breaks (weaker than an order that broke)\n";
    else
      std::cout << bound_text(w.c11, o) << "\n";
  }
}

// The v2 counters are no schedule point: plain adds by the thread whose
// table it is, which nothing of the allocator reads back (TELEMETRY by
// construction). That nothing steers on them is stats_diff's check: each
// program behaves alike with them compiled out and in, and with
// HAKMEM_POOL_V2_STATS 0 and 1. False when one does not.
bool print_telemetry(const std::vector<AuditProgram>& programs) {
  const std::string counters = fmt::format("v2 counters ({})", hakmem::kNumV2Stats);
  for (const AuditProgram& p : programs) {
    const RunResult r = stats_diff(p.program, false);
    if (!r.finding) continue;
    std::cout << fmt::format("{:<17} {:<26} not telemetry, they steer: {} (the program: {})\n", "CORRECTNESS",
                             counters, r.finding->describe(), p.file);
    return false;
  }
  std::cout << fmt::format(
      "{:<17} {:<26} no schedule point; compiled out and in, with HAKMEM_POOL_V2_STATS 0 and 1, the {} "
      "program(s) behave alike (stats_diff)\n",
      "TELEMETRY", counters, programs.size());
  return true;
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
  // A plant the exploration reaches, or one only the telemetry row's
  // stats_diff check can see.
  if (vm.count("plant")) {
    const std::string plant = vm["plant"].as<std::string>();
    const PlantSpec* p = find_plant(plant);
    set_plant(plant, p && !p->reaches_checker("interleave") ? "stats_diff" : "interleave");
  }
  o.run = interleave_target_options(false);
  std::cout
      << fmt::format(
             "hakfuzz audit-atomics: {} program(s), dfs within {} preemptions under C11 executions (a store "
             "that breaks: under x86-TSO too), one point's order weakened at a time; {}\n",
             programs.size(), o.preemptions, build_info())
      << std::flush;
  const bool tty = isatty(fileno(stdout));
  const Audit audit = audit_atomics(programs, o, [&](const std::string& what) {
    // One line each where no terminal redraws it (a CI log).
    std::cout << (tty ? "\r\033[K  " : "  exploring ") << what << (tty ? "" : "\n") << std::flush;
  });
  if (tty) std::cout << "\r\033[K";
  const std::string out_dir = vm["out"].as<std::string>();
  if (audit.baseline) {
    std::cout << "FINDING under C11 with no weakening, nothing to audit against ("
              << replay_text(*audit.baseline, {}, out_dir)
              << "): " << audit.baseline->counterexample->finding.describe() << "\n";
    std::cout << x86_verdict(*audit.baseline_x86, {}, out_dir, o) << "\n" << std::flush;
    return kExitFinding;
  }
  std::size_t correctness = 0;
  for (const AuditRow& row : audit.rows) {
    print_row(row, out_dir, o);
    correctness += row.correctness();
  }
  const bool telemetry = print_telemetry(programs);
  std::cout << fmt::format(
                   "{} atomic point(s) reached, {} CORRECTNESS (a weakening breaks), {} with no "
                   "counterexample within the bound; the v2 counters {}\n",
                   audit.rows.size(), correctness, audit.rows.size() - correctness,
                   telemetry ? "are telemetry" : "steer")
            << std::flush;
  return telemetry ? kExitClean : kExitFinding;
}

}  // namespace hakfuzz::cli
