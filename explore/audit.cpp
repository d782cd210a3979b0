#include "explore/audit.h"

#include <algorithm>

namespace hakfuzz {

namespace {

using hakmem::sched::PointKind;

constexpr std::memory_order kByStrength[] = {std::memory_order_seq_cst, std::memory_order_acq_rel,
                                             std::memory_order_acquire, std::memory_order_release,
                                             std::memory_order_relaxed};

std::uint8_t bit(std::memory_order o) { return static_cast<std::uint8_t>(1u << static_cast<int>(o)); }

// What an order means for an operation of this kind: an acquire store or a
// release load is relaxed.
bool meaningful(PointKind kind, std::memory_order o) {
  if (kind == PointKind::load) return o != std::memory_order_release && o != std::memory_order_acq_rel;
  if (kind == PointKind::store) return o != std::memory_order_acquire && o != std::memory_order_acq_rel;
  return true;
}

ExploreOptions exploration(const AuditOptions& a, MemoryKind memory, Weakening weaken) {
  ExploreOptions o;
  o.strategy = ExploreStrategy::dfs;
  o.preemptions = a.preemptions;
  o.max_runs = a.max_runs;
  o.max_seconds = a.max_seconds;
  o.run = a.run;
  o.run.memory = memory;
  o.run.weaken = weaken;
  return o;
}

AuditSearch search(const std::vector<AuditProgram>& programs, const AuditOptions& options, MemoryKind memory,
                   Weakening weaken, const std::function<void(const std::string&)>& progress,
                   const std::function<void(const InterleaveResult&)>& each_run = {}) {
  AuditSearch out;
  for (const AuditProgram& p : programs) {
    if (progress)
      progress(p.file + " (" + (weaken.point < 0 ? "no weakening" : weakening_text(weaken)) + ", " +
               memory_kind_name(memory) + ")");
    ExploreOptions o = exploration(options, memory, weaken);
    o.each_run = each_run;
    const Exploration e = explore(p.program, o);
    out.runs += e.runs;
    out.complete = out.complete && e.exhausted;
    if (!e.finding) continue;
    out.counterexample = minimize(p.program, e.schedule, *e.finding, o.run, /*runs_per_op=*/200);
    out.program = p.file;
    break;
  }
  return out;
}

}  // namespace

std::memory_order strongest(std::uint8_t written) {
  for (std::memory_order o : kByStrength)
    if (written & bit(o)) return o;
  return std::memory_order_relaxed;
}

std::string written_text(std::uint8_t written) {
  std::string out;
  for (std::memory_order o : kByStrength)
    if (written & bit(o)) out += (out.empty() ? "" : "+") + std::string(order_name(o));
  return out;
}

std::vector<std::memory_order> weaker_orders(PointKind kind, std::uint8_t written) {
  const std::memory_order top = strongest(written);
  std::vector<std::memory_order> out;
  for (std::memory_order o : kByStrength)
    if (weakened(top, o) == o && o != top && meaningful(kind, o)) out.push_back(o);
  return out;
}

bool AuditRow::correctness() const {
  for (const AuditWeakening& w : weakenings)
    if (w.c11.counterexample) return true;
  return false;
}

Audit audit_atomics(const std::vector<AuditProgram>& programs, const AuditOptions& options,
                    const std::function<void(const std::string&)>& progress) {
  Audit audit;
  // The unweakened allocator, once over every program: clean, and which
  // points' atomics run with which orders.
  std::vector<std::uint8_t> written(hakmem::sched::kNumPoints, 0);
  AuditSearch as_written =
      search(programs, options, MemoryKind::c11, {}, progress, [&](const InterleaveResult& r) {
        for (std::size_t k = 0; k < r.orders_written.size() && k < written.size(); ++k)
          written[k] |= r.orders_written[k];
      });
  if (as_written.counterexample) {
    audit.baseline = std::move(as_written);
    audit.baseline_x86 = search(programs, options, MemoryKind::tso, {}, progress);
    return audit;
  }
  for (int point = 0; point < hakmem::sched::kNumPoints; ++point) {
    const PointKind kind = hakmem::sched::point_info(static_cast<hakmem::sched::Point>(point)).kind;
    if (!written[static_cast<std::size_t>(point)]) continue;
    AuditRow row{point, written[static_cast<std::size_t>(point)], {}};
    for (std::memory_order order : weaker_orders(kind, row.written)) {
      AuditWeakening w;
      w.order = order;
      // An order weaker than one that broke breaks too: not explored.
      const bool after_break = std::ranges::any_of(row.weakenings, [&](const AuditWeakening& prev) {
        return prev.c11.counterexample && prev.order != order && weakened(prev.order, order) == order;
      });
      if (after_break) {
        w.c11.complete = false;
      } else {
        w.c11 = search(programs, options, MemoryKind::c11, {point, order}, progress);
        if (w.c11.counterexample && kind == PointKind::store)
          w.x86 = search(programs, options, MemoryKind::tso, {point, order}, progress);
      }
      row.weakenings.push_back(std::move(w));
    }
    audit.rows.push_back(std::move(row));
  }
  return audit;
}

}  // namespace hakfuzz
