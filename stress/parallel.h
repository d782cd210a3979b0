// The parallel stress run: truly parallel workers on one pool, trading blocks so
// that most frees are remote, in rounds separated by quiescent checks. One
// run serves `hakfuzz stress` (any mode, rounds, time- or op-bounded) and
// the sweep's short parallel phase (exchange, one round).
//
// Workers move in lockstep epochs; every block carries a canary any thread
// verifies on free; every free's route must fit the block's kind; each
// worker counts into a model::Tally. After every round (and at the end) the
// pool must be walkable and agree with the harness on live blocks and bytes,
// no block may be lost, remote frees pending may not exceed those pushed;
// no page may be kept (model::check_retention); at the end the pool's
// counters must be the tally's, its committed slabs and RSS must have
// stayed flat, and (end_empty) it must hold nothing once every thread is
// gone. Findings carry their kind (oracle/findings.def).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "oracle/finding.h"
#include "oracle/judge.h"
#include "oracle/pool_under_test.h"
#include "stress/mode.h"
#include "stress/op_log.h"
#include "stress/size_mix.h"

namespace hakfuzz::stress {

inline constexpr int kMaxStressThreads = 255;  // a worker's index is a byte of its canary and log

struct StressSpec {
  StressMode mode = StressMode::exchange;
  int threads = 4;
  double seconds = 0;           // > 0: run for this long (split among rounds)
  std::uint64_t ops = 200'000;  // else: this many allocations in total
  std::uint64_t seed = 1;
  SizeMix mix = SizeMix::mixed;
  double remote_ratio = 0.75;     // share of blocks handed to another worker
  std::size_t working_set = 256;  // slots / queue bound / per-worker kept blocks
  int rounds = 20;
  int pass_own_back = 0;  // see ModeParams
  // At the end, oneTBB's worker threads exit too and the pool, collected by
  // the calling thread, must hold nothing (exec/run_program.h nothing_kept).
  // Needs oneTBB to itself: the sweep, running cells side by side, does not.
  bool end_empty = false;
  // Called once if the process crashes mid-run (stress/crash_hook.h), with
  // what the logs hold then; the process exits 1 after it returns.
  std::function<void(const struct StressResult&)> on_crash;
};

struct RoundReport {
  int round = 0;
  std::uint64_t allocs = 0, frees = 0, live_blocks = 0, live_bytes = 0;
  std::uint64_t remote_frees = 0;    // v2 remote frees pushed so far
  std::uint64_t remote_pending = 0;  // of those, not yet drained by their pages' owners
  long rss_kb = 0;
  std::uint64_t slabs = 0;  // committed, v1 and v2
};

struct StressResult {
  std::vector<Finding> findings;  // op_index: the ticket of the op (or check) that found it
  model::Tally tally;
  hakmem::StatsSnapshot stats;  // at the end, every block freed
  std::vector<RoundReport> rounds;
  long peak_rss_kb = 0, final_rss_kb = 0;
  std::string rss_verdict;    // how flat memory was judged
  std::string empty_verdict;  // what the end's empty check concluded
  double seconds = 0;
  std::uint64_t ops = 0;            // allocs + frees
  std::uint64_t handed_off = 0;     // blocks handed to another worker
  std::uint64_t foreign_frees = 0;  // frees of a block another worker allocated
  bool lockstep_lost = false;       // a worker stalled: later epochs ran unsynchronised
  // Remote frees the pages' owners had drained by the last round's quiescent
  // point: the evidence that the drain path ran.
  std::uint64_t drained = 0;
  std::vector<std::vector<LoggedOp>> last_ops;  // per worker, oldest first
  std::vector<LoggedOp> window;                 // every worker's recent ops, in ticket order
};

// Throws std::invalid_argument on a spec no run can honour.
StressResult run_parallel(PoolUnderTest& pool, const StressSpec& spec);

std::string describe_op(const LoggedOp& op);

}  // namespace hakfuzz::stress
