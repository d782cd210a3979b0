// Real OS threads that run pool calls one at a time, in exactly the order a
// schedule gives (a Coyote/SockFuzzer-style baton). Thread-local caches,
// owner checks, remote frees and thread exit are real; the interleaving is
// the input's, so a failing schedule replays from its file.
//
// The controller (the thread running the oracle) posts one job to one
// worker and waits for it. Every field crossing threads is an atomic. Under
// ThreadSanitizer the baton uses relaxed ordering so that it creates no
// happens-before of its own: a mutex/condvar baton would hide the
// allocator's real races from TSan (measured, see the research note).
#pragma once

#include <atomic>
#include <thread>

#include "fuzz/pool_under_test.h"
#include "fuzz/program.h"
#include "support/sanitizer.h"

namespace hakfuzz {

inline constexpr std::memory_order kBatonPost =
    support::kTsanBuild ? std::memory_order_relaxed : std::memory_order_release;
inline constexpr std::memory_order kBatonTake =
    support::kTsanBuild ? std::memory_order_relaxed : std::memory_order_acquire;

class ThreadTeam {
 public:
  explicit ThreadTeam(PoolUnderTest& pool) : pool_(pool) {}
  ~ThreadTeam() { exit_all(); }
  ThreadTeam(const ThreadTeam&) = delete;
  ThreadTeam& operator=(const ThreadTeam&) = delete;

  void* alloc(int thread, std::size_t size) {
    Worker& w = start(thread);
    w.size.store(size, std::memory_order_relaxed);
    run(w, Job::alloc);
    return w.ptr.load(std::memory_order_relaxed);
  }

  hakmem::FreeOutcome free(int thread, void* ptr) {
    Worker& w = start(thread);
    w.ptr.store(ptr, std::memory_order_relaxed);
    run(w, Job::free);
    return hakmem::unpack(w.outcome.load(std::memory_order_relaxed));
  }

  // Ends the thread (its pages become orphans); a later job respawns it.
  void exit(int thread) {
    Worker& w = workers_[thread];
    if (!w.thread.joinable()) return;
    run(w, Job::exit);
    w.thread.join();
  }
  void exit_all() {
    for (int t = 0; t < kMaxThreads; ++t) exit(t);
  }
  bool running(int thread) const { return workers_[thread].thread.joinable(); }

  // Brackets a quiescent point where the controller inspects every thread's
  // pages (the invariant walk): call before it (workers' writes happen before
  // the walk) and after it (the walk happens before their next writes). Only
  // these round trips synchronise, so TSan still sees races between them.
  // Outside TSan the baton is release/acquire and passes through this thread
  // between any two jobs, so every worker's writes already happen before the
  // walk and the walk before their next jobs: nothing to do.
  void quiesce() {
    if constexpr (support::kTsanBuild)
      for (Worker& w : workers_)
        if (w.thread.joinable()) run(w, Job::sync, std::memory_order_release, std::memory_order_acquire);
  }

 private:
  enum class Job : int { idle, alloc, free, sync, exit, done };

  struct Worker {
    std::thread thread;
    std::atomic<Job> job{Job::idle};
    std::atomic<std::size_t> size{0};
    std::atomic<void*> ptr{nullptr};
    std::atomic<std::uint64_t> outcome{0};
  };

  Worker& start(int thread) {
    Worker& w = workers_[thread];
    if (!w.thread.joinable()) {
      w.job.store(Job::idle, std::memory_order_relaxed);
      w.thread = std::thread([this, &w] { serve(w); });
    }
    return w;
  }

  void run(Worker& w, Job job, std::memory_order post = kBatonPost, std::memory_order take = kBatonTake) {
    w.job.store(job, post);
    w.job.notify_one();
    for (Job seen = w.job.load(take); seen != Job::done; seen = w.job.load(take)) w.job.wait(seen, take);
    w.job.store(Job::idle, std::memory_order_relaxed);
  }

  void serve(Worker& w) {
    for (;;) {
      Job job = w.job.load(kBatonTake);
      while (job == Job::idle || job == Job::done) {
        w.job.wait(job, kBatonTake);
        job = w.job.load(kBatonTake);
      }
      if (job == Job::sync) {
        (void)w.job.load(std::memory_order_acquire);  // TSan ignores fences: a real acquire load
        w.job.store(Job::done, std::memory_order_release);
        w.job.notify_one();
        continue;
      }
      switch (job) {
        case Job::alloc:
          w.ptr.store(pool_.alloc(w.size.load(std::memory_order_relaxed)), std::memory_order_relaxed);
          break;
        case Job::free:
          w.outcome.store(hakmem::pack(pool_.free(w.ptr.load(std::memory_order_relaxed))),
                          std::memory_order_relaxed);
          break;
        default:
          break;
      }
      w.job.store(Job::done, kBatonPost);
      w.job.notify_one();
      if (job == Job::exit) return;
    }
  }

  PoolUnderTest& pool_;
  Worker workers_[kMaxThreads];
};

}  // namespace hakfuzz
