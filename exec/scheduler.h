// Real OS threads run one at a time, switched at the allocator's schedule
// points (hakmem/sched.h): a Coyote-style controller on real threads (a
// crew's, exec/crew.h), so thread-local caches, thread exit and adoption
// stay real. Every logical
// thread parks at each point and posts it to the driver (the thread that
// owns the Scheduler); the driver asks a PickRule which thread runs next
// and grants it. Locks are modelled: a thread at a lock point whose mutex a
// paused thread holds is not runnable, and no runnable thread with some
// still blocked is a deadlock, never a hang.
//
// Outside TSan the thread at a point makes the decision itself and, when it
// goes on or hands over to a paused thread, the driver sleeps through it: a
// context switch costs tens of microseconds on this kind of virtual
// machine, and most steps go on with the same thread. Job starts, job ends
// and dead ends go through the driver. The baton is release/acquire, so the
// scheduler's state is only ever touched by the baton's holder.
//
// Under ThreadSanitizer every point goes through the driver, and the
// hand-off is relaxed so that it adds no happens-before: TSan still sees the
// allocator's own races. Every field crossing threads is then an atomic,
// ordered by compiler fences (x86 keeps stores in order; TSan ignores
// fences, as it should). Only job boundaries order, for TSan alone: a job's
// end happens before the driver goes on, and everything the driver saw
// before a job's start happens before the job, as a program handing a
// pointer to another thread orders the hand-over. Jobs that overlap stay
// unordered, so TSan reports their races.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "exec/crew.h"
#include "exec/memory_model.h"
#include "hakmem/sched.h"
#include "program/program.h"
#include "support/sanitizer.h"

namespace hakfuzz {

// A step's access: its point and the object the point touches (0 for the
// pseudo-points). Two steps of different threads are dependent when the
// order between them can change what either does (see dependent()).
struct Access {
  int point = 0;
  std::uintptr_t object = 0;
};

struct Step;

// What the strategy decides on: the threads that may run (ascending ids),
// the one that ran last, and the non-preemptive pick.
struct Decision {
  std::size_t index = 0;  // decisions so far in this run
  std::span<const int> runnable;
  std::span<const Access> pending;  // runnable[i]'s next step
  std::span<const Step> steps;      // every step taken so far
  int current = -1;                 // the thread that ran last; -1 before the first
  bool current_runnable = false;    // picking another thread preempts it
  std::size_t fallback = 0;         // runnable[fallback]: the current thread, else the oldest op's
  // Not a thread pick: which store a load reads (MemoryKind::c11, tso). Then
  // runnable is 0..n-1, the stores it may read oldest first, and fallback
  // is the latest; reading an older one costs a preemption.
  bool reads_from = false;
  // The memory model as the decision finds it; null where none is kept.
  const MemoryModel* memory = nullptr;
};

class PickRule {
 public:
  virtual ~PickRule() = default;
  // An index into d.runnable. Asked only when two or more threads may run.
  virtual std::size_t choose(const Decision& d) = 0;
};

// Pseudo-points the scheduler adds to the allocator's: a job begins, a
// thread exits for good.
inline constexpr int kPointJobBegin = hakmem::sched::kNumPoints;
inline constexpr int kPointGone = hakmem::sched::kNumPoints + 1;
std::string point_name(int point);

// One grant of the baton: `thread` performs `point` next.
struct Step {
  int thread = 0;
  int point = 0;
  std::uint64_t arg = 0;
  std::optional<std::uint64_t> result;  // what the operation read or returned
  std::uint32_t job = 0;                // the client's job the thread was running
  bool decision = false;                // two or more threads could have run
  bool preemption = false;              // the thread that ran last could have gone on
  std::uintptr_t object = 0;            // what the point touches (Access)
  // A load that read an older store than the latest (MemoryKind::c11,
  // tso): which store it read, and which it did not.
  struct StaleRead {
    int thread = -1, latest_thread = -1;  // -1: a value stored before the run saw the location
    std::size_t step = 0, latest_step = 0;
    bool buffered = false;  // tso: the latest waits in its thread's store buffer
  };
  std::optional<StaleRead> stale_read;
  // A job's start: what its thread knows of the others then, in the memory
  // model (a digest of its clock). The driver hands a job over after every
  // job end it saw, an order that dependence between steps does not show.
  std::uint64_t knows = 0;
};

// "t2 remote_free.fetch_or slab 3 block 5 -> 0x20  (preemption)"
std::string describe_step(const Step& s);
inline Access access_of(const Step& s) { return {s.point, s.object}; }

// Whether two steps of different threads may not commute: loads, stores and
// read-modify-writes of one object unless both only load; acquisitions of
// one mutex; two page acquisitions (a fault plan counts them in order); two
// exit notices. A job's start (kPointJobBegin) and a thread's end
// (kPointGone) touch nothing of the pool: the order the driver imposes on
// them is the client's to report (explore/interleave.h).
bool dependent(const Access& a, const Access& b);

// Runs the client's jobs on logical threads; the client owns what they do.
class ScheduledClient {
 public:
  // On logical thread `thread`: perform job `job` (its inputs and outputs are
  // the client's atomics; the scheduler reads none of them).
  virtual void run_job(int thread, std::uint32_t job) = 0;
  // On logical thread `thread`, its last job: the thread's exit as the
  // allocator sees it (PoolUnderTest::end_current_thread). Its OS thread
  // goes back to the crew.
  virtual void end_thread(int thread) = 0;

 protected:
  ~ScheduledClient() = default;
};

class Scheduler final : public hakmem::sched::Controller {
 public:
  static constexpr std::uint32_t kExitJob = UINT32_MAX;

  Scheduler(int threads, ScheduledClient& client, PickRule& rule, std::size_t max_steps = 1 << 20,
            MemoryKind memory = MemoryKind::sc, Weakening weaken = {}, int history = kDefaultStoreHistory);
  // Every OS thread still running is told to exit, uncontrolled; after a
  // deadlock they stay parked for good (see deadlocked()).
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Driver side. The thread's next job, startable as soon as the strategy
  // picks it; `age` orders jobs for the non-preemptive pick (program order).
  void offer(int thread, std::uint32_t job, std::size_t age);
  bool idle(int thread) const;   // no job offered, running or paused
  bool alive(int thread) const;  // its OS thread exists

  enum class Event : std::uint8_t { started, done, exited, idle, deadlock, step_limit };
  struct Outcome {
    Event event;
    int thread = -1;
  };
  // Grants the baton until a job is about to start (reported before it
  // runs: the driver may still look at the job's inputs), a job completes, a
  // thread exits, or nothing can run.
  Outcome run();

  const std::vector<Step>& steps() const { return steps_; }
  std::size_t decisions() const { return decisions_; }
  std::size_t preemptions() const { return preemptions_; }
  // Happens-before so far (exec/memory_model.h): a thread's clock, kept
  // only where threads decide at their own points (not under TSan, which
  // keeps its own).
  static constexpr bool kModelsMemory = !support::kTsanBuild;
  const VectorClock& clock(int thread) const { return memory_.clock(thread); }
  // Per schedule point, the orders its call sites wrote (bit k: order k of
  // std::memory_order), over the atomics this run performed.
  const std::vector<std::uint8_t>& orders_written() const { return orders_written_; }
  // Each blocked thread and the lock it waits for, for a deadlock report.
  std::string blocked_report() const;
  // A deadlock was reported: the threads cannot be released, and whatever
  // they reference (the pool) must outlive the process.
  bool deadlocked() const { return deadlocked_; }

  // A logical thread's OS thread and mailbox (scheduler.cpp).
  struct Worker;

  // hakmem::sched::Controller: on the controlled threads.
  void at(hakmem::sched::Point p, const void* object, std::uint64_t arg) override;
  void result(hakmem::sched::Point p, std::uint64_t value) override;
  void released(const void* mutex) override;
  std::uint64_t loaded(const void* location, std::uint64_t value, std::memory_order order,
                       bool latest) override;
  void stored(const void* location, std::uint64_t before, std::uint64_t value,
              std::memory_order order) override;
  void exchanged(const void* location, std::uint64_t read, std::uint64_t written,
                 std::memory_order order) override;

 private:
  enum class State : std::uint8_t { idle, offered, paused, running };
  // What the next step is.
  struct Pick {
    enum Kind : std::uint8_t { resume, start, stop } kind = stop;
    int thread = -1;
    Event stop_event = Event::idle;
    bool decision = false, preemption = false;
  };

  void serve(int thread);
  void spawn(int thread);
  void grant(Worker& w);
  void absorb_notes(Worker& w);
  Pick choose();                           // with the baton held
  void commit(Worker& w, const Pick& pk);  // the step is taken: record it
  void post_driver(std::uint8_t kind, int thread, int point = 0, const void* object = nullptr,
                   std::uint64_t arg = 0);
  void wait_driver();
  Decision next_decision(std::span<const int> runnable, std::span<const Access> pending);
  std::size_t choose_store(std::size_t stores);  // a reads-from decision (Decision::reads_from)

  int starting_ = -1;  // reported as started, granted on the next run()
  bool deadlocked_ = false;
  bool waiting_ = false;         // a thread holds the baton; the driver waits for its post
  std::optional<Pick> decided_;  // a pick a thread made and left for the driver to act on
  // The driver's mailbox: one, since one thread runs at a time.
  char job_edge_ = 0;  // TSan's sync object for job starts (support::tsan_release)
  std::atomic<std::uint32_t> posted_{0};
  std::atomic<std::uint8_t> post_kind_{0};
  std::atomic<int> post_thread_{0}, post_point_{0};
  std::atomic<const void*> post_object_{nullptr};
  std::atomic<std::uint64_t> post_arg_{0};

  ScheduledClient& client_;
  PickRule& rule_;
  const std::size_t max_steps_;
  std::vector<std::unique_ptr<Worker>> workers_;
  Crew* crew_;  // the OS threads the logical threads run on
  int current_ = -1;
  std::vector<Step> steps_;
  std::size_t decisions_ = 0, preemptions_ = 0;
  std::vector<std::pair<const void*, int>> holders_;  // mutex -> holding thread
  MemoryModel memory_;
  const Weakening weaken_;
  std::vector<std::uint8_t> orders_written_;
  std::memory_order model_order(const Worker& w, std::memory_order written);
};

// Installs a scheduler as the process's controller for its lifetime.
class SchedulerInstall {
 public:
  explicit SchedulerInstall(Scheduler& c) { hakmem::sched::install(&c); }
  ~SchedulerInstall() { hakmem::sched::install(nullptr); }
};

}  // namespace hakfuzz
