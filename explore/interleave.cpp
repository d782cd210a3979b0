#include "explore/interleave.h"

#include <array>
#include <atomic>
#include <map>
#include "explore/plan.h"

#include "oracle/plants.h"
#include "support/digest.h"

namespace hakfuzz {

namespace {

using hakmem::BlockKind;
using hakmem::FreeOutcome;
using hakmem::Verdict;
using model::Block;

enum class Life : std::uint8_t { planned, live, freeing, freed };

struct Tracked {
  Block b;
  Life life = Life::planned;
  bool owner_exiting = false;  // its owner's exit began: any thread may own the page when it is freed
};

// A job's inputs and outputs, crossing to the logical thread as atomics.
struct Slot {
  std::atomic<std::uint8_t> code{0};
  std::atomic<std::size_t> size{0};
  std::atomic<void*> ptr{nullptr};
  std::atomic<void*> out_ptr{nullptr};
  std::atomic<std::uint64_t> out_usable{0};
  std::atomic<std::uint8_t> out_kind{0};
  std::atomic<int> out_cls{-1};
  std::atomic<bool> out_live{false};
  std::atomic<std::uint64_t> out_outcome{0};
  std::atomic<std::uint8_t> out_page_of{0};
};

class Interleaver final : public ScheduledClient {
 public:
  Interleaver(const Program& p, RecordingRule& s, const InterleaveOptions& o)
      : program_(p), strategy_(s), options_(o), routing_(p.config), slots_(kMaxThreads) {}

  InterleaveResult run() {
    plan_ = plan_interleaving(program_, options_.max_ops);
    for (const PlannedOp& p : plan_)
      if (p.op.code() == OpCode::alloc) {
        blocks_.push_back({});
        blocks_.back().b.size = p.op.alloc_size();
        blocks_.back().b.owner = p.op.thread();
      }
    hakmem::PoolOptions po;
    po.env = program_env(program_.config);
    po.arena_bytes = kRunnerArenaBytes;
    po.arena_cache = &harness_arena_cache();
    po.report = nullptr;
    pool_ = options_.plant ? make_pool(options_.flavour, std::move(po), *options_.plant)
                           : make_pool(options_.flavour, std::move(po));
    {
      Scheduler c(program_.threads, *this, strategy_, options_.max_steps);
      SchedulerInstall installed(c);
      controller_ = &c;
      drive();
      if (!out_.run.finding) check(plan_.size());  // every thread idle: before the exits drain what they hold
      exit_all();
      steps_ = c.steps();
      out_.steps = steps_.size();
      out_.preemptions = c.preemptions();
      controller_ = nullptr;
      if (c.deadlocked()) (void)pool_.release();  // its parked threads hold it
    }
    if (!pool_) {  // deadlocked: nothing more to check
      if (options_.trace) build_trace();
      out_.decisions = strategy_.record();
      return std::move(out_);
    }
    if (!out_.run.finding) finish();
    out_.run.stats = pool_->stats();
    for (const Step& s : steps_)
      digest_.mix(std::uint64_t(s.thread) | std::uint64_t(s.point) << 8 |
                  (s.arg << 16 ^ s.result.value_or(0)));
    out_.run.digest = digest_.value();
    if (options_.trace) build_trace();
    out_.decisions = strategy_.record();
    pool_.reset();
    return std::move(out_);
  }

  // On the logical thread: one op, its pool calls only.
  void run_job(int thread, std::uint32_t) override {
    Slot& s = slots_[thread];
    switch (static_cast<OpCode>(s.code.load(std::memory_order_relaxed))) {
      case OpCode::alloc: {
        void* p = pool_->alloc(s.size.load(std::memory_order_relaxed));
        const hakmem::BlockInfo info = p ? pool_->block_info(p) : hakmem::BlockInfo{};
        s.out_ptr.store(p, std::memory_order_relaxed);
        s.out_usable.store(info.usable, std::memory_order_relaxed);
        s.out_kind.store(static_cast<std::uint8_t>(info.kind), std::memory_order_relaxed);
        s.out_cls.store(info.cls, std::memory_order_relaxed);
        s.out_live.store(info.live, std::memory_order_relaxed);
        break;
      }
      case OpCode::bad_free:
        s.out_page_of.store(static_cast<std::uint8_t>(pool_->page_of(s.ptr.load(std::memory_order_relaxed))),
                            std::memory_order_relaxed);
        [[fallthrough]];
      case OpCode::free:
        s.out_outcome.store(hakmem::pack(pool_->free(s.ptr.load(std::memory_order_relaxed))),
                            std::memory_order_relaxed);
        break;
      default:
        break;
    }
  }

 private:
  // ------------------------------------------------------------ the run
  void find(FindingKind kind, std::size_t op, const std::string& what) {
    if (!out_.run.finding) out_.run.finding = Finding{kind, op, what};
  }
  void note(std::size_t op, const std::string& line) {
    if (options_.trace)
      notes_.push_back({controller_ ? controller_->steps().size() : steps_.size(), op, line});
  }

  bool deps_met(const PlannedOp& p) const {
    if (p.op.code() == OpCode::free || (p.op.code() == OpCode::bad_free && p.block != kNoBlock))
      return blocks_[p.block].life != Life::planned;
    return true;
  }

  void drive() {
    std::size_t next = 0;
    bool offered = false;
    for (;;) {
      while (!out_.run.finding && next < plan_.size() && !offered) {
        PlannedOp& p = plan_[next];
        if (!p.skip.empty()) {
          note(next, std::string(op_name(p)) + " (skipped: " + p.skip + ")");
          ++next;
          continue;
        }
        if (p.barrier) {
          if (in_progress_) break;
          run_barrier(next++);
          continue;
        }
        const int t = p.op.thread();
        if (!deps_met(p) || !controller_->idle(t)) break;
        if (p.op.code() == OpCode::bad_free && p.block != kNoBlock && blocks_[p.block].life != Life::live) {
          note(next++, std::string(op_name(p)) + " (skipped: its block is being freed)");
          continue;
        }
        prepare(t, next);
        controller_->offer(
            t, p.op.code() == OpCode::exit ? Scheduler::kExitJob : static_cast<std::uint32_t>(next), next);
        running_op_[t] = next++;
        offered = true;
      }
      if (out_.run.finding) return;
      if (next == plan_.size() && !offered && !in_progress_) return;
      const Scheduler::Outcome o = controller_->run();
      switch (o.event) {
        case Scheduler::Event::started:
          offered = false;
          ++in_progress_;
          started(o.thread, running_op_[o.thread]);
          break;
        case Scheduler::Event::done:
          --in_progress_;
          done(o.thread, running_op_[o.thread]);
          break;
        case Scheduler::Event::exited:
          --in_progress_;
          for (Tracked& t : blocks_)
            if (t.b.owner == o.thread && t.life != Life::freed) t.b.orphaned = true;
          note(running_op_[o.thread], "t" + std::to_string(o.thread) + " exited");
          break;
        case Scheduler::Event::deadlock:
          return find(FindingKind::deadlock, next, "deadlock: " + controller_->blocked_report());
        case Scheduler::Event::step_limit:
          return find(FindingKind::livelock, next,
                      "no end after " + std::to_string(options_.max_steps) + " schedule steps");
        case Scheduler::Event::idle:
          if (next < plan_.size() && !offered) return find(FindingKind::harness, next, "the program stalled");
          break;
      }
    }
  }

  // Every thread still alive exits, under control: exits interleave too.
  void exit_all() {
    if (out_.run.finding) return;
    for (int t = 0; t < program_.threads; ++t)
      if (controller_->alive(t) && controller_->idle(t)) {
        controller_->offer(t, Scheduler::kExitJob, plan_.size() + t);
        running_op_[t] = plan_.size();
        ++in_progress_;
      }
    while (in_progress_ && !out_.run.finding) {
      const Scheduler::Outcome o = controller_->run();
      if (o.event == Scheduler::Event::exited) {
        --in_progress_;
        for (Tracked& t : blocks_)
          if (t.b.owner == o.thread && t.life == Life::live) t.b.orphaned = true;
      } else if (o.event == Scheduler::Event::started) {
        for (Tracked& t : blocks_)
          if (t.b.owner == o.thread) t.owner_exiting = true;
      } else if (o.event == Scheduler::Event::deadlock) {
        find(FindingKind::deadlock, plan_.size(), "deadlock at exit: " + controller_->blocked_report());
      } else if (o.event == Scheduler::Event::step_limit || o.event == Scheduler::Event::idle) {
        find(FindingKind::livelock, plan_.size(), "threads did not exit");
      }
    }
  }

  void prepare(int t, std::size_t i) {
    const PlannedOp& p = plan_[i];
    Slot& s = slots_[t];
    s.code.store(static_cast<std::uint8_t>(p.op.code()), std::memory_order_relaxed);
    if (p.op.code() == OpCode::alloc) s.size.store(p.op.alloc_size(), std::memory_order_relaxed);
    if (p.op.code() == OpCode::free) s.ptr.store(blocks_[p.block].b.ptr, std::memory_order_relaxed);
    if (p.op.code() == OpCode::bad_free) {
      static int outside_every_arena = 0;
      bad_[t] = model::craft_bad_free(p.op.bad_kind(), p.block == kNoBlock ? nullptr : &blocks_[p.block].b,
                                      p.op.bad_offset(), pool_->arena_base() + kRunnerArenaBytes,
                                      &outside_every_arena, routing_);
      s.ptr.store(bad_[t].ptr, std::memory_order_relaxed);
    }
  }

  void started(int t, std::size_t i) {
    const PlannedOp& p = plan_[i];
    if (p.op.code() == OpCode::exit) {
      for (Tracked& b : blocks_)
        if (b.b.owner == t) b.owner_exiting = true;
      return;
    }
    if (p.op.code() != OpCode::free) return;
    Tracked& b = blocks_[p.block];
    if (!model::contents_intact(b.b))
      return find(FindingKind::contents, i,
                  "contents of block " + std::to_string(p.block) + " changed while live");
    b.life = Life::freeing;  // from here its range may be handed out again
  }

  void done(int t, std::size_t i) {
    const PlannedOp& p = plan_[i];
    const Slot& s = slots_[t];
    const std::string who = "t" + std::to_string(t) + " ";
    switch (p.op.code()) {
      case OpCode::alloc:
        return alloc_done(t, i, s, who);
      case OpCode::free: {
        Tracked& b = blocks_[p.block];
        model::Expected want = model::expect_free(b.b, t, routing_);
        want.either_v2_route = want.either_v2_route || (b.owner_exiting && b.b.kind == BlockKind::v2);
        b.life = Life::freed;
        return judge(i, hakmem::unpack(s.out_outcome.load(std::memory_order_relaxed)), want,
                     who + "free block " + std::to_string(p.block));
      }
      case OpCode::bad_free: {
        const auto seen = static_cast<Verdict>(s.out_page_of.load(std::memory_order_relaxed));
        if (seen != bad_[t].want.page_of)
          return find(FindingKind::page_of, i,
                      who + bad_[t].what() + ": page_of says " + hakmem::verdict_name(seen) +
                          ", model expects " + hakmem::verdict_name(bad_[t].want.page_of));
        return judge(i, hakmem::unpack(s.out_outcome.load(std::memory_order_relaxed)), bad_[t].want,
                     who + bad_[t].what());
      }
      default:
        return;
    }
  }

  void alloc_done(int t, std::size_t i, const Slot& s, const std::string& who) {
    Tracked& tb = blocks_[plan_[i].block];
    const std::size_t size = tb.b.size;
    auto* p = static_cast<char*>(s.out_ptr.load(std::memory_order_relaxed));
    const auto kind = static_cast<BlockKind>(s.out_kind.load(std::memory_order_relaxed));
    const int cls = hakmem::size_class_of(size);
    out_.run.tally.alloc(cls, routing_.routed(cls), p ? kind : BlockKind::none);
    const auto off = p ? pool_->arena_offset(p) : std::nullopt;
    digest_.mix(p ? (off ? *off : 1ull << 63) : 0);
    note(i, who + "alloc " + std::to_string(size) + " -> " +
                (!p    ? "null"
                 : off ? "arena+" + std::to_string(*off)
                       : "large"));
    if (!p)
      return find(FindingKind::alloc_null, i, who + "alloc(" + std::to_string(size) + ") returned null");
    const std::uint64_t usable = s.out_usable.load(std::memory_order_relaxed);
    if (!s.out_live.load(std::memory_order_relaxed) || usable < std::max<std::size_t>(size, 1))
      return find(
          FindingKind::usable_size, i,
          who + "alloc(" + std::to_string(size) + "): usable " + std::to_string(usable) + " < request");
    if (kind != routing_.kind_for(size))
      return find(FindingKind::alloc_route, i,
                  who + "alloc routed to " + hakmem::block_kind_name(kind) + ", model expects " +
                      hakmem::block_kind_name(routing_.kind_for(size)));
    // A block whose free began may be handed out again already; a solidly
    // live one never.
    const auto start = reinterpret_cast<std::uintptr_t>(p);
    for (const Tracked& other : blocks_)
      if (other.life == Life::live) {
        const auto o = reinterpret_cast<std::uintptr_t>(other.b.ptr);
        if (o < start + usable && start < o + other.b.usable)
          return find(FindingKind::overlap, i, who + "new block overlaps a live block");
      }
    tb.b = Block{p, size, usable, kind, s.out_cls.load(std::memory_order_relaxed), std::uint64_t{i} + 1, t};
    tb.life = Life::live;
    model::fill(tb.b);
  }

  void judge(std::size_t i, const FreeOutcome& got, const model::Expected& want, const std::string& what) {
    digest_.mix(static_cast<std::uint64_t>(got.route) | std::uint64_t(got.page_of) << 8 |
                std::uint64_t(got.reason) << 16 | std::uint64_t(got.entered_v2) << 24);
    note(i, what + " -> " + model::describe(got));
    if (!want.matches(got))
      return find(FindingKind::free_outcome, i,
                  what + ": pool says " + model::describe(got) + ", model expects " + want.describe());
    out_.run.tally.free(got);
  }

  void run_barrier(std::size_t i) {
    const PlannedOp& p = plan_[i];
    if (p.op.code() == OpCode::refresh) {
      const hakmem::Config c = p.op.refresh_config();
      routing_ = model::Routing(c);
      pool_->set_env_source(program_env(c));
      if (auto err = pool_->refresh_from_env())
        return find(FindingKind::config, i, std::string("refresh_from_env failed: ") + err->what());
      return note(i, "refresh " + pool_->config().describe());
    }
    check(i);
  }

  void check(std::size_t i) {
    const hakmem::InvariantReport r = pool_->check();
    const hakmem::Census census = pool_->census();
    std::uint64_t live = 0, bytes = 0;
    for (const Tracked& t : blocks_)
      if (t.life == Life::live) ++live, bytes += t.b.usable;
    note(i, "check live=" + std::to_string(r.live_blocks));
    if (!r.ok) return find(FindingKind::invariant, i, "invariant walk: " + r.first_error);
    if (r.live_blocks != live || r.live_bytes != bytes)
      find(FindingKind::accounting, i,
           "accounting: pool has " + std::to_string(r.live_blocks) + " live blocks, model " +
               std::to_string(live));
    if (auto kept = model::check_retention(census)) find(FindingKind::retained, i, *kept);
  }

  // Every thread has exited: this thread frees what is left, uncontrolled,
  // and the pool must account for everything.
  void finish() {
    const std::size_t end = plan_.size();
    check(end);
    for (std::size_t id = 0; id < blocks_.size() && !out_.run.finding; ++id) {
      Tracked& t = blocks_[id];
      if (t.life != Life::live) continue;
      if (!model::contents_intact(t.b))
        return find(FindingKind::contents, end,
                    "contents of block " + std::to_string(id) + " changed while live");
      t.b.orphaned = true;
      const model::Expected want = model::expect_free(t.b, -1, routing_);
      t.life = Life::freed;
      judge(end, pool_->free(t.b.ptr), want, "free block " + std::to_string(id));
    }
    if (out_.run.finding) return;
    check(end);
    if (out_.run.finding) return;
    if (auto wrong = out_.run.tally.check_counters(pool_->stats()))
      return find(FindingKind::counter, end, *wrong);
    if (auto kept = nothing_kept(*pool_, routing_)) find(FindingKind::retained, end, *kept);
  }

  static const char* op_name(const PlannedOp& p) {
    static const char* const names[] = {"alloc", "free", "bad_free", "refresh", "fault", "check", "exit"};
    return names[static_cast<int>(p.op.code())];
  }

  void build_trace() {
    std::size_t n = 0;
    auto flush_notes = [&](std::size_t upto) {
      for (; n < notes_.size() && notes_[n].step <= upto; ++n)
        out_.run.trace.push_back("[" + std::to_string(notes_[n].op) + "] " + notes_[n].line);
    };
    for (std::size_t k = 0; k < steps_.size(); ++k) {
      flush_notes(k);
      out_.run.trace.push_back("  " + describe_step(steps_[k]));
    }
    flush_notes(SIZE_MAX);
  }

  struct Note {
    std::size_t step, op;
    std::string line;
  };

  const Program& program_;
  RecordingRule& strategy_;
  const InterleaveOptions& options_;
  model::Routing routing_;
  std::unique_ptr<PoolUnderTest> pool_;
  Scheduler* controller_ = nullptr;
  std::vector<PlannedOp> plan_;
  std::vector<Tracked> blocks_;
  std::vector<Slot> slots_;
  std::array<std::size_t, kMaxThreads> running_op_{};
  std::array<model::BadPointer, kMaxThreads> bad_{};
  std::size_t in_progress_ = 0;
  std::vector<Step> steps_;
  std::vector<Note> notes_;
  support::Digest digest_;
  InterleaveResult out_;
};

}  // namespace

InterleaveResult run_interleaved(const Program& program, RecordingRule& strategy,
                                 const InterleaveOptions& options) {
  return Interleaver(program, strategy, options).run();
}

}  // namespace hakfuzz
