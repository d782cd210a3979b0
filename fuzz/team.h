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
//
// The OS threads outlive a team: a team borrows a crew, one thread per
// logical thread, from a process-wide list. Creating a thread costs ASan
// about a millisecond (a fresh per-thread allocator cache, and an unmap
// whose TLB flush interrupts the other core at exit), more than a whole
// input. At the end of an input each thread that ran ends as far as the
// allocator can tell, through the very code a thread exit runs
// (PoolUnderTest::end_current_thread); an `exit` op ends its OS thread for
// real, and the next op of that logical thread starts a new one.
#pragma once

#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "fuzz/pool_under_test.h"
#include "fuzz/program.h"
#include "support/baton.h"
#include "support/cpu.h"
#include "support/sanitizer.h"

namespace hakfuzz {

inline constexpr std::memory_order kBatonPost =
    support::kTsanBuild ? std::memory_order_relaxed : std::memory_order_release;
inline constexpr std::memory_order kBatonTake =
    support::kTsanBuild ? std::memory_order_relaxed : std::memory_order_acquire;

class ThreadTeam {
 public:
  explicit ThreadTeam(PoolUnderTest& pool) : pool_(pool), crew_(Crew::borrow()) {}
  ~ThreadTeam() {
    exit_all();
    Crew::give_back(crew_);
  }
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

  // Ends the thread for real (its pages become orphans); a later job
  // starts a new one.
  void exit(int thread) {
    Worker& w = crew_->workers[thread];
    if (!w.in_team) return;
    run(w, Job::exit);
    w.thread.join();
    w.in_team = false;
  }
  // Ends every thread of the team: to the allocator, as an exit does; the
  // OS threads wait for the crew's next team. Synchronises both ways, as the
  // joins of real exits would.
  void exit_all() {
    for (Worker& w : crew_->workers) {
      if (!w.in_team) continue;
      run(w, Job::end, std::memory_order_release, std::memory_order_acquire);
      w.in_team = false;
    }
  }
  bool running(int thread) const { return crew_->workers[thread].in_team; }

  // Brackets a quiescent point where the controller inspects every thread's
  // pages (the invariant walk): call before it (workers' writes happen before
  // the walk) and after it (the walk happens before their next writes). Only
  // these round trips synchronise, so TSan still sees races between them.
  // Outside TSan the baton is release/acquire and passes through this thread
  // between any two jobs, so every worker's writes already happen before the
  // walk and the walk before their next jobs: nothing to do.
  void quiesce() {
    if constexpr (support::kTsanBuild)
      for (Worker& w : crew_->workers)
        if (w.in_team) run(w, Job::sync, std::memory_order_release, std::memory_order_acquire);
  }

 private:
  enum class Job : int { idle, alloc, free, sync, end, exit, done };

  struct Worker {
    std::thread thread;             // joinable while the OS thread lives
    bool in_team = false;           // ran a job for the current team; the controller's alone
    PoolUnderTest* pool = nullptr;  // set before the team's first job, published by it
    std::atomic<Job> job{Job::idle};
    std::atomic<std::size_t> size{0};
    std::atomic<void*> ptr{nullptr};
    std::atomic<std::uint64_t> outcome{0};
  };

  // One OS thread per logical thread, lent to one team at a time.
  struct Crew {
    Worker workers[kMaxThreads];

    static Crew* borrow() {
      CrewList& list = crews();
      std::lock_guard lock(list.mutex);
      if (list.idle.empty()) return new Crew;
      Crew* c = list.idle.back();
      list.idle.pop_back();
      return c;
    }
    static void give_back(Crew* c) {
      CrewList& list = crews();
      std::lock_guard lock(list.mutex);
      list.idle.push_back(c);
    }
  };
  // At process exit the idle crews' threads end for real: one parked for
  // ever keeps records (its thread_local destructors' list) that
  // LeakSanitizer reports. A fork()ed child has none of them to end.
  struct CrewList {
    std::mutex mutex;
    std::vector<Crew*> idle;
    const pid_t owner = ::getpid();
    ~CrewList() {
      if (::getpid() != owner) return;
      for (Crew* c : idle) {
        for (Worker& w : c->workers) {
          if (!w.thread.joinable()) continue;
          run(w, Job::exit, std::memory_order_release, std::memory_order_acquire);
          w.thread.join();
        }
        delete c;
      }
    }
  };
  static CrewList& crews() {
    static CrewList list;
    return list;
  }

  // The logical thread's worker, its OS thread started if it has none, and
  // joined to this team with its first job, which synchronises both ways
  // as a thread's creation would.
  Worker& start(int thread) {
    Worker& w = crew_->workers[thread];
    if (!w.thread.joinable()) {
      w.job.store(Job::idle, std::memory_order_relaxed);
      w.thread = std::thread([&w] { serve(w); });
    }
    if (!w.in_team) {
      w.pool = &pool_;
      w.in_team = true;
      run(w, Job::sync, std::memory_order_release, std::memory_order_acquire);
    }
    return w;
  }

  // The baton's value once `ready` holds. A pool call takes a microsecond or
  // two, a futex sleep and wake-up tens of them on a virtual machine, so the
  // waiter spins a while first, then yields a while: with more threads than
  // cores, a yielding waiter lets the thread that has the job run, and
  // still answers its own post without a wake-up (remote inputs/s doubled).
  template <class Ready>
  static Job await(const std::atomic<Job>& job, Ready ready, std::memory_order take, int spins) {
    for (int spin = 0; spin < spins; ++spin) {
      if (const Job seen = job.load(take); ready(seen)) return seen;
      support::cpu_relax();
    }
    for (int yield = 0; yield < kYields; ++yield) {
      if (const Job seen = job.load(take); ready(seen)) return seen;
      std::this_thread::yield();
    }
    for (Job seen = job.load(take);; seen = job.load(take)) {
      if (ready(seen)) return seen;
      support::baton_wait(job, seen, take);
    }
  }
  // The controller waits for a call in progress: worth a long spin. A
  // worker waits for its next job, which may be many ops away: a short one
  // (a long one on each of several workers starved the one that works).
  static constexpr int kControllerSpins = 2048;
  static constexpr int kWorkerSpins = 256;
  static constexpr int kYields = 512;  // 64: -25%, 2048: -40% (time lost to yielding)

  static void run(Worker& w, Job job, std::memory_order post = kBatonPost,
                  std::memory_order take = kBatonTake) {
    w.job.store(job, post);
    support::baton_wake(w.job);
    await(
        w.job, [](Job seen) { return seen == Job::done; }, take, kControllerSpins);
    w.job.store(Job::idle, std::memory_order_relaxed);
  }

  static void serve(Worker& w) {
    for (;;) {
      const Job job = await(
          w.job, [](Job seen) { return seen != Job::idle && seen != Job::done; }, kBatonTake, kWorkerSpins);
      if (job == Job::sync || job == Job::end) {
        (void)w.job.load(std::memory_order_acquire);  // TSan ignores fences: a real acquire load
        if (job == Job::end) w.pool->end_current_thread();
        w.job.store(Job::done, std::memory_order_release);
        support::baton_wake(w.job);
        continue;
      }
      switch (job) {
        case Job::alloc:
          w.ptr.store(w.pool->alloc(w.size.load(std::memory_order_relaxed)), std::memory_order_relaxed);
          break;
        case Job::free:
          w.outcome.store(hakmem::pack(w.pool->free(w.ptr.load(std::memory_order_relaxed))),
                          std::memory_order_relaxed);
          break;
        default:
          break;
      }
      w.job.store(Job::done, kBatonPost);
      support::baton_wake(w.job);
      if (job == Job::exit) return;
    }
  }

  PoolUnderTest& pool_;
  Crew* crew_;
};

}  // namespace hakfuzz
