// The stress modes (modes.def) as small handovers the parallel run composes: how
// a worker hands a block to another worker, how it receives one and what it
// does when its round ends; the table row says which threads run the
// workers. Everything else (sizes, canaries, logs, lockstep, the checks) is
// the run's.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/rng.h"

namespace hakfuzz::stress {

enum class StressMode : std::uint8_t {
#define HAKFUZZ_STRESS_MODE(name, Handover, threads, doc) name,
#include "stress/modes.def"
#undef HAKFUZZ_STRESS_MODE
};
const char* stress_mode_name(StressMode m);
const char* stress_mode_doc(StressMode m);
// The mode's workers are std::threads that exit at the end of every round.
bool stress_mode_threads_exit(StressMode m);
std::optional<StressMode> parse_stress_mode(std::string_view s);
// "exchange (doc) | handoff (doc) | churn (doc)", for --help.
std::string stress_mode_help();

// A worker as a mode sees it: who it is, its generator, and the run's
// checked free of a block it received (canary, free, route, tally, log).
class Hands {
 public:
  virtual int id() const = 0;
  virtual support::SplitMix64& rng() = 0;
  virtual void release(void* block) = 0;

 protected:
  ~Hands() = default;
};

struct ModeParams {
  std::size_t working_set = 256;  // slots, or the queue's bound
  // exchange and churn: a worker that takes its own block out of a slot puts
  // it back, up to this many times, so that even with two workers most
  // frees are of the other worker's blocks.
  int pass_own_back = 0;
};

class Handover {
 public:
  virtual ~Handover() = default;
  // The worker hands `block` to another worker.
  virtual void hand_off(Hands& w, void* block) = 0;
  // After each step: the worker takes a block handed to it, if one is due.
  virtual void receive(Hands&) {}
  // The worker's round ends; `kept` holds the blocks it kept for itself.
  virtual void leave_round(Hands&, std::vector<void*>& /*kept*/) {}
  // Blocks handed off and not yet received, at a quiescent point.
  virtual std::uint64_t in_transit() const = 0;
  // Every block in transit, to `take` (after the last round).
  virtual void drain(const std::function<void(void*)>& take) = 0;
};

std::unique_ptr<Handover> make_mode(StressMode m, const ModeParams& params);

// One round: body(w) for every worker w in [0, workers), on the threads the
// mode's row names (tasks of a oneTBB task_arena, or std::threads that exit
// when done); returns when all are done.
void run_workers(StressMode m, int workers, const std::function<void(int)>& body);

// Holds oneTBB's worker threads for the length of a run so that, at its
// end, they can be made to exit (their thread-exit notices then orphan
// their pages, as a std::thread's do): the pool can then be checked empty.
class WorkerThreads {
 public:
  WorkerThreads();
  ~WorkerThreads();
  WorkerThreads(const WorkerThreads&) = delete;
  WorkerThreads& operator=(const WorkerThreads&) = delete;
  // Waits for every oneTBB worker thread to exit; false when some other
  // user of oneTBB in the process keeps them (nothing can be concluded).
  bool end();

 private:
  struct Handle;
  std::unique_ptr<Handle> handle_;
};

}  // namespace hakfuzz::stress
