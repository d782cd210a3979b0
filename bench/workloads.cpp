#include "bench/workloads.h"

#include "support/rng.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

namespace hakfuzz::bench {

namespace {

constexpr std::size_t kMinMid = 2048, kMaxMid = 53248;
constexpr std::size_t kFixedSize = 8192;
constexpr std::size_t kSlots = 1024, kLargeSlots = 64 * 1024;
constexpr std::size_t kRingSize = 1024;  // power of two
constexpr std::size_t kWindow = 64;

// The same seed gives every allocator the identical op sequence.
std::size_t mid_size(support::SplitMix64& rng) { return kMinMid + rng.below(kMaxMid - kMinMid + 1); }

using Clock = std::chrono::steady_clock;

// Every allocation writes its first and last byte, as in the study.
inline void* touch(void* p, std::size_t size) {
  auto* b = static_cast<unsigned char*>(p);
  b[0] = 1;
  b[size - 1] = 1;
  return p;
}

Throughput random_slots(const AllocApi& api, std::size_t slots, bool fixed, std::uint64_t steps,
                        std::uint64_t seed) {
  std::vector<void*> slot(slots, nullptr);
  support::SplitMix64 rng(seed);
  Throughput r;
  auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < steps; ++i) {
    void*& s = slot[rng.below(slots)];
    if (s) {
      api.free(api.ctx, s);
      s = nullptr;
    } else {
      std::size_t size = fixed ? kFixedSize : mid_size(rng);
      s = touch(api.alloc(api.ctx, size), size);
      r.digest += size;
    }
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.ops = steps;
  for (void* p : slot)
    if (p) api.free(api.ctx, p);  // untimed cleanup
  return r;
}

void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  // Best effort: on a 1-CPU machine the workload still runs, only unpinned.
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// Spin briefly, then give the core away: on a loaded 2-core machine a
// waiter that only spins can burn the quantum its peer needs to make room.
struct Backoff {
  int spins = 0;
  void pause() {
    if (++spins < 128) return;
    spins = 0;
    std::this_thread::yield();
  }
};

// Head and tail on their own cache lines: the study found false sharing in
// this harness cuts W3 by 3-5x for every allocator.
struct SpscRing {
  alignas(64) std::atomic<std::uint64_t> head{0};  // written by the producer
  alignas(64) std::atomic<std::uint64_t> tail{0};  // written by the consumer
  alignas(64) void* slots[kRingSize];
};

Throughput remote_free(const AllocApi& api, std::uint64_t steps, std::uint64_t seed) {
  const std::uint64_t blocks = std::max<std::uint64_t>(steps / 4, 1);
  auto ring = std::make_unique<SpscRing>();
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::uint64_t producer_bytes = 0, consumer_bytes = 0;  // per-thread, read after join

  auto producer = [&, api] {
    pin_to_cpu(0);
    support::SplitMix64 rng(seed);
    std::uint64_t bytes = 0;
    ready.fetch_add(1);
    for (Backoff b; !go.load(std::memory_order_acquire);) b.pause();
    for (std::uint64_t i = 0; i < blocks; ++i) {
      std::size_t size = mid_size(rng);
      void* p = touch(api.alloc(api.ctx, size), size);
      bytes += size;
      std::uint64_t h = ring->head.load(std::memory_order_relaxed);
      for (Backoff b; h - ring->tail.load(std::memory_order_acquire) == kRingSize;) b.pause();
      ring->slots[h % kRingSize] = p;
      ring->head.store(h + 1, std::memory_order_release);
    }
    producer_bytes = bytes;
  };
  auto consumer = [&, api] {
    pin_to_cpu(1);
    support::SplitMix64 rng(seed ^ 0xC0FFEEull);
    void* window[kWindow] = {};
    std::uint64_t bytes = 0;
    ready.fetch_add(1);
    for (Backoff b; !go.load(std::memory_order_acquire);) b.pause();
    for (std::uint64_t i = 0; i < blocks; ++i) {
      std::uint64_t t = ring->tail.load(std::memory_order_relaxed);
      for (Backoff b; ring->head.load(std::memory_order_acquire) == t;) b.pause();
      api.free(api.ctx, ring->slots[t % kRingSize]);  // the cross-thread free
      ring->tail.store(t + 1, std::memory_order_release);
      void*& w = window[i % kWindow];
      if (w) api.free(api.ctx, w);
      std::size_t size = mid_size(rng);
      w = touch(api.alloc(api.ctx, size), size);
      bytes += size;
    }
    for (void* p : window)
      if (p) api.free(api.ctx, p);
    consumer_bytes = bytes;
  };

  std::thread a(producer), b(consumer);
  while (ready.load() != 2) std::this_thread::yield();
  auto t0 = Clock::now();
  go.store(true, std::memory_order_release);
  a.join();
  b.join();
  Throughput r;
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.ops = blocks * 4;
  r.digest = producer_bytes + consumer_bytes;
  return r;
}

}  // namespace

const std::vector<WorkloadSpec>& workload_table() {
  static const std::vector<WorkloadSpec> table = {
      {Workload::W1, "W1", "mid-random-mixed 1T"},
      {Workload::W2, "W2", "mid-fixed-class 8 KiB 1T"},
      {Workload::W3, "W3", "mid remote-free 2T"},
      {Workload::W4, "W4", "mid-random-mixed 64 Ki slots 1T"},
  };
  return table;
}

const WorkloadSpec* find_workload(std::string_view key) {
  for (const WorkloadSpec& w : workload_table())
    if (key == w.key) return &w;
  return nullptr;
}

Throughput measure(Workload w, const AllocApi& api, std::uint64_t steps, std::uint64_t seed) {
  switch (w) {
    case Workload::W1:
      return random_slots(api, kSlots, false, steps, seed);
    case Workload::W2:
      return random_slots(api, kSlots, true, steps, seed);
    case Workload::W3:
      return remote_free(api, steps, seed);
    case Workload::W4:
      return random_slots(api, kLargeSlots, false, steps, seed);
  }
  return {};
}

}  // namespace hakfuzz::bench
