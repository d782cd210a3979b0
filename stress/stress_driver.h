// `hakfuzz stress`: truly parallel workers on one pool, trading blocks so
// most frees are remote, in rounds separated by quiescent checks.
//
//   exchange  TBB workers swap blocks through a shared array of atomic slots
//   handoff   TBB workers pass blocks through a bounded concurrent queue
//             (producer and consumer at once; the bound keeps RSS flat)
//   churn     each round runs on fresh std::threads (TBB pools its workers,
//             so only real threads can exit); they exit owning pages that
//             others still free into, and blocks left in the slots outlive
//             their owner into the next round
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hakmem/types.h"
#include "stress/op_log.h"
#include "stress/size_mix.h"
#include "stress/tally.h"

namespace hakfuzz::stress {

enum class StressMode : std::uint8_t { exchange, handoff, churn };
const char* stress_mode_name(StressMode m);
std::optional<StressMode> parse_stress_mode(std::string_view s);

struct DriverSpec {
  StressMode mode = StressMode::exchange;
  int threads = 4;
  double seconds = 0;           // > 0: run for this long (split among rounds)
  std::uint64_t ops = 200'000;  // else: this many allocations in total
  std::uint64_t seed = 1;
  SizeMix mix = SizeMix::mixed;
  double remote_ratio = 0.75;     // share of blocks handed to another worker
  std::size_t working_set = 256;  // slots / queue bound / per-worker local blocks
  int rounds = 4;
  bool plant_canary = false;  // self-test: break one canary, expect a finding
  // Called once if the process crashes mid-run (stress/crash_hook.h), with
  // what the logs hold then; the process exits 1 after it returns.
  std::function<void(const struct DriverResult&)> on_crash;
};

struct RoundReport {
  int round = 0;
  std::uint64_t allocs = 0, frees = 0, live_blocks = 0, live_bytes = 0;
  long rss_kb = 0;
};

struct DriverResult {
  std::vector<std::string> findings;
  Tally tally;
  std::vector<RoundReport> rounds;
  long peak_rss_kb = 0, final_rss_kb = 0;
  std::string rss_verdict;  // how flat memory was judged
  double seconds = 0;
  std::uint64_t ops = 0;                        // allocs + frees
  std::uint64_t handed_off = 0;                 // blocks put into a slot or the queue
  bool lockstep_lost = false;                   // a worker stalled: later epochs ran unsynchronised
  std::uint64_t foreign_frees = 0;              // frees of a block another worker allocated
  std::vector<std::vector<LoggedOp>> last_ops;  // per worker, oldest first
  std::vector<LoggedOp> window;                 // every worker's recent ops, in ticket order
};

// Throws std::invalid_argument on a spec no run can honour.
template <class P>
DriverResult run_driver(P& pool, const DriverSpec& spec);

std::string describe_op(const LoggedOp& op);

}  // namespace hakfuzz::stress
