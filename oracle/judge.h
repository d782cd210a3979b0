// The one judge of a run. Whoever decides where and when the pool's calls
// run (in order on one thread, a baton among real threads, the scheduler
// inside calls, the stress workers) reports each call and its result here,
// and the judge holds the pool to the model (oracle/model.h): blocks never
// overlap, contents survive, usable >= request, each free's route and
// page_of verdict and each bad free's reason are the model's, which
// acquisition fails is known exactly, the invariant walk is clean,
// accounting is exact, nothing is kept that the reuse contract says must
// come back, and (stats compiled in) every counter equals the model's count.
//
// It owns the live set, the routing and fault window, the tally, the
// behaviour digest, the trace and the first finding. Blocks are named by
// id, in the order their allocations completed.
#pragma once

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "oracle/finding.h"
#include "oracle/live_set.h"
#include "oracle/model.h"
#include "oracle/pool_under_test.h"
#include "oracle/reuse.h"
#include "oracle/tally.h"
#include "program/program.h"
#include "support/digest.h"
#include "support/vector_clock.h"

namespace hakfuzz {

struct RunResult {
  std::optional<Finding> finding;
  std::uint64_t digest = 0;        // behaviour: outcomes, offsets, sizes (support/digest.h)
  std::vector<std::string> trace;  // one line per op, when asked for
  hakmem::StatsSnapshot stats;     // at the end, before teardown
  model::Tally tally;              // what ran, by route and class
};

// Every input stays inside this arena, so its last slab is never committed
// (the unused_slab bad pointer lands there).
inline constexpr std::size_t kRunArenaBytes = std::size_t{256} << 20;

// A program's flags as its pools read them, rejected frees silenced: the
// harness judges outcomes, never stderr.
hakmem::EnvSource program_env(hakmem::Config config);

struct PoolSetup {
  Flavour flavour = Flavour::stats_on;
  // Where the pool reads its flags; empty: the program's config, in memory.
  hakmem::EnvSource env{};
  // Where the pool's diagnostics and teardown stats table go; null: none.
  std::FILE* report = nullptr;
  // The pool to break: nullopt takes the process's active plant.
  std::optional<const PlantSpec*> plant{};
};
// A fresh pool for one run, on the harness's arena cache.
std::unique_ptr<PoolUnderTest> make_run_pool(const hakmem::Config& config, const PoolSetup& setup);

// What a quiescent pool shows against what its users hold: the invariant
// walk, live blocks and bytes, and what the reuse contract lets it keep.
// Every divergence, in that order (the stress run reports them all).
struct Holdings {
  std::uint64_t blocks = 0, bytes = 0;
};
struct Divergence {
  FindingKind kind;
  std::string what;
};
std::vector<Divergence> quiescent_divergences(const hakmem::InvariantReport& walk,
                                              const hakmem::Census& census, const Holdings& held);

// Every block freed, every other thread gone: collected by the calling
// thread, the pool must be empty (model::check_empty), and each class that
// has pages of its route must allocate again without a fresh acquisition.
// What it kept, or nullopt. Leaves the pool collected and its faults off.
std::optional<std::string> nothing_kept(PoolUnderTest& pool, const model::Routing& routing);

class Judge {
 public:
  using BlockId = std::uint64_t;
  struct Options {
    bool trace = false;
    // After every alloc and free, probe page_of at crafted addresses around
    // the block against the slab geometry.
    bool probe_page_of = false;
    // At every check, once the walk passed: each invariant fault planted in
    // turn (PoolUnderTest::check_with_fault), which the walk must report.
    bool plant_walk_faults = false;
    // Ops overlap (the scheduler switches threads inside calls): the run's
    // digest is its steps', so an allocation adds only where it landed; an
    // allocation's page acquisitions are other threads' too, so only its
    // route is judged (faults take no part).
    bool overlapping = false;
    // Logical threads of the program: one pool's pages are bounded by its
    // peak live blocks only when one thread owns them all.
    int threads = 1;
    // Called around each look at every thread's pages (walk, census): the
    // pool's users' writes must happen before it, and it before their next.
    std::function<void()> quiesce{};
  };

  Judge(PoolUnderTest& pool, const hakmem::Config& config, Options options);

  // The op the next reports belong to: its index, for findings and the
  // trace. begin_op also adds the op to the digest (runs in program order).
  void at_op(std::size_t index) { op_ = index; }
  void begin_op(std::size_t index, const Op& op);
  // The trace's notes carry this stamp (an interleaved run's step count).
  void stamp(std::size_t s) { stamp_ = s; }

  bool found() const { return result_.finding.has_value(); }
  void find(FindingKind kind, const std::string& what);
  template <class Line>
  void note(Line&& line);

  // ---- allocations
  // The pool's acquisition count before the call, and how many it made.
  struct Acquisitions {
    std::uint64_t before = 0, made = 0;
  };
  // Alloc(size) on logical thread `thread` returned p, which block_info
  // described on that thread. Returns the new block's id, or nullopt.
  std::optional<BlockId> on_alloc(int thread, std::size_t size, void* p, const hakmem::BlockInfo& info,
                                  std::optional<Acquisitions> acquisitions);

  // ---- frees
  std::size_t live_count() const { return live_.size(); }
  // The pick-th live block, counted in allocation order (a free op's operand).
  BlockId live_pick(std::size_t pick) const { return live_.blocks()[pick % live_.size()].id; }
  // A free of block `id` starts: its contents are checked and, from here,
  // its range may be handed out again. The pointer to free, or null after a
  // finding. The block may be freed already, or being freed by another op
  // (a racing free, Op::free_same): then this is a double free of its
  // pointer, judged at its end.
  void* free_begin(BlockId id);
  // ... and ends with `got`, judged against the model for a free by
  // `thread`, as a linearizable pool must answer: of the frees of one life
  // of a block, exactly one succeeds and the others are rejected as double
  // frees; a free that succeeds after that life ended freed a newer block
  // at the same address, which was live while the free ran.
  void free_end(BlockId id, int thread, const hakmem::FreeOutcome& got);

  // The reuse contract in happens-before (an interleaved run's vector
  // clocks, exec/memory_model.h): the free that free_begin just began ran
  // on `thread` from `clock` on (its caller's last access to the block came
  // before); a later allocation of the address on another thread must
  // happen after it (hand_over), else the pool let two threads touch the
  // block with nothing ordering them. Frees racing for one life of a block
  // are a program's data race already: not judged.
  void free_clock(BlockId id, int thread, const support::VectorClock& clock);
  void hand_over(BlockId id, int thread, const support::VectorClock& clock);

  // A crafted bad pointer for a bad_free op, aimed at a live or freed block
  // the op's pick names (or at `target` when given), or nullopt when the
  // kind has nothing to aim at.
  std::optional<model::BadPointer> craft_bad_free(const Op& op, std::optional<BlockId> target = std::nullopt);
  // The pool's page_of for it, asked before its free: false after a finding
  // (the free must not run: a pool that misjudges the pointer may take it).
  bool check_page_of(const model::BadPointer& bad, hakmem::Verdict seen);
  // Its free's outcome.
  void bad_free_end(const model::BadPointer& bad, const hakmem::FreeOutcome& got);

  // ---- threads, config, faults
  // Thread's exit began: any thread may own its pages when its blocks are freed.
  void on_exit(int thread);
  void on_refresh(const hakmem::Config& config);
  void on_fault(int nth, int count);

  // ---- quiescent points
  // Walk, accounting, retention.
  void check();
  // Every thread but the caller has ended. The caller frees what is left,
  // then: walk, accounting, counters, nothing kept. `recheck`: walk first
  // (the threads' exits changed the pool since the last check).
  void finish(bool recheck = true);

  // The ops' results (where each allocation landed, each free's outcome)
  // and the finding's kind, in op order: what an interleaving came to,
  // whatever order its independent steps took.
  std::uint64_t outcome() const;
  // The digest goes on with what the driver saw (an interleaved run's steps).
  void mix(std::uint64_t v) { digest_.mix(v); }
  const model::Routing& routing() const { return routing_; }
  // Ends the run: stats, digest and the trace (lines, or notes by stamp
  // merged by the driver).
  RunResult result();
  struct Note {
    std::size_t stamp, op;
    std::string line;
  };
  const std::vector<Note>& notes() const { return notes_; }

 private:
  template <class What>
  void compare(const hakmem::FreeOutcome& got, const model::Expected& want, What what);
  void check_commit(std::size_t size, std::uint32_t slab, hakmem::BlockKind kind, int cls);
  void probe_around(const model::Block& b);
  void plant_walk_faults();
  std::string where(const void* p) const;
  std::string who(int thread) const { return options_.threads > 1 ? "t" + std::to_string(thread) + " " : ""; }
  void quiesce() const {
    if (options_.quiesce) options_.quiesce();
  }

  PoolUnderTest& pool_;
  const Options options_;
  model::Routing routing_;
  model::FaultWindow faults_;
  model::LiveSet live_;
  // A life of a block whose free began: the frees of it in flight, and
  // whether one of them succeeded.
  struct Freeing {
    model::Block block;
    int in_flight = 0;
    bool claimed = false;
  };
  Freeing* freeing(BlockId id);
  const model::Block* live_block(BlockId id);  // nullptr once its life ended
  void claim_newer_life(const model::Block& named, int thread, const hakmem::FreeOutcome& got);
  void settle(const void* address, int thread);
  std::string free_name(int thread, BlockId id) const {
    return who(thread) + "free block " + std::to_string(id);
  }
  std::vector<Freeing> freeing_;
  struct LastFree {
    const void* ptr;
    int thread;  // -1: racing frees, not judged
    std::size_t op;
    support::VectorClock clock;
  };
  std::vector<LastFree> last_free_;  // per address, the free that began last
  std::vector<model::Block> all_;    // every block the run made, by id - 1
  hakmem::Census census_;            // the last census taken, its storage reused
  std::uint32_t checks_ = 0;         // checks so far: where plant_walk_faults plants
  support::Digest digest_;
  std::vector<Note> notes_;
  struct OpResult {
    std::size_t op;
    std::uint64_t where, value;  // the block's arena offset (a free's), what the op returned
  };
  std::vector<OpResult> results_;  // for outcome()
  std::size_t op_ = 0, stamp_ = 0;
  RunResult result_;
};

template <class Line>
void Judge::note(Line&& line) {
  if (!options_.trace) return;
  if constexpr (std::is_invocable_v<Line>)
    notes_.push_back({stamp_, op_, line()});
  else
    notes_.push_back({stamp_, op_, std::string(line)});
}

}  // namespace hakfuzz
