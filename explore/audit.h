// `hakfuzz audit-atomics`: the atomic audit an allocator engineer does by
// hand before weakening orders for speed ("classify each atomic as
// CORRECTNESS or TELEMETRY"), done by the tester. For every schedule point
// whose atomics the schedule programs reach, and for each order weaker than
// the strongest its call sites write, the programs are explored under C11
// executions (exec/memory_model.h) with that one point's order weakened in
// the model (Weakening: no rebuild); the first finding is a counterexample,
// minimized. A point with a counterexample for some weakening is
// CORRECTNESS; one with none within the bound is only that: a bound, not a
// proof. Each store weakening that breaks under C11, and a finding of the
// code as written, is explored again under x86-TSO: whether this machine's
// hardware would show it too (a load's or an RMW's order changes no x86
// instruction, so weakening those is never observable there).
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "explore/explore.h"

namespace hakfuzz {

struct AuditProgram {
  std::string file;
  Program program;
};

struct AuditOptions {
  int preemptions = 1;
  std::size_t max_runs = 0;  // per program and weakening; 0: until exhausted
  double max_seconds = 0;    // per program and weakening; 0: no limit
  InterleaveOptions run;     // memory is set per search
};

// One weakening explored over the programs under one memory model, until
// the first counterexample.
struct AuditSearch {
  std::size_t runs = 0;
  bool complete = true;  // every program exhausted within the bound
  std::optional<Minimized> counterexample;
  std::string program;  // the file its program came from
};

struct AuditWeakening {
  std::memory_order order;
  AuditSearch c11;                 // runs 0: weaker than an order that broke, not explored
  std::optional<AuditSearch> x86;  // a store's C11 counterexample, under tso
};

struct AuditRow {
  int point = 0;
  std::uint8_t written = 0;                // bit k: order k written at some call site
  std::vector<AuditWeakening> weakenings;  // strongest first; not explored (runs 0) below one that broke
  bool correctness() const;
};

// The orders to try at a point of `kind` below its strongest written one.
std::vector<std::memory_order> weaker_orders(hakmem::sched::PointKind kind, std::uint8_t written);
std::memory_order strongest(std::uint8_t written);
// "seq_cst" or "seq_cst+relaxed" (the call sites disagree).
std::string written_text(std::uint8_t written);

struct Audit {
  std::vector<AuditRow> rows;  // every reached atomic point, by point order
  // The unweakened allocator's own counterexample under C11 (then rows is
  // empty: nothing to audit against), and whether x86-TSO shows one.
  std::optional<AuditSearch> baseline;
  std::optional<AuditSearch> baseline_x86;
};
// `progress` hears of each exploration.
Audit audit_atomics(const std::vector<AuditProgram>& programs, const AuditOptions& options,
                    const std::function<void(const std::string&)>& progress = {});

}  // namespace hakfuzz
