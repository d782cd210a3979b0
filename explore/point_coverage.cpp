#include "explore/point_coverage.h"

#include <fmt/format.h>

namespace hakfuzz {

namespace {

const hakmem::sched::PointInfo& info(int point) {
  return hakmem::sched::point_info(static_cast<hakmem::sched::Point>(point));
}

}  // namespace

void PointCoverage::add(const InterleaveResult& run) {
  // The scheduler's pseudo-points (a job's start, a thread's end) come after the allocator's.
  for (const Step& s : run.trail)
    if (s.point >= 0 && s.point < hakmem::sched::kNumPoints) ++counts_[static_cast<std::size_t>(s.point)];
}

int PointCoverage::unreached() const {
  int n = 0;
  for (int p = 0; p < hakmem::sched::kNumPoints; ++p) n += count(p) == 0 && !info(p).planted_only();
  return n;
}

std::string PointCoverage::report() const {
  std::string out = "schedule points reached (steps over every explored interleaving):\n";
  std::string missed, planted;
  for (int p = 0; p < hakmem::sched::kNumPoints; ++p) {
    out += fmt::format("  {:<28} {:>10}{}\n", info(p).name, count(p),
                       info(p).planted_only() ? "  (planted only)" : "");
    if (count(p) != 0) continue;
    (info(p).planted_only() ? planted : missed) += fmt::format(" {}", info(p).name);
  }
  out += fmt::format("unreached points: {}{}\n", unreached(), missed.empty() ? "" : ":" + missed);
  if (!planted.empty()) out += "unreached planted-only points:" + planted + "\n";
  return out;
}

}  // namespace hakfuzz
