#include "exec/run_program.h"

namespace hakfuzz {

namespace {

using hakmem::FreeOutcome;

class ProgramRun {
 public:
  ProgramRun(const Program& program, const RunOptions& options)
      : program_(program),
        options_(options),
        pool_(make_run_pool(program.config, {options.flavour, options.env, options.report, options.plant})),
        judge_(*pool_, program.config,
               {.trace = options.trace,
                .probe_page_of = options.probe_page_of,
                .plant_walk_faults = options.plant_walk_faults,
                .threads = program.threads,
                .quiesce = [this] {
                  if (team_) team_->quiesce();
                }}) {}

  RunResult run() {
    block_of_op_.assign(program_.ops.size(), 0);
    std::optional<ThreadTeam> team;
    if (program_.threads > 1) team.emplace(*pool_, options_.oracle, options_.os_thread_exits);
    team_ = team ? &*team : nullptr;
    const std::size_t n = std::min(program_.ops.size(), options_.max_ops);
    auto body = [this](std::size_t i) {
      step(i, program_.ops[i]);
      return !judge_.found();
    };
    if (team_)
      team_->play(
          n, [this](std::size_t i) { return seat_of(program_.ops[i]); }, body);
    else
      for (std::size_t i = 0; i < n && body(i); ++i) {
      }
    judge_.at_op(n);
    if (!judge_.found()) {
      judge_.check();  // before the exits, whose drains would hide a lost hint
      if (team_) team_->exit_all();
      judge_.finish(/*recheck=*/team_ != nullptr);
    }
    if (team_) team_->exit_all();
    team_ = nullptr;
    RunResult result = judge_.result();
    return result;
  }

 private:
  // Only pool calls that go by the calling thread's identity need the op's
  // thread; the driver starts OS threads and joins them.
  int seat_of(const Op& op) const {
    switch (op.code()) {
      case OpCode::alloc:
      case OpCode::free:
      case OpCode::bad_free:
        return op.thread();
      case OpCode::exit:
        return team_->exits_on_driver() ? ThreadTeam::kDriver : ThreadTeam::kAnyThread;
      case OpCode::refresh:
      case OpCode::fault:
      case OpCode::check:
        return ThreadTeam::kAnyThread;
    }
    return ThreadTeam::kDriver;
  }

  // Pool calls run on the op's logical thread in a schedule, else right here.
  void* pool_alloc(int thread, std::size_t size) {
    return team_ ? team_->alloc(thread, size) : pool_->alloc(size);
  }
  FreeOutcome pool_free(int thread, void* p) { return team_ ? team_->free(thread, p) : pool_->free(p); }

  void step(std::size_t i, const Op& op) {
    judge_.begin_op(i, op);
    const int thread = op.thread();
    switch (op.code()) {
      case OpCode::alloc: {
        const std::size_t size = op.alloc_size();
        const std::uint64_t before = pool_->os_counters().acquisitions;
        void* p = pool_alloc(thread, size);
        const std::uint64_t made = pool_->os_counters().acquisitions - before;
        block_of_op_[i] = judge_
                              .on_alloc(thread, size, p, p ? pool_->block_info(p) : hakmem::BlockInfo{},
                                        Judge::Acquisitions{before, made})
                              .value_or(0);
        return;
      }
      case OpCode::free: {
        Judge::BlockId id = 0;
        if (const std::optional<std::size_t> same = op.same_as()) {
          if (*same >= i || block_of_op_[*same] == 0) return judge_.note("free same (names no block)");
          id = block_of_op_[*same];
        } else {
          if (judge_.live_count() == 0) return judge_.note("free (nothing live)");
          id = judge_.live_pick(op.pick());
        }
        block_of_op_[i] = id;
        if (void* p = judge_.free_begin(id)) judge_.free_end(id, thread, pool_free(thread, p));
        return;
      }
      case OpCode::bad_free: {
        const std::optional<model::BadPointer> bad = judge_.craft_bad_free(op);
        if (bad && judge_.check_page_of(*bad, pool_->page_of(bad->ptr)))
          judge_.bad_free_end(*bad, pool_free(thread, bad->ptr));
        return;
      }
      case OpCode::refresh:
        return judge_.on_refresh(op.refresh_config());
      case OpCode::fault:
        return judge_.on_fault(op.fault_nth(), op.fault_count());
      case OpCode::check:
        return judge_.check();
      case OpCode::exit:
        if (!team_ || !team_->running(thread)) return judge_.note("exit (not running)");
        team_->exit(thread);
        judge_.on_exit(thread);
        return judge_.note("exit");
    }
  }

  const Program& program_;
  const RunOptions& options_;
  std::unique_ptr<PoolUnderTest> pool_;
  ThreadTeam* team_ = nullptr;
  Judge judge_;
  std::vector<Judge::BlockId> block_of_op_;  // the block each alloc made and each free named
};

}  // namespace

RunResult run_program(const Program& program, const RunOptions& options) {
  return ProgramRun(program, options).run();
}

}  // namespace hakfuzz
