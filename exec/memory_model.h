// Happens-before and the memory models over the allocator's atomics, as
// the scheduler sees them (hakmem/sched.h's loaded/stored/exchanged, with
// the order each call site wrote).
//
// Happens-before is vector clocks: one per logical thread and one for the
// driver (the harness's hand-overs: a job starts after what the driver saw,
// the driver goes on after a job's end), per mutex (unlock -> lock), and per
// store of an atomic location (release stores and read-modify-writes carry
// their thread's clock; an RMW continues the release sequence it reads).
//
// Real threads run one at a time, so the modification order of a location
// is the order its stores ran, and the real atomic holds the latest. A
// weak execution lets a load read an older store of the location's bounded
// history instead, where its model allows it:
//
// MemoryKind::c11, the C++ standard's model:
//   - coherence: not older than a store or a read of the location that
//     happens before the load (its own thread's included: CoRR, CoWR);
//   - seq_cst: a seq_cst load reads the last seq_cst store to the location
//     or a later one (the single total order S is the order seq_cst
//     operations ran), so four seq_cst accesses forbid store buffering;
//   - read-modify-writes and failed compare-exchanges read the latest.
//
// MemoryKind::tso, x86-TSO (Owens, Sarkar, Sewell, "A better x86 memory
// model", TPHOLs 2009) over the instructions compilers emit for each order:
// every store but a seq_cst one (an xchg) waits in its thread's FIFO store
// buffer; a thread reads its own buffered store; an RMW, a seq_cst store, a
// lock, a failed compare-exchange and a job's start or end drain the
// thread's buffer. A load reads the newest store that left its buffer, or
// its own newest, or a newer store still buffered by another thread
// (reading it drains that buffer up to it): which one is the decision.
// Loads and stores are acquire and release in hardware, so every reads-from
// edge synchronises. The compiler is assumed to keep program order.
// Buffers drain a location's stores in modification order, so a location
// never ends on an older store than the one that ran last: a subset of
// x86-TSO's executions, which with the rest forbids 2+2W as x86 does.
//
// What neither produces: load buffering and C11's 2+2W (a load never reads
// a store that has not run yet, and stores never reorder), and stale values
// of plain memory (only the atomics go through the model). loom and
// CDSChecker make the first cut too.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "support/vector_clock.h"

namespace hakfuzz {

enum class MemoryKind : std::uint8_t { sc, c11, tso };
const char* memory_kind_name(MemoryKind m);
std::optional<MemoryKind> parse_memory_kind(std::string_view name);

// One schedule point's atomics performed, in the model, with a weaker order
// than their call sites wrote (`hakfuzz audit-atomics`, `--weaken`): no
// rebuild, the scheduler applies it. The real operation keeps its order;
// one thread runs at a time, so only the model's order counts.
struct Weakening {
  int point = -1;  // -1: none
  std::memory_order order = std::memory_order_seq_cst;
  bool operator==(const Weakening&) const = default;
};
// The order the model uses at a weakened point: `written`, or `to` where it
// is weaker.
std::memory_order weakened(std::memory_order written, std::memory_order to);
const char* order_name(std::memory_order o);  // "seq_cst"
std::optional<std::memory_order> parse_order(std::string_view name);
// "remote_free.hint:acquire"; nullopt for an unknown point or order.
std::optional<Weakening> parse_weakening(std::string_view text);
std::string weakening_text(const Weakening& w);

// Stores a c11 load may choose among, per location (loom keeps 7, Relacy 3);
// a tso store pushed out of it leaves its buffer first.
// `--history` changes it, up to what an interleave file's schedule byte holds.
inline constexpr int kDefaultStoreHistory = 4;
inline constexpr int kMaxStoreHistory = 28;

using support::VectorClock;

class MemoryModel {
 public:
  // `threads` logical threads; the driver is clock index `threads`.
  MemoryModel(int threads, MemoryKind kind, int history = kDefaultStoreHistory);

  MemoryKind kind() const { return kind_; }
  int driver() const { return threads_; }
  const VectorClock& clock(int thread) const { return clocks_[static_cast<std::size_t>(thread)]; }
  std::uint64_t clock_digest(int thread) const;

  // ---- the harness and the locks
  void job_begins(int thread);  // after everything the driver saw
  void job_ends(int thread);    // the driver sees it
  void acquired(int thread, const void* mutex);
  void released(int thread, const void* mutex);
  // A locked instruction that wrote nothing (a failed compare-exchange):
  // under tso it drains the thread's store buffer.
  void fence(int thread);

  // ---- atomics. `step` is the scheduler's step of the operation (for the
  // trace: which store a load read).
  struct StoreRef {
    int thread = -1;  // -1: a value the model did not see stored (initial, or unwrapped)
    std::size_t step = 0;
    std::uint64_t value = 0;
  };
  // The stores a load of `location` by `thread` may read, oldest first; the
  // last is the latest (what a sequentially consistent run reads). `real`
  // is what the atomic holds.
  std::vector<StoreRef> readable(int thread, const void* location, std::uint64_t real,
                                 std::memory_order order);
  // The load read readable(...)[chosen].
  void load(int thread, const void* location, std::size_t chosen, std::memory_order order);
  // `before`: what the store overwrote.
  void store(int thread, const void* location, std::uint64_t before, std::uint64_t value,
             std::memory_order order, std::size_t step);
  void rmw(int thread, const void* location, std::uint64_t read, std::uint64_t written,
           std::memory_order order, std::size_t step);

  // Everything a later step's outcome may depend on (clocks, each
  // location's stores and who saw which, buffered stores), hashed with no
  // address and no run-wide count in it, so that two runs that reached the
  // same state give the same value: explore's check of its hb cut
  // (ExploreOptions::check_cuts). `store_name` names a store by its thread
  // and scheduler step, which the caller makes run-independent.
  std::uint64_t state_digest(
      const std::function<std::uint64_t(int thread, std::size_t step)>& store_name) const;

 private:
  struct Store {
    StoreRef ref;
    std::uint64_t mo = 0;     // its place in the location's modification order
    std::uint32_t epoch = 0;  // its thread's clock entry when it ran
    std::uint64_t ran = 0;    // its place among every store of the run, from 1; 0: a value seen, not stored
    bool buffered = false;    // tso: in its thread's store buffer
    VectorClock release;      // what an acquire reading it learns
  };
  struct Buffered {  // tso: one entry of a thread's store buffer
    const void* location;
    std::uint64_t ran;  // which store (Store::ran)
  };
  struct Location {
    std::deque<Store> stores;  // the last `history_` in modification order
    std::uint64_t next_mo = 0;
    std::uint64_t last_seq_cst = 0;  // mo + 1 of the last seq_cst store; 0: none
    // Per thread: the newest mo it read or wrote, and its clock entry then.
    std::vector<std::pair<std::uint64_t, std::uint32_t>> seen;
    std::vector<Store> candidates;  // of the last readable()
  };
  Location& location(const void* p, std::uint64_t real);
  bool happens_before_now(int thread, int other, std::uint32_t epoch) const;
  std::uint64_t c11_floor(const Location& l, int thread, std::memory_order order) const;
  void append(const void* p, Location& l, int thread, std::uint64_t value, std::memory_order order,
              std::size_t step, const VectorClock* sequence);
  void saw(Location& l, int thread, std::uint64_t mo);
  bool synchronises(bool by_order) const { return by_order || kind_ == MemoryKind::tso; }
  // tso: `thread`'s buffered stores that ran at or before `ran` reach memory,
  // in order, each after the location's older stores.
  void drain(int thread, std::uint64_t ran);
  void drain_all(int thread) { drain(thread, UINT64_MAX); }

  const int threads_;
  const MemoryKind kind_;
  const std::size_t history_;
  std::vector<VectorClock> clocks_;  // threads_, then the driver
  std::unordered_map<const void*, VectorClock> mutexes_;
  std::unordered_map<const void*, Location> locations_;
  std::vector<std::deque<Buffered>> buffers_;  // tso, per thread
  std::uint64_t stores_ran_ = 1;
};

}  // namespace hakfuzz
