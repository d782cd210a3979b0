// Real OS threads that run pool calls one at a time, in exactly the order a
// schedule gives (a Coyote/SockFuzzer-style baton). Thread-local caches,
// owner checks, remote frees and thread exits are the allocator's own; the
// interleaving is the input's, so a failing schedule replays from its file.
//
// Who runs the oracle (OracleOn). Outside TSan the op's own thread runs the
// whole op, the oracle's side included, and hands the baton straight to the
// next op's thread: one hand-off per change of thread. Under
// ThreadSanitizer the baton uses relaxed ordering so that it creates no
// happens-before of its own: a mutex/condvar baton would hide the
// allocator's real races from TSan (measured, see the research note). The
// oracle's data, passed from thread to thread, would then look raced, so
// there the controller (the team's maker) runs the oracle and each pool
// call is a round trip to a worker. Every field a worker shares with the
// controller is an atomic.
//
// The OS threads outlive a team: a team borrows a crew, one thread per
// logical thread, from a process-wide list. Creating a thread costs ASan
// about 0.4 ms here (a fresh per-thread allocator cache whose refill
// faults in pages, and an unmap whose TLB flush interrupts the other core
// at exit), more than a whole input. A thread ends, at an `exit` op and at
// the end of an input, as far as the allocator can tell: through the very
// code a thread exit runs (PoolUnderTest::end_current_thread), its OS
// thread kept for the logical thread's next op. With os_exits an `exit`
// op ends the OS thread as well (tests/runner_test.cpp: the same verdicts).
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "oracle/pool_under_test.h"
#include "program/program.h"
#include "support/baton.h"
#include "support/cpu.h"
#include "support/sanitizer.h"

namespace hakfuzz {

inline constexpr std::memory_order kBatonPost =
    support::kTsanBuild ? std::memory_order_relaxed : std::memory_order_release;
inline constexpr std::memory_order kBatonTake =
    support::kTsanBuild ? std::memory_order_relaxed : std::memory_order_acquire;

// Where the oracle's side of an op runs. Both judge alike, op for op
// (tests/runner_test.cpp), the pool calls being made on the same threads in
// the same order.
//   controller: on the team's maker; a pool call is a round trip to its
//               thread (two hand-offs per op). The one choice under TSan.
//   op_thread:  on the op's thread, which passes the baton on itself (one
//               hand-off per change of thread, none within a run of one
//               thread's ops). Needs a baton that synchronises.
enum class OracleOn : std::uint8_t { driver, op_thread };
inline constexpr OracleOn kDefaultOracleOn = support::kTsanBuild ? OracleOn::driver : OracleOn::op_thread;

class ThreadTeam {
 public:
  // Seats of an op besides a logical thread: the team's maker, or
  // whichever thread holds the baton.
  static constexpr int kDriver = -1;
  static constexpr int kAnyThread = -2;

  // os_exits: an exit op ends the OS thread too, not only the thread's
  // life in the allocator (see exit).
  explicit ThreadTeam(PoolUnderTest& pool, OracleOn oracle = kDefaultOracleOn, bool os_exits = false)
      : pool_(pool), oracle_(oracle), os_exits_(os_exits), crew_(Crew::borrow()) {
    if (support::kTsanBuild && oracle == OracleOn::op_thread) {
      Crew::give_back(crew_);
      throw std::invalid_argument("ThreadTeam: under TSan only the controller may run the oracle");
    }
  }
  ~ThreadTeam() {
    exit_all();
    Crew::give_back(crew_);
  }
  ThreadTeam(const ThreadTeam&) = delete;
  ThreadTeam& operator=(const ThreadTeam&) = delete;

  // Runs body(0), body(1), ... body(n - 1) in order until one returns false,
  // each on the thread seat(i) names. Under OracleOn::driver every body
  // runs here and only its pool calls (alloc, free) go to their threads.
  void play(std::size_t n, std::function<int(std::size_t)> seat, std::function<bool(std::size_t)> body) {
    play_ = {0, n, false, std::move(seat), std::move(body)};
    while (play_.next < play_.end && !play_.stopped) {
      const int at = play_.seat(play_.next);
      if (oracle_ == OracleOn::driver || at < 0) {
        play_one();
        continue;
      }
      Worker& w = start(at);
      post(w, Job::play);
      await(
          crew_->home, [](Job seen) { return seen == Job::done; }, kBatonTake, kCaller);
      crew_->home.store(Job::idle, std::memory_order_relaxed);
    }
  }

  // A pool call on the logical thread: on the calling thread when it is that
  // thread (an op_thread play), else a round trip to it.
  void* alloc(int thread, std::size_t size) {
    if (oracle_ == OracleOn::op_thread) return local(thread).alloc(size);
    Worker& w = start(thread);
    w.size.store(size, std::memory_order_relaxed);
    run(w, Job::alloc);
    return w.ptr.load(std::memory_order_relaxed);
  }

  hakmem::FreeOutcome free(int thread, void* ptr) {
    if (oracle_ == OracleOn::op_thread) return local(thread).free(ptr);
    Worker& w = start(thread);
    w.ptr.store(ptr, std::memory_order_relaxed);
    run(w, Job::free);
    return hakmem::unpack(w.outcome.load(std::memory_order_relaxed));
  }

  // Ends the logical thread (its pages become orphans); its next op starts
  // a new one. Any thread may call it, the logical thread's own included;
  // with os_exits (the OS thread is joined) only the controller.
  void exit(int thread) {
    Worker& w = crew_->workers[thread];
    if (!w.in_team) return;
    if (os_exits_) {
      run(w, Job::exit);
      w.thread.join();
    } else if (w.thread.get_id() == std::this_thread::get_id()) {
      pool_.end_current_thread();
    } else {
      run(w, Job::end, std::memory_order_release, std::memory_order_acquire);
    }
    w.in_team = false;
  }
  // Ends every thread of the team: to the allocator, as an exit does; the
  // OS threads wait for the crew's next team. Synchronises both ways, as the
  // joins of real exits would. One at a time: threads that ended together
  // would free their slots in a racy order, and slots are handed out again.
  void exit_all() {
    for (Worker& w : crew_->workers) {
      if (!w.in_team) continue;
      run(w, Job::end, std::memory_order_release, std::memory_order_acquire);
      w.in_team = false;
    }
  }
  // Whether an exit op must be the controller's (see exit).
  bool exits_on_driver() const { return os_exits_; }
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
  enum class Job : int { idle, alloc, free, sync, end, exit, play, done };

  struct Worker {
    std::thread thread;          // joinable while the OS thread lives
    bool in_team = false;        // ran a job for the current team; the baton holder's alone
    ThreadTeam* team = nullptr;  // set before the team's first job, published by it
    std::atomic<Job> job{Job::idle};
    std::atomic<std::size_t> size{0};
    std::atomic<void*> ptr{nullptr};
    std::atomic<std::uint64_t> outcome{0};
  };

  // One OS thread per logical thread, lent to one team at a time.
  struct Crew {
    Worker workers[kMaxThreads];
    // Where a play gives the baton back to the controller. In the crew, not
    // the team: the worker wakes its sleeper after the store, when the
    // controller may already have moved on and ended the team.
    std::atomic<Job> home{Job::idle};

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
  // joined to this team.
  Worker& start(int thread) {
    Worker& w = crew_->workers[thread];
    if (!w.thread.joinable()) {
      w.job.store(Job::idle, std::memory_order_relaxed);
      w.thread = std::thread([&w] { serve(w); });
    }
    if (!w.in_team) join(w);
    return w;
  }
  // Its first job synchronises both ways, as a thread's creation would. In
  // an op_thread play the post of the baton already does.
  void join(Worker& w) {
    w.team = this;
    w.in_team = true;
    if (oracle_ == OracleOn::driver)
      run(w, Job::sync, std::memory_order_release, std::memory_order_acquire);
  }

  // The baton's value once `ready` holds. A pool call takes a microsecond or
  // two, a futex sleep and wake-up tens of them on a virtual machine, so the
  // waiter spins a while first, then yields a while: with more threads than
  // cores, a yielding waiter lets the thread that has the job run, and
  // still answers its own post without a wake-up (remote inputs/s doubled).
  struct Patience {
    int spins, yields;
  };
  template <class Ready>
  static Job await(const std::atomic<Job>& job, Ready ready, std::memory_order take, Patience patience) {
    for (int spin = 0; spin < patience.spins; ++spin) {
      if (const Job seen = job.load(take); ready(seen)) return seen;
      support::cpu_relax();
    }
    for (int yield = 0; yield < patience.yields; ++yield) {
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
  // Yields: 64 was 25% slower, 2048 40% slower (time lost to yielding).
  // A worker that slept at once when the play's next 8 ops were not its own
  // made `remote` 20% slower: its wake-up cost more than the yields.
  static constexpr Patience kCaller{2048, 512};
  static constexpr Patience kWorker{256, 512};

  static void post(Worker& w, Job job, std::memory_order order = kBatonPost) {
    w.job.store(job, order);
    support::baton_wake(w.job);
  }

  static void run(Worker& w, Job job, std::memory_order post_order = kBatonPost,
                  std::memory_order take = kBatonTake) {
    post(w, job, post_order);
    await(
        w.job, [](Job seen) { return seen == Job::done; }, take, kCaller);
    w.job.store(Job::idle, std::memory_order_relaxed);
  }

  static void serve(Worker& w) {
    for (;;) {
      const Job job = await(
          w.job, [](Job seen) { return seen != Job::idle && seen != Job::done; }, kBatonTake, kWorker);
      if (job == Job::sync || job == Job::end) {
        (void)w.job.load(std::memory_order_acquire);  // TSan ignores fences: a real acquire load
        if (job == Job::end) w.team->pool_.end_current_thread();
        post(w, Job::done, std::memory_order_release);
        continue;
      }
      if (job == Job::play) {
        w.team->carry(w);
        continue;
      }
      switch (job) {
        case Job::alloc:
          w.ptr.store(w.team->pool_.alloc(w.size.load(std::memory_order_relaxed)), std::memory_order_relaxed);
          break;
        case Job::free:
          w.outcome.store(hakmem::pack(w.team->pool_.free(w.ptr.load(std::memory_order_relaxed))),
                          std::memory_order_relaxed);
          break;
        default:
          break;
      }
      post(w, Job::done);
      if (job == Job::exit) return;
    }
  }

  void play_one() {
    if (!play_.body(play_.next)) play_.stopped = true;
    ++play_.next;
  }

  // `me` holds the baton: plays ops while they are its own or anyone's,
  // then passes the baton to the next op's thread, or home to the
  // controller when that thread is not running (the controller starts
  // threads and joins them) or the play is over. `me` is idle before the
  // baton leaves it: its next job may come at once.
  void carry(Worker& me) {
    const int self = static_cast<int>(&me - crew_->workers);
    for (;;) {
      play_one();
      if (play_.stopped || play_.next == play_.end) break;
      const int at = play_.seat(play_.next);
      if (at == kAnyThread) continue;
      if (at == kDriver || !crew_->workers[at].thread.joinable()) break;
      Worker& to = crew_->workers[at];
      if (!to.in_team) join(to);  // new, or ended by an exit op (`me` too)
      if (at == self) continue;
      me.job.store(Job::idle, std::memory_order_relaxed);
      post(to, Job::play);
      return;
    }
    me.job.store(Job::idle, std::memory_order_relaxed);
    crew_->home.store(Job::done, kBatonPost);
    support::baton_wake(crew_->home);
  }

  // A pool call off its logical thread's OS thread would change what the
  // allocator sees (owner checks, thread caches): never a verdict to trust.
  PoolUnderTest& local(int thread) {
    if (crew_->workers[thread].thread.get_id() != std::this_thread::get_id()) {
      std::fprintf(stderr,
                   "hakfuzz: internal error: a pool call of logical thread %d ran on another thread\n",
                   thread);
      std::abort();
    }
    return pool_;
  }

  struct Play {
    std::size_t next = 0, end = 0;
    bool stopped = false;
    std::function<int(std::size_t)> seat;
    std::function<bool(std::size_t)> body;
  };

  PoolUnderTest& pool_;
  const OracleOn oracle_;
  const bool os_exits_;
  Crew* crew_;
  Play play_;  // the baton holder's alone
};

}  // namespace hakfuzz
