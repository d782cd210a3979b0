#include "stress/parallel.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include "exec/run_program.h"
#include "oracle/type_names.h"
#include "stress/canary.h"
#include "stress/crash_hook.h"
#include "stress/rss.h"
#include "support/rng.h"

namespace hakfuzz::stress {

namespace {

using Clock = std::chrono::steady_clock;
using hakmem::BlockKind;
using hakmem::FreeRoute;

constexpr std::size_t kMaxFindings = 16;
constexpr std::size_t kLastOpsKept = 12;
constexpr auto kLockstepTimeout = std::chrono::seconds(2);
constexpr std::uint64_t kEpochSteps = 32;
// Flat memory: the working set is bounded (see judge_rss).
constexpr long kRssSlackKb = 8 * 1024;
constexpr double kJudgeSeconds = 20;

// A block's second canary word: the usable size and kind the pool gave it,
// so its free counts the bytes it had and checks the route against its kind.
constexpr int kKindShift = 56;
std::uint64_t block_tag(std::uint64_t usable, BlockKind kind) {
  return usable | static_cast<std::uint64_t>(kind) << kKindShift;
}
std::uint64_t tag_usable(std::uint64_t tag) { return tag & ((std::uint64_t{1} << kKindShift) - 1); }
BlockKind tag_kind(std::uint64_t tag) { return static_cast<BlockKind>(tag >> kKindShift); }

class ParallelRun {
 public:
  ParallelRun(PoolUnderTest& pool, const StressSpec& spec)
      : pool_(pool),
        spec_(spec),
        routing_(pool.config()),
        mode_(make_mode(spec.mode, {.working_set = spec.working_set, .pass_own_back = spec.pass_own_back})),
        kept_cap_(std::max<std::size_t>(1, spec.working_set / static_cast<std::size_t>(spec.threads))),
        remote_ppm_(static_cast<std::uint64_t>(spec.remote_ratio * 1e6)) {
    for (int w = 0; w < spec.threads; ++w)
      workers_.emplace_back(*this, w, spec.seed ^ support::mix64(static_cast<std::uint64_t>(w) + 1));
  }

  StressResult run() {
    const auto t0 = Clock::now();
    std::optional<WorkerThreads> threads;
    if (spec_.end_empty) threads.emplace();
    std::optional<CrashHook> crash_hook;
    if (spec_.on_crash) crash_hook.emplace([this](int sig) { report_crash(sig); });
    for (int r = 0; r < spec_.rounds && !failed(); ++r) {
      round_ = r;
      run_round();
      if (stress_mode_threads_exit(spec_.mode)) log_exits();
      quiescent_check(r);
    }
    if (!res_.rounds.empty()) {
      const RoundReport& last = res_.rounds.back();
      res_.drained = last.remote_frees - std::min(last.remote_pending, last.remote_frees);
    }
    drain_all();
    quiescent_check(-1);
    res_.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    res_.lockstep_lost = lockstep_lost_.load();
    judge_rss();
    for (const StressWorker& w : workers_) {
      res_.tally += w.tally;
      res_.handed_off += w.handed_off;
      res_.foreign_frees += w.foreign_frees;
      res_.last_ops.push_back(w.log.last(kLastOpsKept));
    }
    res_.ops = res_.tally.allocs + res_.tally.frees;
    res_.stats = pool_.stats();
    if (auto wrong = res_.tally.check_counters(res_.stats))
      finding(FindingKind::counter, tickets_.peek(), "at the end: " + *wrong);
    if (threads) end_empty(*threads);
    res_.window = window();
    return std::move(res_);
  }

 private:
  struct StressWorker final : Hands {
    StressWorker(ParallelRun& e, int id, std::uint64_t seed) : run(e), index(id), generator(seed) {}
    int id() const override { return index; }
    support::SplitMix64& rng() override { return generator; }
    void release(void* block) override { run.release(*this, block); }

    ParallelRun& run;
    const int index;
    support::SplitMix64 generator;
    model::Tally tally;
    OpLog log;
    std::vector<void*> kept;
    std::uint64_t next_id = 0, bytes_in = 0, bytes_out = 0, handed_off = 0, foreign_frees = 0;
  };

  // Workers move in lockstep epochs of kEpochSteps. Unsynchronised, one
  // worker runs a whole time slice alone (the norm on a busy 2-core machine),
  // fills every slot with its own blocks and frees them locally. Waiting
  // yields, so workers sharing a core alternate; a worker the OS never runs
  // ends lockstep for the rest of the run rather than stalling it.
  void lockstep(std::uint64_t epoch) {
    const std::uint64_t target = (epoch_base_ + epoch) * static_cast<std::uint64_t>(spec_.threads);
    arrivals_.fetch_add(1);
    const auto give_up = Clock::now() + kLockstepTimeout;
    while (!lockstep_lost_.load(std::memory_order_relaxed) && arrivals_.load() < target) {
      if (Clock::now() > give_up) lockstep_lost_.store(true);
      std::this_thread::yield();
    }
  }

  void stop_at(std::uint64_t epoch) {
    std::uint64_t seen = stop_epoch_.load();
    while (epoch < seen && !stop_epoch_.compare_exchange_weak(seen, epoch)) {
    }
  }

  bool failed() const { return failed_.load(std::memory_order_relaxed); }

  void finding(FindingKind kind, std::uint64_t ticket, std::string what) {
    failed_.store(true, std::memory_order_relaxed);
    std::lock_guard lock(findings_mutex_);
    if (res_.findings.size() < kMaxFindings) res_.findings.push_back({kind, ticket, std::move(what)});
  }

  std::vector<LoggedOp> window() const {
    std::vector<const OpLog*> logs;
    for (const StressWorker& w : workers_) logs.push_back(&w.log);
    return merge_by_ticket(logs, kMaxOpsPerRun);
  }

  // From the signal handler: other workers may still be running, so their
  // logs are read racily; they stop at their next epoch.
  void report_crash(int sig) {
    failed_.store(true);
    StressResult partial;
    partial.findings.push_back(
        {FindingKind::crash, tickets_.peek(),
         fmt::format("signal {} ({}) during round {}", sig, strsignal(sig), round_ + 1)});
    for (const StressWorker& w : workers_) partial.last_ops.push_back(w.log.last(kLastOpsKept));
    partial.window = window();
    partial.rss_verdict = "not judged (crashed)";
    spec_.on_crash(partial);
  }

  void run_round() {
    // Epoch counts continue across rounds: every worker left the last round
    // at the same epoch, so its arrivals are a multiple of the thread count.
    epoch_base_ = arrivals_.load() / static_cast<std::uint64_t>(spec_.threads);
    stop_epoch_.store(std::numeric_limits<std::uint64_t>::max());
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(spec_.seconds / spec_.rounds));
    const auto shares = static_cast<std::uint64_t>(spec_.threads) * static_cast<std::uint64_t>(spec_.rounds);
    const std::uint64_t steps = (spec_.ops + shares - 1) / shares;
    run_workers(spec_.mode, spec_.threads, [&](int w) { work(workers_[w], deadline, steps); });
  }

  void work(StressWorker& w, Clock::time_point deadline, std::uint64_t steps) {
    const bool timed = spec_.seconds > 0;
    std::uint64_t done = 0;
    for (std::uint64_t epoch = 1;; ++epoch) {
      // A worker names the epoch to stop at before arriving there; everyone
      // reads it after all arrived, so all leave at the same epoch (a fast
      // worker may already name the next one while a slow one reads).
      if (failed() || (timed ? Clock::now() >= deadline : done >= steps)) stop_at(epoch);
      lockstep(epoch);
      if (stop_epoch_.load() <= epoch) break;
      for (std::uint64_t i = 0; i < kEpochSteps && (timed || done < steps); ++i, ++done) step(w);
    }
    mode_->leave_round(w, w.kept);
  }

  void step(StressWorker& w) {
    const std::size_t size = draw_size(spec_.mix, w.generator);
    const int cls = hakmem::size_class_of(size);
    void* p = pool_.alloc(size);
    const std::uint64_t ticket = tickets_.take();
    const hakmem::BlockInfo info = p ? pool_.block_info(p) : hakmem::BlockInfo{};
    w.tally.alloc(cls, routing_.routed(cls), p ? info.kind : BlockKind::none);
    if (!p)
      return finding(FindingKind::alloc_null, ticket,
                     fmt::format("worker {}: alloc({}) returned null", w.index, size));
    if (!info.live || info.usable < size)
      return finding(FindingKind::usable_size, ticket,
                     fmt::format("worker {}: alloc({}) has usable size {}", w.index, size, info.usable));
    if (const BlockKind want = routing_.kind_for(size); info.kind != want)
      finding(FindingKind::alloc_route, ticket,
              fmt::format("worker {}: alloc({}) landed {}, the config routes it {}", w.index, size,
                          block_kind_name(info.kind), block_kind_name(want)));
    w.bytes_in += info.usable;
    const std::uint64_t head =
        canary_head(w.index, static_cast<std::uint64_t>(round_) << 24 | (w.next_id++ & 0xFFFFFF), size);
    put_canary(p, head, size, block_tag(info.usable, info.kind));
    w.log.push({ticket, head, static_cast<std::uint32_t>(size), LoggedKind::alloc,
                static_cast<std::uint8_t>(w.index)});
    if (w.generator.below(1'000'000) < remote_ppm_) {
      ++w.handed_off;
      mode_->hand_off(w, p);
    } else {
      keep(w, p);
    }
    mode_->receive(w);
  }

  void keep(StressWorker& w, void* p) {
    w.kept.push_back(p);
    if (w.kept.size() <= kept_cap_) return;
    std::swap(w.kept[w.generator.below(w.kept.size())], w.kept.back());
    void* victim = w.kept.back();
    w.kept.pop_back();
    release(w, victim);
  }

  // Every free, by any thread, verifies the block's canary first.
  void release(StressWorker& w, void* p) {
    const std::uint64_t head = canary_head_of(p);
    const bool intact = check_canary(p) != 0;
    const std::uint64_t ticket = tickets_.take();
    if (!intact)
      finding(FindingKind::contents, ticket,
              fmt::format("worker {}: broken canary on free of block {:#x} (owner {}, id {:#x}, size {})",
                          w.index, head, canary_owner(head), canary_id(head), canary_size(head)));
    const std::uint64_t tag = canary_aux_of(p);
    w.foreign_frees += canary_owner(head) != w.index;
    w.log.push({ticket, head, static_cast<std::uint32_t>(canary_size(head)), LoggedKind::free,
                static_cast<std::uint8_t>(w.index)});
    const hakmem::FreeOutcome out = pool_.free(p);
    w.tally.free(out);
    if (out.route == FreeRoute::rejected)
      return finding(FindingKind::free_outcome, ticket,
                     fmt::format("worker {}: free of live block {:#x} rejected: {}", w.index, head,
                                 hakmem::verdict_name(out.reason)));
    if (intact && !model::route_fits(tag_kind(tag), out.route))
      finding(FindingKind::free_outcome, ticket,
              fmt::format("worker {}: free of live {} block {:#x} routed {}", w.index,
                          block_kind_name(tag_kind(tag)), head, hakmem::free_route_name(out.route)));
    w.bytes_out += tag_usable(tag);
  }

  // The main thread writes the logs of threads that have ended.
  void log_exits() {
    for (StressWorker& w : workers_)
      w.log.push({tickets_.take(), 0, 0, LoggedKind::exit, static_cast<std::uint8_t>(w.index)});
  }

  // After the last round the main thread frees what is still held (on
  // behalf of worker 0, whose log records it).
  void drain_all() {
    StressWorker& w0 = workers_.front();
    for (StressWorker& w : workers_)
      for (void* p : std::exchange(w.kept, {})) release(w0, p);
    mode_->drain([&](void* p) { release(w0, p); });
  }

  // After the counters were compared (the check allocates).
  void end_empty(WorkerThreads& threads) {
    if (failed()) {
      res_.empty_verdict = "not judged (a finding came first)";
    } else if (!threads.end()) {
      res_.empty_verdict = "not judged (oneTBB's worker threads are held by another user)";
    } else if (auto kept = nothing_kept(pool_, routing_)) {
      res_.empty_verdict = "memory kept";
      finding(FindingKind::retained, tickets_.peek(), "at the end, every thread gone: " + *kept);
    } else {
      res_.empty_verdict =
          "empty once every thread was gone, and every class allocated again without a fresh page";
    }
  }

  // round -1: the end, after every block was freed.
  void quiescent_check(int round) {
    const std::string where =
        round < 0 ? std::string("at the end") : fmt::format("after round {}", round + 1);
    const std::uint64_t ticket = tickets_.peek();
    RoundReport rr{.round = round + 1};
    std::uint64_t bytes_in = 0, bytes_out = 0, held = mode_->in_transit();
    for (const StressWorker& w : workers_) {
      rr.allocs += w.tally.allocs;
      rr.frees += w.tally.frees;
      rr.remote_frees += w.tally.remote_frees();
      bytes_in += w.bytes_in;
      bytes_out += w.bytes_out;
      held += w.kept.size();
    }
    const hakmem::InvariantReport rep = pool_.check();
    rr.live_blocks = rep.live_blocks;
    rr.live_bytes = rep.live_bytes;
    rr.remote_pending = rep.remote_pending;
    const hakmem::Census census = pool_.census();
    for (const Divergence& d :
         quiescent_divergences(rep, census, {rr.allocs - rr.frees, bytes_in - bytes_out}))
      finding(d.kind, ticket, where + ": " + d.what);
    if (held != rr.allocs - rr.frees)
      finding(
          FindingKind::lost_block, ticket,
          fmt::format("{}: harness holds {} blocks but {} are unfreed", where, held, rr.allocs - rr.frees));
    if (rep.remote_pending > rr.remote_frees)
      finding(FindingKind::accounting, ticket,
              fmt::format("{}: {} remote frees pending but only {} were pushed", where, rep.remote_pending,
                          rr.remote_frees));
    for (int c = 0; c < hakmem::kNumClasses; ++c) rr.slabs += census.v1_slabs[c] + census.v2_slabs[c];
    const Rss rss = read_rss();
    rr.rss_kb = rss.current_kb;
    res_.peak_rss_kb = rss.peak_kb;
    res_.final_rss_kb = rss.current_kb;
    if (round >= 0) res_.rounds.push_back(rr);
  }

  // The first ~10 s commit what the bounded working set needs (the working
  // set fills, and the slab high-water climbs: about 100 slabs after 2 s,
  // 130 after 10 s with 4 threads); after that a new high is rare. So a
  // timed run of 20 s or more compares its second half with its start:
  // committed slabs may grow by threads + 1 (the noise measured over 12 runs
  // of 20 s, 10 rounds, 4 threads, every mode, was 0-3 slabs), so a page
  // kept per round, rounds/2 = 10 by default, is a finding; RSS may grow by
  // kRssSlackKb (measured: -0.6 to +1.3 MiB). Shorter runs only report.
  void judge_rss() {
    if (res_.rounds.size() < 2) {
      res_.rss_verdict = "not judged (fewer than 2 rounds)";
      return;
    }
    const RoundReport& mid = res_.rounds[(res_.rounds.size() - 1) / 2];
    const RoundReport& last = res_.rounds.back();
    const std::uint64_t slab_limit = mid.slabs + static_cast<std::uint64_t>(spec_.threads) + 1;
    const long rss_limit = mid.rss_kb + kRssSlackKb;
    const std::string figures =
        fmt::format("after round {} vs round {}: {} slabs vs {}, RSS {} KiB vs {} KiB", last.round, mid.round,
                    last.slabs, mid.slabs, last.rss_kb, mid.rss_kb);
    if (spec_.seconds < kJudgeSeconds) {
      res_.rss_verdict = fmt::format("{} (judged in timed runs of {:.0f} s or more)", figures, kJudgeSeconds);
      return;
    }
    res_.rss_verdict = fmt::format("{} (limits +{} = {} slabs, +{} MiB = {} KiB)", figures, spec_.threads + 1,
                                   slab_limit, kRssSlackKb / 1024, rss_limit);
    if (last.slabs > slab_limit || last.rss_kb > rss_limit)
      finding(FindingKind::memory_growth, tickets_.peek(), "memory grows across rounds: " + res_.rss_verdict);
  }

  PoolUnderTest& pool_;
  const StressSpec spec_;
  const model::Routing routing_;
  const std::unique_ptr<Handover> mode_;
  const std::size_t kept_cap_;
  const std::uint64_t remote_ppm_;
  std::deque<StressWorker> workers_;  // never moves: the mode holds references while a round runs
  TicketCounter tickets_;
  std::atomic<std::uint64_t> arrivals_{0};
  std::uint64_t epoch_base_ = 0;
  std::atomic<std::uint64_t> stop_epoch_{0};  // per round; epochs count from 1
  std::atomic<bool> lockstep_lost_{false};
  std::atomic<bool> failed_{false};
  int round_ = 0;
  std::mutex findings_mutex_;
  StressResult res_;
};

}  // namespace

std::string describe_op(const LoggedOp& op) {
  switch (op.kind) {
    case LoggedKind::alloc:
      return fmt::format("#{} w{} alloc {} -> block {:#x}", op.ticket, op.worker, op.size, op.block);
    case LoggedKind::free:
      return fmt::format("#{} w{} free block {:#x} (owner {}, size {})", op.ticket, op.worker, op.block,
                         canary_owner(op.block), op.size);
    case LoggedKind::exit:
      return fmt::format("#{} w{} thread exit", op.ticket, op.worker);
  }
  return "?";
}

StressResult run_parallel(PoolUnderTest& pool, const StressSpec& spec) {
  if (spec.threads < 1 || spec.threads > kMaxStressThreads)
    throw std::invalid_argument(fmt::format("threads must be in 1..{}", kMaxStressThreads));
  if (spec.rounds < 1) throw std::invalid_argument("rounds must be at least 1");
  if (spec.working_set < 1) throw std::invalid_argument("the working set needs at least one slot");
  return ParallelRun(pool, spec).run();
}

}  // namespace hakfuzz::stress
