#include "stress/remote_stress.h"

#include <fmt/format.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "hakmem/variants.h"
#include "stress/canary.h"
#include "stress/rng.h"
#include "stress/size_mix.h"

namespace hakfuzz::stress {

namespace {

constexpr std::size_t kMaxFindings = 8;
constexpr auto kBarrierTimeout = std::chrono::seconds(2);
constexpr std::uint64_t kRoundOps = 32;

}  // namespace

template <class P>
StressResult run_stress(P& pool, const StressSpec& spec) {
  StressResult res;
  std::vector<std::atomic<void*>> slots(spec.slots);
  std::vector<Tally> tallies(spec.threads);
  std::mutex findings_mutex;
  auto finding = [&](std::string what) {
    std::lock_guard lock(findings_mutex);
    if (res.findings.size() < kMaxFindings) res.findings.push_back(std::move(what));
  };
  std::atomic<std::uint64_t> arrivals{0};
  std::atomic<bool> serialised{false};
  // Workers move in lockstep rounds of kRoundOps. A whole worker loop is
  // shorter than a scheduler time slice, so without the barrier one worker
  // often finishes before the other starts (on a busy 2-core machine this is
  // the norm) and nearly every free is local. Waiting yields, so workers that
  // share a core still alternate; the deadline covers a worker TBB never ran.
  auto barrier = [&](std::uint64_t round) {
    arrivals.fetch_add(1);
    auto deadline = std::chrono::steady_clock::now() + kBarrierTimeout;
    while (!serialised.load(std::memory_order_relaxed) && arrivals.load() < round * spec.threads) {
      if (std::chrono::steady_clock::now() > deadline) serialised = true;
      std::this_thread::yield();
    }
  };
  const std::uint64_t per_worker = (spec.ops + spec.threads - 1) / spec.threads;
  const std::uint64_t rounds = (per_worker + kRoundOps - 1) / kRoundOps;

  auto worker = [&](int w) {
    Tally& t = tallies[w];
    SplitMix64 rng(spec.seed ^ mix64(static_cast<std::uint64_t>(w) + 1));
    std::uint64_t n = spec.ops / spec.threads + (static_cast<std::uint64_t>(w) < spec.ops % spec.threads);
    for (std::uint64_t round = 0; round < rounds; ++round) {
      barrier(round + 1);
      for (std::uint64_t i = round * kRoundOps; i < std::min(n, (round + 1) * kRoundOps); ++i) {
        std::size_t size = draw_size(SizeMix::mixed, rng);
        void* p = pool.alloc(size);
        if (!p) {
          finding(fmt::format("worker {}: alloc({}) returned null", w, size));
          continue;
        }
        t.note_alloc(pool.block_info(p));
        put_canary(p, canary_head(w, i, size), size);
        void* old = slots[rng.below(slots.size())].exchange(p, std::memory_order_acq_rel);
        // A block of our own goes back into the pool of slots (twice at
        // most), so even with two workers most frees are remote.
        for (int again = 0; again < 2 && old && canary_owner(canary_head_of(old)) == w; ++again)
          old = slots[rng.below(slots.size())].exchange(old, std::memory_order_acq_rel);
        if (!old) continue;
        if (!check_canary(old)) finding(fmt::format("worker {}: canary of a received block is broken", w));
        hakmem::FreeOutcome out = pool.free(old);
        t.note_free(out);
        if (out.route == hakmem::FreeRoute::rejected)
          finding(fmt::format("worker {}: free of a live block rejected: {}", w,
                              hakmem::verdict_name(out.reason)));
      }
    }
  };

  tbb::task_arena arena(spec.threads);
  arena.execute([&] {
    tbb::task_group tg;
    for (int w = 0; w < spec.threads; ++w) tg.run([&, w] { worker(w); });
    tg.wait();
  });
  res.concurrent = !serialised;
  for (const Tally& t : tallies) res.tally += t;

  // Quiescent: every block is either in a slot or freed.
  hakmem::InvariantReport r = pool.check();
  if (!r.ok) finding("invariant walk after the parallel phase: " + r.first_error);
  if (r.live_blocks != res.tally.allocs - res.tally.frees)
    finding(
        fmt::format("accounting after the parallel phase: pool has {} live, harness {} allocated - {} freed",
                    r.live_blocks, res.tally.allocs, res.tally.frees));
  res.remote_pending = r.remote_pending;
  if (r.remote_pending > res.tally.remote_total())
    finding(fmt::format("{} remote frees pending but only {} were pushed", r.remote_pending,
                        res.tally.remote_total()));
  else
    res.drained = res.tally.remote_total() - r.remote_pending;

  for (auto& s : slots)
    if (void* p = s.exchange(nullptr)) {
      if (!check_canary(p)) finding("canary of a block left in a slot is broken");
      hakmem::FreeOutcome out = pool.free(p);
      res.tally.note_free(out);
      if (out.route == hakmem::FreeRoute::rejected) finding("free of a slot block rejected");
    }
  r = pool.check();
  if (!r.ok) finding("final invariant walk: " + r.first_error);
  if (r.live_blocks != 0 || res.tally.allocs != res.tally.frees)
    finding(fmt::format("final accounting: pool has {} live, harness {} allocated - {} freed", r.live_blocks,
                        res.tally.allocs, res.tally.frees));
  res.ops = res.tally.allocs + res.tally.frees;
  res.stats = pool.stats();
  return res;
}

template StressResult run_stress(hakmem::PoolStatsOff&, const StressSpec&);
template StressResult run_stress(hakmem::PoolStatsOn&, const StressSpec&);

}  // namespace hakfuzz::stress
