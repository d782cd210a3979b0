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

ExploreOptions exploration(const AuditOptions& a, Weakening weaken) {
  ExploreOptions o;
  o.strategy = ExploreStrategy::dfs;
  o.preemptions = a.preemptions;
  o.max_runs = a.max_runs;
  o.max_seconds = a.max_seconds;
  o.run = a.run;
  o.run.memory = MemoryKind::c11;
  o.run.weaken = weaken;
  return o;
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
    if (w.counterexample) return true;
  return false;
}

std::memory_order AuditRow::weakest_clean() const {
  std::memory_order clean = strongest(written);
  for (const AuditWeakening& w : weakenings) {
    if (w.counterexample) break;
    clean = w.order;
  }
  return clean;
}

Audit audit_atomics(const std::vector<AuditProgram>& programs, const AuditOptions& options,
                    const std::function<void(const std::string&)>& progress) {
  Audit audit;
  // The unweakened allocator, once over every program: clean, and which
  // points' atomics run with which orders.
  std::vector<std::uint8_t> written(hakmem::sched::kNumPoints, 0);
  for (const AuditProgram& p : programs) {
    if (progress) progress(p.file + " (no weakening)");
    ExploreOptions o = exploration(options, {});
    o.each_run = [&](const InterleaveResult& r) {
      for (std::size_t k = 0; k < r.orders_written.size() && k < written.size(); ++k)
        written[k] |= r.orders_written[k];
    };
    const Exploration e = explore(p.program, o);
    if (e.finding) {
      audit.baseline = e.finding;
      audit.baseline_program = p.file;
      return audit;
    }
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
        return prev.counterexample && prev.order != order && weakened(prev.order, order) == order;
      });
      for (const AuditProgram& p : programs) {
        if (after_break) break;
        const Weakening weaken{point, order};
        if (progress) progress(p.file + " (" + weakening_text(weaken) + ")");
        const ExploreOptions o = exploration(options, weaken);
        const Exploration e = explore(p.program, o);
        w.runs += e.runs;
        w.complete = w.complete && e.exhausted;
        if (!e.finding) continue;
        w.counterexample = minimize(p.program, e.schedule, *e.finding, o.run, /*runs_per_op=*/200);
        w.program = p.file;
        break;
      }
      if (after_break) w.complete = false;
      row.weakenings.push_back(std::move(w));
    }
    audit.rows.push_back(std::move(row));
  }
  return audit;
}

}  // namespace hakfuzz
