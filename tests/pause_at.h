// Stopping one thread at one schedule point of the tester's flavour while
// the test runs something else: the smallest controller, for tests that
// drive one known race by hand.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "hakmem/sched.h"
#include "hakmem/variants.h"

namespace hakmem {

// Stops the thread that armed it at the first `point` it reaches, until
// released; every other thread and point passes.
class PauseAt final : public sched::Controller {
 public:
  explicit PauseAt(sched::Point p) : point_(p) { sched::install(this); }
  ~PauseAt() { sched::install(nullptr); }
  void at(sched::Point p, const void*, std::uint64_t) override {
    if (p != point_ || !t_armed) return;
    t_armed = false;
    std::unique_lock lock(mutex_);
    paused_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
  }
  void result(sched::Point, std::uint64_t) override {}
  void released(const void*) override {}

  void arm() { t_armed = true; }
  bool wait_paused() {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return paused_; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  static inline thread_local bool t_armed = false;
  const sched::Point point_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool paused_ = false, released_ = false;
};

// Runs free(p) on a new thread, stopped at `point` while `meanwhile` runs;
// returns what that free returned.
inline FreeOutcome free_paused(PoolTester& pool, void* p, sched::Point point,
                               const std::function<void()>& meanwhile) {
  PauseAt pause(point);
  FreeOutcome out;
  std::thread freer([&] {
    pause.arm();
    out = pool.free(p);
  });
  const bool paused = pause.wait_paused();
  EXPECT_TRUE(paused) << sched::point_info(point).name << " never reached";
  if (paused) meanwhile();
  pause.release();
  freer.join();
  return out;
}

}  // namespace hakmem
