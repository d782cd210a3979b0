// A schedule program run under the scheduler: the ops of each logical
// thread start in program order, but a strategy may switch threads at every
// schedule point inside allocator calls, so two ops can overlap anywhere the
// allocator touches shared state. The reference model judges each op when it
// completes, allowing exactly what overlap allows:
//   - a block whose free has started may already be handed out again, so a
//     new block may overlap it (never a block still solidly live);
//   - a free of a block whose owner is exiting (or gone) may be local or
//     remote, as for an orphan;
//   - two frees of one block that overlap (a free racing a double free):
//     exactly one succeeds, the other is rejected as a double free.
// Operands are resolved before the run, from program order alone: a free op
// names the block the `remote` target would, and waits for that block's
// allocation to complete; a double free waits for the first free to start,
// and is skipped if the block's range was handed out again by then. Faults
// do not take part (which acquisition fails would depend on the schedule).
#pragma once

#include <optional>
#include <span>

#include "exec/run_program.h"
#include "explore/schedule.h"

namespace hakfuzz {

struct InterleaveOptions {
  bool trace = false;
  Flavour flavour = Flavour::tester;  // the one with the schedule points
  std::optional<const PlantSpec*> plant;
  std::size_t max_ops = 256;        // programs are cut here: exploration wants them small
  std::size_t max_steps = 1 << 20;  // a run longer than this is a finding (a livelock)
  MemoryKind memory = MemoryKind::sc;
  int history = kDefaultStoreHistory;  // c11, tso: the stores per location a load may choose among
  Weakening weaken{};                  // one point's orders weakened in the model (audit-atomics)
};

// An order the driver imposes on a job's start besides its thread's own:
// the job began (step `after`) only once step `before` was taken (a job
// starts after the previous op's start, in program order, and a free after
// its block's allocation ended), or, with `every_before`, once every step
// before `before` was (a barrier, or the end of the program, waited for
// every job).
struct JobOrder {
  std::size_t before = 0, after = 0;
  bool every_before = false;
};

struct InterleaveResult {
  RunResult run;
  std::vector<DecisionRecord> decisions;  // what the strategy picked, in order
  std::size_t steps = 0, preemptions = 0;
  std::vector<Step> trail;           // every step, in order
  std::vector<JobOrder> job_orders;  // what the driver ordered (explore's reduction reads both)
  // The ops' results and the finding's kind, by op, not by when they came:
  // the same for every interleaving equivalent to this one.
  std::uint64_t outcome = 0;
  std::vector<std::uint8_t> orders_written;  // Scheduler::orders_written()
};

InterleaveResult run_interleaved(const Program& program, RecordingRule& strategy,
                                 const InterleaveOptions& options = {});

}  // namespace hakfuzz
