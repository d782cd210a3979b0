#include "stress/replay.h"

#include <fmt/format.h>

#include <algorithm>

#include "fuzz/targets.h"

namespace hakfuzz::stress {

Replay build_replay(const std::vector<LoggedOp>& window, const hakmem::Config& config, int workers) {
  Replay r;
  r.program.config = config_from_bits(config_bits(config));
  r.program.threads = static_cast<std::uint8_t>(std::clamp(workers, 2, kMaxThreads));
  // The model's live list, in its own order (alloc order, erase on free).
  std::vector<std::uint64_t> live;
  for (const LoggedOp& op : window) {
    if (r.program.ops.size() >= kMaxOpsPerRun) break;
    const int thread = op.worker % r.program.threads;
    switch (op.kind) {
      case LoggedKind::alloc:
        r.program.ops.push_back(Op::alloc_of_size(thread, op.size));
        live.push_back(op.block);
        break;
      case LoggedKind::free: {
        auto it = std::ranges::find(live, op.block);
        const auto index = static_cast<std::size_t>(it - live.begin());
        if (it == live.end() || index > 0xFF) {
          ++r.dropped_frees;
          continue;
        }
        live.erase(it);
        r.program.ops.push_back(Op::free(thread, static_cast<std::uint8_t>(index)));
        break;
      }
      case LoggedKind::exit:
        r.program.ops.push_back(Op::exit(thread));
        break;
    }
    ++r.converted;
  }
  if (window.size() > r.converted + r.dropped_frees)
    r.approximations.push_back(
        fmt::format("schedule cut at {} ops (the oracle's per-input limit)", kMaxOpsPerRun));
  if (r.dropped_frees)
    r.approximations.push_back(fmt::format(
        "{} frees dropped (block born before the logged window, or past live index 255)", r.dropped_frees));
  if (workers > kMaxThreads)
    r.approximations.push_back(
        fmt::format("{} workers folded onto {} schedule threads", workers, kMaxThreads));
  r.approximations.push_back(
      "ops run one at a time in ticket order; only the v2 enabled/stats/class-mask flags carry over; "
      "TBB tasks map to schedule threads by worker index, not by OS thread");
  return r;
}

ReplayVerdict run_replay(const Replay& r) {
  const Target* remote = find_target("remote");
  if (!remote) return {false, "no remote target"};
  std::vector<std::uint8_t> bytes = encode(r.program);
  const RunResult run = remote->run(bytes, false);
  if (!run.finding) return {false, ""};
  return {true, run.finding->describe()};
}

}  // namespace hakfuzz::stress
