// The memory model (exec/memory_model.h) on the classic litmus tests, before
// it judges the allocator: every execution order of each test's threads and
// every store each load may read, enumerated, and the outcomes compared
// with the published C11 results (Batty et al., "Mathematizing C++
// concurrency", POPL 2011; the RC11 litmus tables of Lahav et al., PLDI
// 2017; for x86-TSO, Owens, Sarkar and Sewell, TPHOLs 2009, and the Intel
// SDM's 8.2.3 examples): what each model allows, what it forbids, and the
// two outcomes C11 allows that it leaves out by design (load buffering,
// 2+2W).
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "exec/memory_model.h"

namespace hakfuzz {
namespace {

constexpr auto relaxed = std::memory_order_relaxed;
constexpr auto acquire = std::memory_order_acquire;
constexpr auto release = std::memory_order_release;
constexpr auto seq_cst = std::memory_order_seq_cst;

// Locations: their addresses are what the model keys on.
int x_, y_, z_;
const void* const x = &x_;
const void* const y = &y_;
const void* const data = &z_;
int lock_;

struct Instr {
  enum Kind { load, store, fetch_add, lock, unlock } kind;
  const void* loc;
  std::memory_order order = relaxed;
  std::uint64_t value = 0;  // store: the value; fetch_add: the addend
};
Instr ld(const void* l, std::memory_order o) { return {Instr::load, l, o}; }
Instr st(const void* l, std::uint64_t v, std::memory_order o) { return {Instr::store, l, o, v}; }
Instr add(const void* l, std::uint64_t v, std::memory_order o) { return {Instr::fetch_add, l, o, v}; }
Instr locked() { return {Instr::lock, &lock_}; }
Instr unlocked() { return {Instr::unlock, &lock_}; }

using Litmus = std::vector<std::vector<Instr>>;
// An outcome: every load's value, thread by thread in program order ("1 0|0 1").
using Outcomes = std::set<std::string>;

struct State {
  MemoryModel model;
  std::map<const void*, std::uint64_t> memory;  // the latest store (the real atomic)
  std::vector<std::size_t> pc;
  std::vector<std::vector<std::uint64_t>> reads;
  int holder = -1;
  std::size_t steps = 0;
};

std::string outcome_of(const State& s) {
  std::string out;
  for (std::size_t t = 0; t < s.reads.size(); ++t) {
    if (t) out += "|";
    for (std::size_t i = 0; i < s.reads[t].size(); ++i) out += (i ? " " : "") + std::to_string(s.reads[t][i]);
  }
  return out;
}

// Runs thread t's next instruction in every way the model allows.
void step(const Litmus& test, State s, int t, const std::function<void(State)>& next) {
  const Instr& in = test[static_cast<std::size_t>(t)][s.pc[static_cast<std::size_t>(t)]++];
  const std::size_t at = s.steps++;
  switch (in.kind) {
    case Instr::load: {
      const auto stores = s.model.readable(t, in.loc, s.memory[in.loc], in.order);
      for (std::size_t k = 0; k < stores.size(); ++k) {
        State branch = s;
        branch.model.load(t, in.loc, k, in.order);
        branch.reads[static_cast<std::size_t>(t)].push_back(stores[k].value);
        next(std::move(branch));
      }
      return;
    }
    case Instr::store:
      s.model.store(t, in.loc, s.memory[in.loc], in.value, in.order, at);
      s.memory[in.loc] = in.value;
      break;
    case Instr::fetch_add: {
      const std::uint64_t old = s.memory[in.loc];
      s.memory[in.loc] = old + in.value;
      s.model.rmw(t, in.loc, old, old + in.value, in.order, at);
      s.reads[static_cast<std::size_t>(t)].push_back(old);
      break;
    }
    case Instr::lock:
      s.holder = t;
      s.model.acquired(t, in.loc);
      break;
    case Instr::unlock:
      s.holder = -1;
      s.model.released(t, in.loc);
      break;
  }
  next(std::move(s));
}

void explore_all(const Litmus& test, State s, Outcomes& out, bool finals) {
  bool any = false;
  for (std::size_t t = 0; t < test.size(); ++t) {
    if (s.pc[t] == test[t].size()) continue;
    if (test[t][s.pc[t]].kind == Instr::lock && s.holder >= 0) continue;
    any = true;
    step(test, s, static_cast<int>(t), [&](State n) { explore_all(test, std::move(n), out, finals); });
  }
  if (!any)
    out.insert(
        outcome_of(s) +
        (finals ? " x=" + std::to_string(s.memory[x]) + " y=" + std::to_string(s.memory[y]) : std::string()));
}

// `finals`: each outcome also names the last store to x and y.
Outcomes outcomes(const Litmus& test, MemoryKind kind, bool finals = false) {
  State s{MemoryModel(static_cast<int>(test.size()), kind),     {}, std::vector<std::size_t>(test.size(), 0),
          std::vector<std::vector<std::uint64_t>>(test.size()), -1, 0};
  for (const void* l : {x, y, data}) s.memory[l] = 0;
  Outcomes out;
  explore_all(test, std::move(s), out, finals);
  return out;
}

// Store buffering: each thread stores one location, then loads the other.
Litmus sb(std::memory_order o) { return {{st(x, 1, o), ld(y, o)}, {st(y, 1, o), ld(x, o)}}; }

TEST(Litmus, StoreBufferingOnlyWhereC11AllowsIt) {
  EXPECT_FALSE(outcomes(sb(relaxed), MemoryKind::sc).contains("0|0"));
  EXPECT_TRUE(outcomes(sb(relaxed), MemoryKind::c11).contains("0|0"));
  // Release/acquire does not forbid it either ...
  EXPECT_TRUE(
      outcomes({{st(x, 1, release), ld(y, acquire)}, {st(y, 1, release), ld(x, acquire)}}, MemoryKind::c11)
          .contains("0|0"));
  // ... four seq_cst accesses do (loom reports it here; this model must not).
  EXPECT_EQ(outcomes(sb(seq_cst), MemoryKind::c11), (Outcomes{"0|1", "1|0", "1|1"}));
  // One side weakened is enough to bring it back: the audit's Dekker pair.
  EXPECT_TRUE(
      outcomes({{st(x, 1, seq_cst), ld(y, acquire)}, {st(y, 1, seq_cst), ld(x, seq_cst)}}, MemoryKind::c11)
          .contains("0|0"));
}

// Message passing: data, then a flag; the reader reads the flag, then data.
Litmus mp(std::memory_order publish, std::memory_order read) {
  return {{st(data, 1, relaxed), st(y, 1, publish)}, {ld(y, read), ld(data, relaxed)}};
}

TEST(Litmus, MessagePassingNeedsReleaseAndAcquire) {
  EXPECT_FALSE(outcomes(mp(release, acquire), MemoryKind::c11).contains("|1 0"));
  EXPECT_TRUE(outcomes(mp(relaxed, acquire), MemoryKind::c11).contains("|1 0"));
  EXPECT_TRUE(outcomes(mp(release, relaxed), MemoryKind::c11).contains("|1 0"));
  EXPECT_FALSE(outcomes(mp(relaxed, relaxed), MemoryKind::sc).contains("|1 0"));
}

TEST(Litmus, ReleaseSequencesContinueThroughReadModifyWrites) {
  // t1's relaxed increment continues t0's release sequence: reading its 2,
  // t2 synchronises with t0 and must see the data.
  const Litmus rs = {
      {st(data, 1, relaxed), st(y, 1, release)}, {add(y, 1, relaxed)}, {ld(y, acquire), ld(data, relaxed)}};
  for (const std::string& o : outcomes(rs, MemoryKind::c11)) {
    if (o.ends_with("|2 0")) ADD_FAILURE() << "read the sequence's end but not the data: " << o;
  }
  EXPECT_TRUE(outcomes(rs, MemoryKind::c11).contains("|1|2 1"));
}

TEST(Litmus, CoherenceOfOneLocation) {
  // CoRR: two reads of one location in program order never go back.
  const Litmus corr = {{st(x, 1, relaxed), st(x, 2, relaxed)}, {ld(x, relaxed), ld(x, relaxed)}};
  for (const std::string& o : outcomes(corr, MemoryKind::c11)) {
    const auto a = o[1] - '0', b = o[3] - '0';
    EXPECT_LE(a, b) << "read " << a << " then " << b;
  }
  // CoWR: a thread reads its own store or a later one, never an older one.
  const Litmus cowr = {{st(x, 1, relaxed), ld(x, relaxed)}, {st(x, 2, relaxed)}};
  EXPECT_FALSE(outcomes(cowr, MemoryKind::c11).contains("0|"));
  EXPECT_TRUE(outcomes(cowr, MemoryKind::c11).contains("2|"));
  // A lock orders what its holders did: message passing with relaxed
  // accesses inside critical sections cannot read the flag and miss the data.
  const Litmus locked_mp = {{locked(), st(data, 1, relaxed), st(y, 1, relaxed), unlocked()},
                            {locked(), ld(y, relaxed), ld(data, relaxed), unlocked()}};
  EXPECT_FALSE(outcomes(locked_mp, MemoryKind::c11).contains("|1 0"));
  EXPECT_TRUE(outcomes(mp(relaxed, relaxed), MemoryKind::c11).contains("|1 0"));
}

TEST(Litmus, IndependentReadsOfIndependentWrites) {
  auto iriw = [](std::memory_order o) {
    return Litmus{{st(x, 1, o)}, {st(y, 1, o)}, {ld(x, o), ld(y, o)}, {ld(y, o), ld(x, o)}};
  };
  // Readers disagree on the order of the two writes: C11 allows it with
  // acquire loads, seq_cst forbids it.
  EXPECT_TRUE(outcomes(iriw(relaxed), MemoryKind::c11).contains("||1 0|1 0"));
  EXPECT_FALSE(outcomes(iriw(seq_cst), MemoryKind::c11).contains("||1 0|1 0"));
  EXPECT_FALSE(outcomes(iriw(relaxed), MemoryKind::sc).contains("||1 0|1 0"));
}

// What C11 allows and this model leaves out: a load reads only stores that
// already ran, and a location's stores keep the order they ran in.
TEST(Litmus, LoadBufferingAnd2Plus2WAreOutsideTheModel) {
  const Litmus lb = {{ld(x, relaxed), st(y, 1, relaxed)}, {ld(y, relaxed), st(x, 1, relaxed)}};
  EXPECT_FALSE(outcomes(lb, MemoryKind::c11).contains("1|1"));
  // 2+2W: C11 allows each location to end with its first store in program
  // order (x == 1 and y == 1 last in modification order).
  const Litmus w22 = {{st(x, 1, relaxed), st(y, 2, relaxed)}, {st(y, 1, relaxed), st(x, 2, relaxed)}};
  EXPECT_FALSE(outcomes(w22, MemoryKind::c11, /*finals=*/true).contains("| x=1 y=1"));
  EXPECT_TRUE(outcomes(w22, MemoryKind::c11, true).contains("| x=2 y=2"));
}

// x86-TSO over the instructions each order compiles to: store buffering is
// its one relaxation, and a seq_cst store (an xchg), an RMW or a lock
// drains the buffer.
TEST(Litmus, X86TsoRelaxesStoreLoadOrderOnly) {
  // SB: allowed with plain stores whatever the loads' orders (Intel SDM
  // 8.2.3.4), forbidden once both stores are xchg ...
  EXPECT_TRUE(outcomes(sb(relaxed), MemoryKind::tso).contains("0|0"));
  EXPECT_TRUE(
      outcomes({{st(x, 1, release), ld(y, seq_cst)}, {st(y, 1, release), ld(x, seq_cst)}}, MemoryKind::tso)
          .contains("0|0"));
  EXPECT_EQ(outcomes(sb(seq_cst), MemoryKind::tso), (Outcomes{"0|1", "1|0", "1|1"}));
  const Litmus xchg_stores = {{st(x, 1, seq_cst), ld(y, relaxed)}, {st(y, 1, seq_cst), ld(x, relaxed)}};
  EXPECT_EQ(outcomes(xchg_stores, MemoryKind::tso), (Outcomes{"0|1", "1|0", "1|1"}));
  EXPECT_TRUE(outcomes(xchg_stores, MemoryKind::c11).contains("0|0"));  // relaxed loads are outside S
  // ... one xchg is not enough (the other store still waits) ...
  EXPECT_TRUE(
      outcomes({{st(x, 1, seq_cst), ld(y, seq_cst)}, {st(y, 1, release), ld(x, seq_cst)}}, MemoryKind::tso)
          .contains("0|0"));
  // ... and a locked RMW between store and load drains it (8.2.3.9).
  const Litmus fenced = {{st(x, 1, relaxed), add(data, 1, relaxed), ld(y, relaxed)},
                         {st(y, 1, relaxed), add(data, 1, relaxed), ld(x, relaxed)}};
  for (const std::string& o : outcomes(fenced, MemoryKind::tso))  // "rmw load|rmw load"
    EXPECT_FALSE(o[2] == '0' && o[6] == '0') << o;
  bool c11_sb = false;
  for (const std::string& o : outcomes(fenced, MemoryKind::c11)) c11_sb |= o[2] == '0' && o[6] == '0';
  EXPECT_TRUE(c11_sb) << "relaxed RMWs of another location order nothing in C11";
  // Message passing holds whatever the orders (stores are not reordered
  // with stores, nor loads with loads: 8.2.3.2), and so does IRIW (stores
  // are seen in one order by all: 8.2.3.7).
  for (std::memory_order publish : {relaxed, release})
    for (std::memory_order read : {relaxed, acquire})
      EXPECT_FALSE(outcomes(mp(publish, read), MemoryKind::tso).contains("|1 0"));
  const Litmus iriw = {{st(x, 1, relaxed)},
                       {st(y, 1, relaxed)},
                       {ld(x, relaxed), ld(y, relaxed)},
                       {ld(y, relaxed), ld(x, relaxed)}};
  EXPECT_FALSE(outcomes(iriw, MemoryKind::tso).contains("||1 0|1 0"));
  // Load buffering and 2+2W: x86 forbids both (8.2.3.3; stores reach
  // memory in program order).
  EXPECT_FALSE(
      outcomes({{ld(x, relaxed), st(y, 1, relaxed)}, {ld(y, relaxed), st(x, 1, relaxed)}}, MemoryKind::tso)
          .contains("1|1"));
  EXPECT_FALSE(outcomes({{st(x, 1, relaxed), st(y, 2, relaxed)}, {st(y, 1, relaxed), st(x, 2, relaxed)}},
                        MemoryKind::tso, true)
                   .contains("| x=1 y=1"));
  // A thread reads its own buffered store (8.2.3.5), and others may not yet.
  const Litmus forwarding = {{st(x, 1, relaxed), ld(x, relaxed), ld(y, relaxed)},
                             {st(y, 1, relaxed), ld(y, relaxed), ld(x, relaxed)}};
  for (const std::string& o : outcomes(forwarding, MemoryKind::tso)) EXPECT_TRUE(o.starts_with("1 ")) << o;
  EXPECT_TRUE(outcomes(forwarding, MemoryKind::tso).contains("1 0|1 0"));
  EXPECT_TRUE(outcomes(forwarding, MemoryKind::c11).contains("1 0|1 0"));
}

// x86-TSO is stronger than C11 for the mapping compilers use: every
// outcome it gives a litmus test, C11 allows too.
TEST(Litmus, X86TsoOutcomesAreC11Outcomes) {
  const Litmus rs = {
      {st(data, 1, relaxed), st(y, 1, release)}, {add(y, 1, relaxed)}, {ld(y, acquire), ld(data, relaxed)}};
  std::vector<Litmus> tests = {rs};
  for (std::memory_order o : {relaxed, release, seq_cst}) tests.push_back(sb(o));
  for (std::memory_order publish : {relaxed, release})
    for (std::memory_order read : {relaxed, acquire}) tests.push_back(mp(publish, read));
  tests.push_back({{st(x, 1, relaxed), st(x, 2, relaxed)}, {ld(x, relaxed), ld(x, relaxed)}});
  tests.push_back({{locked(), st(data, 1, relaxed), st(y, 1, relaxed), unlocked()},
                   {locked(), ld(y, relaxed), ld(data, relaxed), unlocked()}});
  for (const Litmus& t : tests) {
    const Outcomes c11 = outcomes(t, MemoryKind::c11);
    for (const std::string& o : outcomes(t, MemoryKind::tso)) EXPECT_TRUE(c11.contains(o)) << o;
  }
}

TEST(Litmus, SequentiallyConsistentModelReadsTheLatestOnly) {
  for (const Litmus& t : {sb(relaxed), mp(relaxed, relaxed)})
    for (const std::string& o : outcomes(t, MemoryKind::sc)) EXPECT_NE(o, "0|0");
  EXPECT_EQ(outcomes(sb(relaxed), MemoryKind::sc), (Outcomes{"0|1", "1|0", "1|1"}));
}

TEST(VectorClocks, JobsAndLocksOrderThreads) {
  MemoryModel m(2, MemoryKind::sc);
  m.job_begins(0);
  m.released(0, &lock_);
  m.acquired(1, &lock_);
  EXPECT_GE(m.clock(1).at(0), m.clock(0).at(0));
  m.job_ends(0);
  m.job_begins(1);
  EXPECT_GE(m.clock(1).at(0), m.clock(0).at(0));
  m.job_begins(0);  // t0 goes on: t1 does not know its new events
  EXPECT_LT(m.clock(1).at(0), m.clock(0).at(0));
}

}  // namespace
}  // namespace hakfuzz
