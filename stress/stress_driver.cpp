#include "stress/stress_driver.h"

#include <fmt/format.h>
#include <tbb/concurrent_queue.h>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include "hakmem/variants.h"
#include "fuzz/runner.h"
#include "stress/canary.h"
#include "stress/crash_hook.h"
#include "stress/rng.h"
#include "stress/rss.h"

namespace hakfuzz::stress {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxFindings = 16;
constexpr std::size_t kLastOpsKept = 12;
constexpr auto kLockstepTimeout = std::chrono::seconds(2);
constexpr std::uint64_t kEpochSteps = 32;
constexpr std::uint64_t kPlantAt = 50;  // worker 0's block whose canary --plant breaks
// Flat memory: the working set is bounded, so once the first round has
// committed the pages it needs, RSS may wobble but not keep growing.
constexpr long kRssSlackKb = 64 * 1024;

template <class P>
class Driver {
 public:
  Driver(P& pool, const DriverSpec& spec)
      : pool_(pool),
        spec_(spec),
        slots_(spec.working_set),
        local_cap_(std::max<std::size_t>(1, spec.working_set / spec.threads)),
        remote_ppm_(static_cast<std::uint64_t>(spec.remote_ratio * 1e6)) {
    queue_.set_capacity(static_cast<std::ptrdiff_t>(spec.working_set));
    workers_.reserve(spec.threads);
    for (int w = 0; w < spec.threads; ++w) workers_.emplace_back(spec.seed ^ mix64(w + 1));
  }

  DriverResult run() {
    const auto t0 = Clock::now();
    std::optional<CrashHook> crash_hook;
    if (spec_.on_crash) crash_hook.emplace([this](int sig) { report_crash(sig); });
    for (int r = 0; r < spec_.rounds && !failed(); ++r) {
      round_ = r;
      run_round();
      if (spec_.mode == StressMode::churn) log_exits();
      quiescent_check(r);
    }
    drain_all();
    quiescent_check(-1);
    res_.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    res_.lockstep_lost = lockstep_lost_.load();
    judge_rss();
    for (const Worker& w : workers_) {
      res_.tally += w.tally;
      res_.handed_off += w.handed_off;
      res_.foreign_frees += w.foreign_frees;
      res_.last_ops.push_back(w.log.last(kLastOpsKept));
    }
    res_.ops = res_.tally.allocs + res_.tally.frees;
    std::vector<const OpLog*> logs;
    for (const Worker& w : workers_) logs.push_back(&w.log);
    res_.window = merge_by_ticket(logs, kMaxOpsPerRun);
    return std::move(res_);
  }

 private:
  struct Worker {
    explicit Worker(std::uint64_t seed) : rng(seed) {}
    SplitMix64 rng;
    Tally tally;
    OpLog log;
    std::vector<void*> local;
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

  // From the signal handler: other workers may still be running, so their
  // logs are read racily; they stop at their next epoch.
  void report_crash(int sig) {
    failed_.store(true);
    DriverResult partial;
    partial.findings.push_back(
        fmt::format("crashed: signal {} ({}) during round {}", sig, strsignal(sig), round_ + 1));
    std::vector<const OpLog*> logs;
    for (const Worker& w : workers_) {
      partial.last_ops.push_back(w.log.last(kLastOpsKept));
      logs.push_back(&w.log);
    }
    partial.window = merge_by_ticket(logs, kMaxOpsPerRun);
    partial.rss_verdict = "not judged (crashed)";
    spec_.on_crash(partial);
  }

  bool failed() const { return failed_.load(std::memory_order_relaxed); }

  void finding(std::string what) {
    failed_.store(true, std::memory_order_relaxed);
    std::lock_guard lock(findings_mutex_);
    if (res_.findings.size() < kMaxFindings) res_.findings.push_back(std::move(what));
  }

  void run_round() {
    // Epoch counts continue across rounds: every worker left the last round
    // at the same epoch, so its arrivals are a multiple of the thread count.
    epoch_base_ = arrivals_.load() / static_cast<std::uint64_t>(spec_.threads);
    stop_epoch_.store(std::numeric_limits<std::uint64_t>::max());
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(spec_.seconds / spec_.rounds));
    const std::uint64_t steps = (spec_.ops + static_cast<std::uint64_t>(spec_.threads * spec_.rounds) - 1) /
                                (spec_.threads * spec_.rounds);
    auto body = [&, deadline, steps](int w) { work(w, deadline, steps); };
    if (spec_.mode == StressMode::churn) {
      std::vector<std::thread> threads;
      for (int w = 0; w < spec_.threads; ++w) threads.emplace_back(body, w);
      for (std::thread& t : threads) t.join();
      return;
    }
    // TBB caps its workers at cores - 1 by default; a worker it never runs
    // would leave the others waiting at the start line.
    tbb::global_control cap(tbb::global_control::max_allowed_parallelism,
                            static_cast<std::size_t>(spec_.threads) + 1);
    tbb::task_arena arena(spec_.threads);
    arena.execute([&] {
      tbb::task_group tg;
      for (int w = 0; w < spec_.threads; ++w) tg.run([&, w] { body(w); });
      tg.wait();
    });
  }

  void work(int wid, Clock::time_point deadline, std::uint64_t steps) {
    Worker& w = workers_[wid];
    std::uint64_t done = 0;
    for (std::uint64_t epoch = 1;; ++epoch) {
      // A worker names the epoch to stop at before arriving there; everyone
      // reads it after all arrived, so all leave at the same epoch (a fast
      // worker may already name the next one while a slow one reads).
      if (failed() || (spec_.seconds > 0 ? Clock::now() >= deadline : done >= steps)) stop_at(epoch);
      lockstep(epoch);
      if (stop_epoch_.load() <= epoch) break;
      for (std::uint64_t i = 0; i < kEpochSteps && (spec_.seconds > 0 || done < steps); ++i, ++done)
        step(w, wid);
    }
    // A churn thread is about to exit: its own blocks go to the slots, where
    // the next round's threads free them into pages whose owner is gone.
    if (spec_.mode == StressMode::churn)
      for (void* p : std::exchange(w.local, {})) exchange(w, wid, p);
  }

  void step(Worker& w, int wid) {
    const std::size_t size = draw_size(spec_.mix, w.rng);
    void* p = pool_.alloc(size);
    if (!p) return finding(fmt::format("worker {}: alloc({}) returned null", wid, size));
    const hakmem::BlockInfo info = pool_.block_info(p);
    w.tally.note_alloc(info);
    w.bytes_in += info.usable;
    const std::uint64_t head =
        canary_head(wid, static_cast<std::uint64_t>(round_) << 24 | (w.next_id++ & 0xFFFFFF), size);
    put_canary(p, head, size, info.usable);
    if (spec_.plant_canary && wid == 0 && w.next_id == kPlantAt) write_word(p, size - 8, 0);
    w.log.push({tickets_.take(), head, static_cast<std::uint32_t>(size), LoggedKind::alloc,
                static_cast<std::uint8_t>(wid)});
    if (w.rng.below(1'000'000) < remote_ppm_) {
      ++w.handed_off;
      hand_off(w, wid, p);
    } else
      keep(w, wid, p);
    // Consume only from a half-full queue: popping right after a push would
    // mostly take back the block just pushed, and the free would be local.
    void* received;
    if (spec_.mode == StressMode::handoff && queue_.size() >= queue_half_ && queue_.try_pop(received))
      release(w, wid, received);
  }

  void keep(Worker& w, int wid, void* p) {
    w.local.push_back(p);
    if (w.local.size() <= local_cap_) return;
    std::swap(w.local[w.rng.below(w.local.size())], w.local.back());
    void* victim = w.local.back();
    w.local.pop_back();
    release(w, wid, victim);
  }

  void hand_off(Worker& w, int wid, void* p) {
    if (spec_.mode != StressMode::handoff) return exchange(w, wid, p);
    // Full queue: consume before producing, so the bound holds.
    while (!queue_.try_push(p)) {
      void* q;
      if (queue_.try_pop(q)) release(w, wid, q);
    }
  }

  void exchange(Worker& w, int wid, void* p) {
    if (void* old = slots_[w.rng.below(slots_.size())].exchange(p, std::memory_order_acq_rel))
      release(w, wid, old);
  }

  // Every free, by any thread, verifies the block's canary first.
  void release(Worker& w, int wid, void* p) {
    const std::uint64_t head = canary_head_of(p);
    const std::size_t size = check_canary(p);
    if (!size)
      finding(fmt::format("worker {}: broken canary on free of block {:#x} (owner {}, id {:#x}, size {})",
                          wid, head, canary_owner(head), canary_id(head), canary_size(head)));
    const std::uint64_t usable = canary_aux_of(p);
    w.foreign_frees += canary_owner(head) != wid;
    w.log.push({tickets_.take(), head, static_cast<std::uint32_t>(canary_size(head)), LoggedKind::free,
                static_cast<std::uint8_t>(wid)});
    const hakmem::FreeOutcome out = pool_.free(p);
    w.tally.note_free(out);
    if (out.route == hakmem::FreeRoute::rejected)
      return finding(fmt::format("worker {}: free of live block {:#x} rejected: {}", wid, head,
                                 hakmem::verdict_name(out.reason)));
    w.bytes_out += usable;
  }

  // The main thread writes the logs of threads that have ended.
  void log_exits() {
    for (int wid = 0; wid < spec_.threads; ++wid)
      workers_[wid].log.push({tickets_.take(), 0, 0, LoggedKind::exit, static_cast<std::uint8_t>(wid)});
  }

  // After the last round the main thread frees what is still held (on
  // behalf of worker 0, whose log records it).
  void drain_all() {
    Worker& w0 = workers_[0];
    for (Worker& w : workers_)
      for (void* p : std::exchange(w.local, {})) release(w0, 0, p);
    for (auto& slot : slots_)
      if (void* p = slot.exchange(nullptr, std::memory_order_acq_rel)) release(w0, 0, p);
    for (void* p; queue_.try_pop(p);) release(w0, 0, p);
  }

  std::uint64_t held_blocks() const {
    std::uint64_t held = static_cast<std::uint64_t>(std::max<std::ptrdiff_t>(0, queue_.size()));
    for (const Worker& w : workers_) held += w.local.size();
    for (const auto& slot : slots_) held += slot.load(std::memory_order_acquire) != nullptr;
    return held;
  }

  // round -1: the end, after every block was freed.
  void quiescent_check(int round) {
    const std::string where =
        round < 0 ? std::string("at the end") : fmt::format("after round {}", round + 1);
    RoundReport rr{.round = round + 1};
    std::uint64_t bytes_in = 0, bytes_out = 0;
    for (const Worker& w : workers_) {
      rr.allocs += w.tally.allocs;
      rr.frees += w.tally.frees;
      bytes_in += w.bytes_in;
      bytes_out += w.bytes_out;
    }
    const hakmem::InvariantReport rep = pool_.check();
    rr.live_blocks = rep.live_blocks;
    rr.live_bytes = rep.live_bytes;
    if (!rep.ok) finding(fmt::format("invariant walk {}: {}", where, rep.first_error));
    if (rep.live_blocks != rr.allocs - rr.frees)
      finding(fmt::format("accounting {}: pool has {} live blocks, harness {} allocated - {} freed", where,
                          rep.live_blocks, rr.allocs, rr.frees));
    if (rep.live_bytes != bytes_in - bytes_out)
      finding(fmt::format("accounting {}: pool has {} live bytes, harness {} allocated - {} freed", where,
                          rep.live_bytes, bytes_in, bytes_out));
    if (const std::uint64_t held = held_blocks(); held != rr.allocs - rr.frees)
      finding(fmt::format("{}: harness holds {} blocks but {} are unfreed (a block was lost)", where, held,
                          rr.allocs - rr.frees));
    const Rss rss = read_rss();
    rr.rss_kb = rss.current_kb;
    res_.peak_rss_kb = rss.peak_kb;
    res_.final_rss_kb = rss.current_kb;
    if (round >= 0) res_.rounds.push_back(rr);
  }

  void judge_rss() {
    if (res_.rounds.size() < 2) {
      res_.rss_verdict = "not judged (fewer than 2 rounds)";
      return;
    }
    const long base = res_.rounds.front().rss_kb, last = res_.rounds.back().rss_kb;
    const long limit = 2 * base + kRssSlackKb;
    res_.rss_verdict = fmt::format(
        "RSS after the last round {} KiB vs {} KiB after round 1; the limit is 2x round 1 + {} MiB = {} KiB",
        last, base, kRssSlackKb / 1024, limit);
    if (last > limit) finding("memory grows without bound across rounds: " + res_.rss_verdict);
  }

  P& pool_;
  const DriverSpec spec_;
  std::vector<std::atomic<void*>> slots_;
  tbb::concurrent_bounded_queue<void*> queue_;
  const std::size_t local_cap_;
  const std::uint64_t remote_ppm_;
  const std::ptrdiff_t queue_half_ =
      std::max<std::ptrdiff_t>(1, static_cast<std::ptrdiff_t>(spec_.working_set / 2));
  std::vector<Worker> workers_;
  TicketCounter tickets_;
  std::atomic<std::uint64_t> arrivals_{0};
  std::uint64_t epoch_base_ = 0;
  std::atomic<std::uint64_t> stop_epoch_{0};  // per round; epochs count from 1
  std::atomic<bool> lockstep_lost_{false};
  std::atomic<bool> failed_{false};
  int round_ = 0;
  std::mutex findings_mutex_;
  DriverResult res_;
};

}  // namespace

const char* stress_mode_name(StressMode m) {
  constexpr const char* names[] = {"exchange", "handoff", "churn"};
  return names[static_cast<int>(m)];
}

std::optional<StressMode> parse_stress_mode(std::string_view s) {
  for (StressMode m : {StressMode::exchange, StressMode::handoff, StressMode::churn})
    if (s == stress_mode_name(m)) return m;
  return std::nullopt;
}

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

template <class P>
DriverResult run_driver(P& pool, const DriverSpec& spec) {
  if (spec.threads < 1 || spec.threads > 255) throw std::invalid_argument("threads must be in 1..255");
  if (spec.rounds < 1) throw std::invalid_argument("rounds must be at least 1");
  if (spec.working_set < 1) throw std::invalid_argument("the working set needs at least one slot");
  return Driver<P>(pool, spec).run();
}

template DriverResult run_driver(hakmem::PoolStatsOff&, const DriverSpec&);
template DriverResult run_driver(hakmem::PoolStatsOn&, const DriverSpec&);

}  // namespace hakfuzz::stress
