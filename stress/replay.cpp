#include "stress/replay.h"

#include <fmt/format.h>

#include <algorithm>

#include "oracle.h"
#include "targets.h"

namespace hakfuzz::stress {

namespace {

constexpr std::size_t kLargeBase = hakmem::kMaxClassSize + 1;

// Operands for which fuzz/ops.cpp alloc_size() gives a size of the same
// class as `size` (the same size for every pool class).
Op alloc_op(int thread, std::size_t size) {
  Op op{OpCode::alloc, static_cast<std::uint8_t>(thread)};
  if (size <= hakmem::kMaxClassSize) {
    op.a = 2;
    op.b = static_cast<std::uint16_t>(size);
  } else {
    op.a = 1;
    op.b = static_cast<std::uint16_t>(std::min<std::size_t>((size - kLargeBase + 15) / 16, 0xFFFF));
  }
  return op;
}

}  // namespace

Replay build_replay(const std::vector<LoggedOp>& window, const hakmem::Config& config, int workers) {
  Replay r;
  r.program.flags = static_cast<std::uint8_t>((config.v2_enabled ? 1 : 0) | (config.v2_stats ? 2 : 0));
  r.program.classes = static_cast<std::uint8_t>(config.v2_classes & 0x7F);
  r.program.threads = static_cast<std::uint8_t>(std::clamp(workers, 2, kMaxThreads));
  // The model's live list, in its own order (alloc order, erase on free).
  std::vector<std::uint64_t> live;
  for (const LoggedOp& op : window) {
    if (r.program.ops.size() >= kMaxOpsPerRun) break;
    const int thread = op.worker % r.program.threads;
    switch (op.kind) {
      case LoggedKind::alloc:
        r.program.ops.push_back(alloc_op(thread, op.size));
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
        r.program.ops.push_back(
            Op{OpCode::free, static_cast<std::uint8_t>(thread), static_cast<std::uint8_t>(index)});
        break;
      }
      case LoggedKind::exit:
        r.program.ops.push_back(Op{OpCode::exit, static_cast<std::uint8_t>(thread)});
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
  TargetRun run = remote->run(bytes, false);
  if (!run.finding) return {false, ""};
  return {true, fmt::format("op {}: {}", run.finding->op_index, run.finding->what)};
}

}  // namespace hakfuzz::stress
