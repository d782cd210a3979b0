#include "exec/team.h"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "support/cpu.h"

namespace hakfuzz {

namespace {

using support::kBatonPost;
using support::kBatonTake;

// The baton's value once `ready` holds. A pool call takes a microsecond or
// two, a futex sleep and wake-up tens of them on a virtual machine, so the
// waiter spins a while first, then yields a while: with more threads than
// cores, a yielding waiter lets the thread that has the job run, and
// still answers its own post without a wake-up (remote inputs/s doubled).
struct Patience {
  int spins, yields;
};
template <class Ready>
std::uint32_t await(const std::atomic<std::uint32_t>& job, Ready ready, std::memory_order take,
                    Patience patience) {
  for (int spin = 0; spin < patience.spins; ++spin) {
    if (const std::uint32_t seen = job.load(take); ready(seen)) return seen;
    support::cpu_relax();
  }
  for (int yield = 0; yield < patience.yields; ++yield) {
    if (const std::uint32_t seen = job.load(take); ready(seen)) return seen;
    std::this_thread::yield();
  }
  for (std::uint32_t seen = job.load(take);; seen = job.load(take)) {
    if (ready(seen)) return seen;
    support::baton_wait(job, seen, take);
  }
}
// The driver waits for a call in progress: worth a long spin. A worker
// waits for its next job, which may be many ops away: a short one (a long
// one on each of several workers starved the one that works). Yields: 64
// was 25% slower, 2048 40% slower (time lost to yielding). A worker that
// slept at once when the play's next 8 ops were not its own made `remote`
// 20% slower: its wake-up cost more than the yields.
constexpr Patience kCaller{2048, 512};
constexpr Patience kWorker{256, 512};

}  // namespace

ThreadTeam::ThreadTeam(PoolUnderTest& pool, OracleOn oracle, bool os_exits)
    : pool_(pool), oracle_(oracle), os_exits_(os_exits) {
  if (support::kTsanBuild && oracle == OracleOn::op_thread)
    throw std::invalid_argument("ThreadTeam: under TSan only the driver may run the oracle");
  crew_ = Crew::borrow();
}

ThreadTeam::~ThreadTeam() {
  exit_all();
  Crew::give_back(crew_);
}

void ThreadTeam::play(std::size_t n, std::function<int(std::size_t)> seat,
                      std::function<bool(std::size_t)> body) {
  play_ = {0, n, false, std::move(seat), std::move(body)};
  while (play_.next < play_.end && !play_.stopped) {
    const int at = play_.seat(play_.next);
    if (oracle_ == OracleOn::driver || at < 0) {
      play_one();
      continue;
    }
    post(start(at), kPlay, kBatonPost);
    await(
        home_, [](std::uint32_t seen) { return seen == kDone; }, kBatonTake, kCaller);
    home_.store(kIdle, std::memory_order_relaxed);
  }
}

void* ThreadTeam::alloc(int thread, std::size_t size) {
  if (oracle_ == OracleOn::op_thread) return local(thread).alloc(size);
  Mailbox& m = start(thread);
  m.size.store(size, std::memory_order_relaxed);
  run(m, kAlloc, kBatonPost, kBatonTake);
  return m.ptr.load(std::memory_order_relaxed);
}

hakmem::FreeOutcome ThreadTeam::free(int thread, void* ptr) {
  if (oracle_ == OracleOn::op_thread) return local(thread).free(ptr);
  Mailbox& m = start(thread);
  m.ptr.store(ptr, std::memory_order_relaxed);
  run(m, kFree, kBatonPost, kBatonTake);
  return hakmem::unpack(m.outcome.load(std::memory_order_relaxed));
}

void ThreadTeam::exit(int thread) {
  if (!in_team_[thread]) return;
  if (os_exits_) {
    // The loop returns without ending the thread to the allocator: the OS
    // thread's own exit does that (its thread_local destructors).
    evict(*crew_, thread);
    crew_->await_idle(thread);
    crew_->retire(thread);
  } else if (crew_->on_seat(thread)) {
    pool_.end_current_thread();
  } else {
    run(crew_->mailbox(thread), kEnd, std::memory_order_release, std::memory_order_acquire);
  }
  in_team_[thread] = false;
}

void ThreadTeam::exit_all() {
  for (int t = 0; t < kMaxThreads; ++t) {
    if (!in_team_[t]) continue;
    run(crew_->mailbox(t), kEnd, std::memory_order_release, std::memory_order_acquire);
    in_team_[t] = false;
  }
}

void ThreadTeam::quiesce() {
  if constexpr (support::kTsanBuild)
    for (int t = 0; t < kMaxThreads; ++t)
      if (in_team_[t]) run(crew_->mailbox(t), kSync, std::memory_order_release, std::memory_order_acquire);
}

// The logical thread's mailbox, the team's loop running on its seat and the
// thread joined to this team.
ThreadTeam::Mailbox& ThreadTeam::start(int thread) {
  if (!crew_->runs(thread, &serve)) {
    crew_->mailbox(thread).job.store(kIdle, std::memory_order_relaxed);
    crew_->launch(thread, &serve, crew_, &evict);
  }
  if (!in_team_[thread]) join(thread);
  return crew_->mailbox(thread);
}

// Its first job synchronises both ways, as a thread's creation would, and
// publishes the team to the loop. In an op_thread play the post of the
// baton already does.
void ThreadTeam::join(int thread) {
  in_team_[thread] = true;
  Mailbox& m = crew_->mailbox(thread);
  m.user = this;
  if (oracle_ == OracleOn::driver) run(m, kSync, std::memory_order_release, std::memory_order_acquire);
}

void ThreadTeam::post(Mailbox& m, Job job, std::memory_order order) {
  m.job.store(job, order);
  support::baton_wake(m.job);
}

void ThreadTeam::run(Mailbox& m, Job job, std::memory_order post_order, std::memory_order take) {
  post(m, job, post_order);
  await(
      m.job, [](std::uint32_t seen) { return seen == kDone; }, take, kCaller);
  m.job.store(kIdle, std::memory_order_relaxed);
}

void ThreadTeam::evict(Crew& crew, int seat) { post(crew.mailbox(seat), kLeave, std::memory_order_release); }

void ThreadTeam::serve(void* crew, int seat) {
  Mailbox& m = static_cast<Crew*>(crew)->mailbox(seat);
  for (;;) {
    const auto job = static_cast<Job>(await(
        m.job, [](std::uint32_t seen) { return seen != kIdle && seen != kDone; }, kBatonTake, kWorker));
    // The synchronising jobs' posts are release: a real acquire load (TSan
    // ignores fences) before anything the poster wrote is read, the team
    // pointer of a join's sync included.
    if (job == kSync || job == kEnd || job == kLeave) (void)m.job.load(std::memory_order_acquire);
    if (job == kLeave) {
      m.job.store(kIdle, std::memory_order_relaxed);
      return;  // the crew's idle store answers
    }
    ThreadTeam& team = *static_cast<ThreadTeam*>(m.user);
    switch (job) {
      case kSync:
      case kEnd:
        if (job == kEnd) team.pool_.end_current_thread();
        post(m, kDone, std::memory_order_release);
        continue;
      case kPlay:
        team.carry(seat);
        continue;
      case kAlloc:
        m.ptr.store(team.pool_.alloc(m.size.load(std::memory_order_relaxed)), std::memory_order_relaxed);
        break;
      case kFree:
        m.outcome.store(hakmem::pack(team.pool_.free(m.ptr.load(std::memory_order_relaxed))),
                        std::memory_order_relaxed);
        break;
      default:
        break;
    }
    post(m, kDone, kBatonPost);
  }
}

void ThreadTeam::play_one() {
  if (!play_.body(play_.next)) play_.stopped = true;
  ++play_.next;
}

// `self` holds the baton: plays ops while they are its own or anyone's,
// then passes the baton to the next op's thread, or home to the driver when
// the next op is the driver's or the play is over. `self` is idle before the
// baton leaves it: its next job may come at once.
void ThreadTeam::carry(int self) {
  Mailbox& mine = crew_->mailbox(self);
  for (;;) {
    play_one();
    if (play_.stopped || play_.next == play_.end) break;
    const int at = play_.seat(play_.next);
    if (at == kAnyThread) continue;
    if (at == kDriver) break;
    if (at == self) {
      if (!in_team_[at]) join(at);  // ended by an exit op
      continue;
    }
    Mailbox& to = start(at);
    mine.job.store(kIdle, std::memory_order_relaxed);
    post(to, kPlay, kBatonPost);
    return;
  }
  mine.job.store(kIdle, std::memory_order_relaxed);
  home_.store(kDone, kBatonPost);
  support::baton_wake(home_);
}

// A pool call off its logical thread's OS thread would change what the
// allocator sees (owner checks, thread caches): never a verdict to trust.
PoolUnderTest& ThreadTeam::local(int thread) {
  if (!crew_->on_seat(thread)) {
    std::fprintf(stderr, "hakfuzz: internal error: a pool call of logical thread %d ran on another thread\n",
                 thread);
    std::abort();
  }
  return pool_;
}

}  // namespace hakfuzz
