#include "explore/interleave.h"

#include <array>
#include <atomic>

#include "explore/plan.h"
#include "oracle/plants.h"

namespace hakfuzz {

namespace {

using hakmem::Verdict;

enum class Life : std::uint8_t { planned, live, freeing, freed };

// A block of the plan (numbered by its allocation's place in the program)
// and the judge's id for it once its allocation completed.
struct Tracked {
  Life life = Life::planned;
  Judge::BlockId id = 0;
  std::size_t size = 0;
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
  Interleaver(const Program& p, RecordingRule& rule, const InterleaveOptions& o)
      : program_(p),
        rule_(rule),
        options_(o),
        pool_(make_run_pool(p.config, {.flavour = o.flavour, .plant = o.plant})),
        judge_(std::make_unique<Judge>(
            *pool_, p.config, Judge::Options{.trace = o.trace, .overlapping = true, .threads = p.threads})),
        slots_(kMaxThreads) {}

  InterleaveResult run() {
    plan_ = plan_interleaving(program_, options_.max_ops);
    for (const PlannedOp& p : plan_)
      if (p.op.code() == OpCode::alloc) blocks_.push_back({.size = p.op.alloc_size()});
    alloc_end_.assign(blocks_.size(), kNone);
    {
      Scheduler c(program_.threads, *this, rule_, options_.max_steps, options_.memory, options_.weaken,
                  options_.history);
      SchedulerInstall installed(c);
      scheduler_ = &c;
      drive();
      // Every thread idle: checked before the exits drain what they hold.
      if (!judge_->found()) at(plan_.size()).check();
      exit_all();
      out_.steps = c.steps().size();
      out_.preemptions = c.preemptions();
      out_.trail = c.steps();
      out_.orders_written = c.orders_written();
      steps_ = c.steps();
      scheduler_ = nullptr;
      if (c.deadlocked()) {
        // Its parked threads hold the pool: it must outlive them.
        (void)judge_.release();
        (void)pool_.release();
      }
    }
    if (pool_) {
      at(plan_.size()).finish();
      out_.outcome = judge_->outcome();
      for (const Step& s : steps_)
        judge_->mix(std::uint64_t(s.thread) | std::uint64_t(s.point) << 8 |
                    (s.arg << 16 ^ s.result.value_or(0)));
      out_.run = judge_->result();
      if (options_.trace) build_trace();
    }
    out_.decisions = rule_.record();
    return std::move(out_);
  }

  void end_thread(int) override { pool_->end_current_thread(); }

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
  // The judge, told which op (and, for the trace, which step) comes next.
  Judge& at(std::size_t op) {
    judge_->at_op(op);
    judge_->stamp(scheduler_ ? scheduler_->steps().size() : steps_.size());
    return *judge_;
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
      while (!judge_->found() && next < plan_.size() && !offered) {
        PlannedOp& p = plan_[next];
        if (!p.skip.empty()) {
          at(next).note(std::string(op_code_name(p.op.code())) + " (skipped: " + p.skip + ")");
          ++next;
          continue;
        }
        if (p.barrier) {
          if (in_progress_) break;
          run_barrier(next++);
          continue;
        }
        const int t = p.op.thread();
        if (!deps_met(p) || !scheduler_->idle(t)) break;
        if (p.op.code() == OpCode::bad_free && p.block != kNoBlock && blocks_[p.block].life != Life::live) {
          at(next).note(std::string(op_code_name(p.op.code())) + " (skipped: its block is being freed)");
          ++next;
          continue;
        }
        if (!prepare(t, next)) {
          ++next;
          continue;
        }
        scheduler_->offer(
            t, p.op.code() == OpCode::exit ? Scheduler::kExitJob : static_cast<std::uint32_t>(next), next);
        running_op_[t] = next++;
        offered = true;
      }
      if (judge_->found()) return;
      if (next == plan_.size() && !offered && !in_progress_) return;
      const Scheduler::Outcome o = scheduler_->run();
      switch (o.event) {
        case Scheduler::Event::started:
          offered = false;
          ++in_progress_;
          order_start(running_op_[o.thread]);
          started(o.thread, running_op_[o.thread]);
          break;
        case Scheduler::Event::done:
          --in_progress_;
          done(o.thread, running_op_[o.thread]);
          break;
        case Scheduler::Event::exited:
          --in_progress_;
          at(running_op_[o.thread]).note("t" + std::to_string(o.thread) + " exited");
          break;
        case Scheduler::Event::deadlock:
          return at(next).find(FindingKind::deadlock, "deadlock: " + scheduler_->blocked_report());
        case Scheduler::Event::step_limit:
          return at(next).find(FindingKind::livelock,
                               "no end after " + std::to_string(options_.max_steps) + " schedule steps");
        case Scheduler::Event::idle:
          if (next < plan_.size() && !offered)
            return at(next).find(FindingKind::harness, "the program stalled");
          break;
      }
    }
  }

  // Every thread still alive exits, under control: exits interleave too.
  void exit_all() {
    if (judge_->found()) return;
    fence_ = scheduler_->steps().size();
    for (int t = 0; t < program_.threads; ++t)
      if (scheduler_->alive(t) && scheduler_->idle(t)) {
        scheduler_->offer(t, Scheduler::kExitJob, plan_.size() + t);
        running_op_[t] = plan_.size();
        ++in_progress_;
      }
    while (in_progress_ && !judge_->found()) {
      const Scheduler::Outcome o = scheduler_->run();
      if (o.event == Scheduler::Event::exited) {
        --in_progress_;
      } else if (o.event == Scheduler::Event::started) {
        out_.job_orders.push_back({fence_, scheduler_->steps().size() - 1, true});
        at(plan_.size()).on_exit(o.thread);
      } else if (o.event == Scheduler::Event::deadlock) {
        at(plan_.size()).find(FindingKind::deadlock, "deadlock at exit: " + scheduler_->blocked_report());
      } else if (o.event == Scheduler::Event::step_limit || o.event == Scheduler::Event::idle) {
        at(plan_.size()).find(FindingKind::livelock, "threads did not exit");
      }
    }
  }

  // The op's inputs into its thread's slot; false when it has none to run.
  bool prepare(int t, std::size_t i) {
    const PlannedOp& p = plan_[i];
    Slot& s = slots_[t];
    s.code.store(static_cast<std::uint8_t>(p.op.code()), std::memory_order_relaxed);
    if (p.op.code() == OpCode::alloc) s.size.store(p.op.alloc_size(), std::memory_order_relaxed);
    if (p.op.code() == OpCode::bad_free) {
      std::optional<model::BadPointer> bad = at(i).craft_bad_free(
          p.op, p.block == kNoBlock ? std::nullopt : std::optional<Judge::BlockId>(blocks_[p.block].id));
      if (!bad) return false;
      bad_[t] = *bad;
      s.ptr.store(bad_[t].ptr, std::memory_order_relaxed);
    }
    return true;
  }

  // What the driver waited for before op i's job began (its step is the
  // last one taken): the previous op's start, the last barrier, the end of
  // the allocation of the block it frees.
  void order_start(std::size_t i) {
    const std::size_t begin = scheduler_->steps().size() - 1;
    if (last_begin_ != kNone) out_.job_orders.push_back({last_begin_, begin});
    if (fence_ > 0) out_.job_orders.push_back({fence_, begin, true});
    const PlannedOp& p = plan_[i];
    if (p.block != kNoBlock && p.op.code() != OpCode::alloc && alloc_end_[p.block] != kNone)
      out_.job_orders.push_back({alloc_end_[p.block], begin});
    last_begin_ = begin;
  }

  void started(int t, std::size_t i) {
    const PlannedOp& p = plan_[i];
    if (p.op.code() == OpCode::exit) return at(i).on_exit(t);
    if (p.op.code() != OpCode::free) return;
    Tracked& b = blocks_[p.block];
    // From here its range may be handed out again.
    slots_[t].ptr.store(at(i).free_begin(b.id), std::memory_order_relaxed);
    if constexpr (Scheduler::kModelsMemory) at(i).free_clock(b.id, t, scheduler_->clock(t));
    if (b.life == Life::live) b.life = Life::freeing;
  }

  void done(int t, std::size_t i) {
    const PlannedOp& p = plan_[i];
    const Slot& s = slots_[t];
    switch (p.op.code()) {
      case OpCode::alloc: {
        void* ptr = s.out_ptr.load(std::memory_order_relaxed);
        hakmem::BlockInfo info;
        info.usable = s.out_usable.load(std::memory_order_relaxed);
        info.kind = static_cast<hakmem::BlockKind>(s.out_kind.load(std::memory_order_relaxed));
        info.cls = s.out_cls.load(std::memory_order_relaxed);
        info.live = s.out_live.load(std::memory_order_relaxed);
        Tracked& b = blocks_[p.block];
        alloc_end_[p.block] = scheduler_->steps().size() - 1;
        if (std::optional<Judge::BlockId> id = at(i).on_alloc(t, b.size, ptr, info, std::nullopt)) {
          b.id = *id;
          b.life = Life::live;
          if constexpr (Scheduler::kModelsMemory) at(i).hand_over(*id, t, scheduler_->clock(t));
        }
        return;
      }
      case OpCode::free:
        blocks_[p.block].life = Life::freed;
        return at(i).free_end(blocks_[p.block].id, t,
                              hakmem::unpack(s.out_outcome.load(std::memory_order_relaxed)));
      case OpCode::bad_free:
        if (at(i).check_page_of(bad_[t], static_cast<Verdict>(s.out_page_of.load(std::memory_order_relaxed))))
          at(i).bad_free_end(bad_[t], hakmem::unpack(s.out_outcome.load(std::memory_order_relaxed)));
        return;
      default:
        return;
    }
  }

  void run_barrier(std::size_t i) {
    fence_ = scheduler_->steps().size();
    const PlannedOp& p = plan_[i];
    if (p.op.code() == OpCode::refresh) return at(i).on_refresh(p.op.refresh_config());
    at(i).check();
  }

  // The steps with the judge's notes between them, by stamp.
  void build_trace() {
    const std::vector<Judge::Note>& notes = judge_->notes();
    std::size_t n = 0;
    auto flush_notes = [&](std::size_t upto) {
      for (; n < notes.size() && notes[n].stamp <= upto; ++n)
        out_.run.trace.push_back("[" + std::to_string(notes[n].op) + "] " + notes[n].line);
    };
    out_.run.trace.clear();
    for (std::size_t k = 0; k < steps_.size(); ++k) {
      flush_notes(k);
      out_.run.trace.push_back("  " + describe_step(steps_[k]));
    }
    flush_notes(SIZE_MAX);
  }

  const Program& program_;
  RecordingRule& rule_;
  const InterleaveOptions& options_;
  std::unique_ptr<PoolUnderTest> pool_;
  std::unique_ptr<Judge> judge_;
  Scheduler* scheduler_ = nullptr;
  std::vector<PlannedOp> plan_;
  std::vector<Tracked> blocks_;
  static constexpr std::size_t kNone = SIZE_MAX;
  std::vector<std::size_t> alloc_end_;  // per block: its allocation's last step
  std::size_t last_begin_ = kNone;      // the last job start's step
  std::size_t fence_ = 0;               // steps before the last barrier
  std::vector<Slot> slots_;
  std::array<std::size_t, kMaxThreads> running_op_{};
  std::array<model::BadPointer, kMaxThreads> bad_{};
  std::size_t in_progress_ = 0;
  std::vector<Step> steps_;
  InterleaveResult out_;
};

}  // namespace

InterleaveResult run_interleaved(const Program& program, RecordingRule& strategy,
                                 const InterleaveOptions& options) {
  return Interleaver(program, strategy, options).run();
}

}  // namespace hakfuzz
