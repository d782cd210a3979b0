// Real OS threads that run pool calls one at a time, in exactly the order a
// schedule gives (a Coyote/SockFuzzer-style baton). Thread-local caches,
// owner checks, remote frees and thread exits are the allocator's own; the
// interleaving is the input's, so a failing schedule replays from its file.
// The threads are a crew's (exec/crew.h), borrowed for the team's life.
//
// Who runs the oracle (OracleOn). Outside TSan the op's own thread runs the
// whole op, the oracle's side included, and hands the baton straight to the
// next op's thread: one hand-off per change of thread. Under
// ThreadSanitizer the baton uses relaxed ordering so that it creates no
// happens-before of its own: a mutex/condvar baton would hide the
// allocator's real races from TSan. The oracle's data, passed from thread
// to thread, would then look raced, so there the driver (the team's maker)
// runs the oracle and each pool call is a round trip to a worker. Every
// field a worker shares with the driver is an atomic.
//
// A thread ends, at an `exit` op and at the end of an input, as far as the
// allocator can tell: through the very code a thread exit runs
// (PoolUnderTest::end_current_thread), its OS thread kept for the logical
// thread's next op. With os_exits an `exit` op ends the OS thread as well
// (tests/runner_test.cpp: the same verdicts). The team's loop stays on its
// seats after the team (a crew resident), waiting for the next team's
// jobs: a launch per seat and input cost `remote` a fifth of its inputs.
#pragma once

#include <atomic>
#include <functional>

#include "exec/crew.h"
#include "oracle/pool_under_test.h"
#include "support/baton.h"
#include "support/sanitizer.h"

namespace hakfuzz {

// Where the oracle's side of an op runs. Both judge alike, op for op
// (tests/runner_test.cpp), the pool calls being made on the same threads in
// the same order.
//   driver:     on the team's maker; a pool call is a round trip to its
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
  explicit ThreadTeam(PoolUnderTest& pool, OracleOn oracle = kDefaultOracleOn, bool os_exits = false);
  ~ThreadTeam();
  ThreadTeam(const ThreadTeam&) = delete;
  ThreadTeam& operator=(const ThreadTeam&) = delete;

  // Runs body(0), body(1), ... body(n - 1) in order until one returns false,
  // each on the thread seat(i) names. Under OracleOn::driver every body
  // runs here and only its pool calls (alloc, free) go to their threads.
  void play(std::size_t n, std::function<int(std::size_t)> seat, std::function<bool(std::size_t)> body);

  // A pool call on the logical thread: on the calling thread when it is that
  // thread (an op_thread play), else a round trip to it.
  void* alloc(int thread, std::size_t size);
  hakmem::FreeOutcome free(int thread, void* ptr);

  // Ends the logical thread (its pages become orphans); its next op starts
  // a new one. Any thread may call it, the logical thread's own included;
  // with os_exits (the OS thread ends) only the driver.
  void exit(int thread);
  // Ends every thread of the team, to the allocator as an exit does.
  // Synchronises both ways, as the joins of real exits would. One at a time: threads that ended together
  // would free their slots in a racy order, and slots are handed out again.
  void exit_all();
  // Whether an exit op must be the driver's (see exit).
  bool exits_on_driver() const { return os_exits_; }
  bool running(int thread) const { return in_team_[thread]; }

  // Brackets a quiescent point where the driver inspects every thread's
  // pages (the invariant walk): call before it (workers' writes happen before
  // the walk) and after it (the walk happens before their next writes). Only
  // these round trips synchronise, so TSan still sees races between them.
  // Outside TSan the baton is release/acquire and passes through this thread
  // between any two jobs, so every worker's writes already happen before the
  // walk and the walk before their next jobs: nothing to do.
  void quiesce();

 private:
  enum Job : std::uint32_t { kIdle, kAlloc, kFree, kSync, kEnd, kLeave, kPlay, kDone };
  using Mailbox = Crew::Mailbox;

  Mailbox& start(int thread);
  void join(int thread);
  static void post(Mailbox& m, Job job, std::memory_order order);
  static void run(Mailbox& m, Job job, std::memory_order post_order, std::memory_order take);
  // The resident loop on a crew seat (context: the crew).
  static void serve(void* crew, int seat);
  static void evict(Crew& crew, int seat);
  void play_one();
  void carry(int self);
  PoolUnderTest& local(int thread);

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
  bool in_team_[kMaxThreads] = {};  // alive to the allocator; the baton holder's alone
  // Where a play gives the baton back to the driver.
  std::atomic<std::uint32_t> home_{kIdle};
  Play play_;  // the baton holder's alone
};

}  // namespace hakfuzz
