#include "exec/run_program.h"

#include <algorithm>
#include <sstream>
#include <type_traits>

#include "exec/team.h"
#include "oracle/plants.h"
#include "support/digest.h"

namespace hakfuzz {

namespace {

using hakmem::BlockKind;
using hakmem::FreeOutcome;
using hakmem::V2Stat;
using hakmem::Verdict;
using model::Block;
using model::Expected;

class Runner {
 public:
  Runner(const Program& program, const RunOptions& options)
      : program_(program), options_(options), routing_(program.config) {}

  RunResult run() {
    hakmem::PoolOptions po;
    po.env = options_.env ? options_.env : program_env(program_.config);
    po.arena_bytes = kRunnerArenaBytes;
    po.arena_cache = &harness_arena_cache();
    po.report = options_.report;
    pool_ = options_.plant ? make_pool(options_.flavour, std::move(po), *options_.plant)
                           : make_pool(options_.flavour, std::move(po));
    const hakmem::Config read = pool_->config();
    for (const hakmem::FlagSpec* f : program_flags()) {
      const auto flag = static_cast<hakmem::EnvFlag>(f - hakmem::flag_table().data());
      if (read.get(flag) != program_.config.get(flag))
        find(FindingKind::config, std::string("the pool read ") + read.describe() + ", the program sets " +
                                      config_text(program_.config));
    }
    std::optional<ThreadTeam> team;
    if (program_.threads > 1) team.emplace(*pool_, options_.oracle, options_.os_thread_exits);
    team_ = team ? &*team : nullptr;
    const std::size_t n = std::min(program_.ops.size(), options_.max_ops);
    auto body = [this](std::size_t i) {
      op_index_ = i;
      step(program_.ops[i]);
      return !result_.finding;
    };
    if (team_)
      team_->play(
          n, [this](std::size_t i) { return seat_of(program_.ops[i]); }, body);
    else
      for (std::size_t i = 0; i < n; ++i)
        if (!body(i)) break;
    op_index_ = n;
    if (!result_.finding) finish();
    if (team_) team_->exit_all();
    team_ = nullptr;
    result_.stats = pool_->stats();
    result_.digest = digest_.value();
    pool_.reset();
    return std::move(result_);
  }

 private:
  void find(FindingKind kind, const std::string& what) {
    if (!result_.finding) result_.finding = Finding{kind, op_index_, what};
  }
  // The op's trace line: a string, or a function making it, called only when
  // the trace is kept (building lines costs more than most ops).
  template <class Line>
  void note(Line&& line) {
    if (!options_.trace) return;
    if constexpr (std::is_invocable_v<Line>)
      result_.trace.push_back("[" + std::to_string(op_index_) + "] " + line());
    else
      result_.trace.push_back("[" + std::to_string(op_index_) + "] " + line);
  }

  // Only pool calls that go by the calling thread's identity need the op's
  // thread; the controller starts OS threads and joins them.
  int seat_of(const Op& op) const {
    switch (op.code()) {
      case OpCode::alloc:
      case OpCode::free:
      case OpCode::bad_free:
        return op.thread();
      case OpCode::exit:
        return team_->exits_on_controller() ? ThreadTeam::kDriver : ThreadTeam::kAnyThread;
      case OpCode::refresh:
      case OpCode::fault:
      case OpCode::check:
        return ThreadTeam::kAnyThread;
    }
    return ThreadTeam::kDriver;
  }

  // Pool calls run on the op's logical thread in a schedule, else right here.
  void* pool_alloc(std::size_t size) { return team_ ? team_->alloc(thread_, size) : pool_->alloc(size); }
  FreeOutcome pool_free(void* p) { return team_ ? team_->free(thread_, p) : pool_->free(p); }

  std::string where(const void* p) const {
    if (!p) return "null";
    if (auto off = pool_->arena_offset(p)) {
      std::ostringstream s;
      s << "arena+0x" << std::hex << *off;
      return s.str();
    }
    return "large";
  }

  void step(const Op& op) {
    thread_ = op.thread();
    digest_.mix(static_cast<std::uint64_t>(op.code()) | std::uint64_t(op.thread()) << 8);
    switch (op.code()) {
      case OpCode::alloc:
        return do_alloc(op);
      case OpCode::free:
        return do_free(op.pick());
      case OpCode::bad_free:
        return do_bad_free(op);
      case OpCode::refresh:
        return do_refresh(op);
      case OpCode::fault:
        return do_fault(op);
      case OpCode::check:
        return do_check();
      case OpCode::exit:
        return do_exit();
    }
  }

  void do_alloc(const Op& op) {
    const std::size_t size = op.alloc_size();
    const int cls = hakmem::size_class_of(size);
    const BlockKind want = routing_.kind_for(size);
    const std::uint64_t before = pool_->os_counters().acquisitions;
    auto* p = static_cast<char*>(pool_alloc(size));
    const std::uint64_t made = pool_->os_counters().acquisitions - before;
    note([&] { return "alloc " + std::to_string(size) + " -> " + where(p); });
    digest_.mix(p ? (pool_->arena_offset(p) ? *pool_->arena_offset(p) : 1ull << 63) : 0);
    const hakmem::BlockInfo info = p ? pool_->block_info(p) : hakmem::BlockInfo{};
    const BlockKind got = p ? info.kind : BlockKind::none;
    result_.tally.alloc(cls, routing_.routed(cls), got,
                        model::v2_refill_failed(want, before + 1, made, faults_));
    if (auto wrong = model::check_acquisitions(want, got, before + 1, made, faults_))
      return find(p ? FindingKind::alloc_route : FindingKind::alloc_null,
                  "alloc(" + std::to_string(size) + "): " + *wrong);
    if (!p) return;
    digest_.mix(info.usable);
    if (!info.live || info.usable < std::max<std::size_t>(size, 1))
      return find(FindingKind::usable_size, "alloc(" + std::to_string(size) + "): usable " +
                                                std::to_string(info.usable) + " < request");
    Block b{p, size, info.usable, info.kind, info.cls, 0, thread_};
    if (auto overlap = live_.add(b)) return find(FindingKind::overlap, *overlap);
    if (got != BlockKind::large &&
        made > (model::v2_refill_failed(want, before + 1, made, faults_) ? 1u : 0u))
      check_commit(size, *info.arena_offset >> hakmem::kSlabShift, got, info.cls);
    model::fill(live_.blocks().back());
    if (options_.probe_page_of) probe_around(live_.blocks().back());
  }

  void do_free(std::uint8_t pick) {
    if (live_.empty()) return note("free (nothing live)");
    const std::size_t k = pick % live_.size();
    if (!model::contents_intact(live_.at(k)))
      return find(FindingKind::contents,
                  "contents of block " + std::to_string(live_.at(k).id) + " changed while it was live");
    const Expected want = model::expect_free(live_.at(k), thread_, routing_);
    const FreeOutcome got = pool_free(live_.at(k).ptr);
    const Block b = live_.take(k);
    compare(got, want, [&] { return "free block " + std::to_string(b.id); });
    if (options_.probe_page_of) probe_around(b);
  }

  // `what` makes the free's name, for the trace and a finding only.
  template <class What>
  void compare(const FreeOutcome& got, const Expected& want, What what) {
    digest_.mix(static_cast<std::uint64_t>(got.route) | std::uint64_t(got.page_of) << 8 |
                std::uint64_t(got.reason) << 16 | std::uint64_t(got.entered_v2) << 24);
    note([&] { return what() + " -> " + model::describe(got); });
    if (!want.matches(got))
      return find(FindingKind::free_outcome,
                  what() + ": pool says " + model::describe(got) + ", model expects " + want.describe());
    result_.tally.free(got);
  }

  // The block a bad_free aims at, or nullptr when the kind has none to aim at.
  const Block* target_of(const Op& op) {
    switch (op.bad_kind()) {
      case BadKind::interior:
        return live_.empty() ? nullptr : &live_.blocks()[op.bad_pick() % live_.size()];
      case BadKind::slab_header: {  // the pick-th live block in a slab, counted in place
        auto pooled = [](const Block& b) { return b.kind != BlockKind::large; };
        const auto n =
            static_cast<std::size_t>(std::count_if(live_.blocks().begin(), live_.blocks().end(), pooled));
        if (n == 0) return nullptr;
        std::size_t k = op.bad_pick() % n;
        for (const Block& b : live_.blocks())
          if (pooled(b) && k-- == 0) return &b;
        return nullptr;
      }
      case BadKind::double_free: {
        if (live_.freed().empty()) return nullptr;
        auto it = live_.freed().begin();
        std::advance(it, op.bad_pick() % live_.freed().size());
        return &it->second;
      }
      case BadKind::stack:
      case BadKind::unused_slab:
        return nullptr;
    }
    return nullptr;
  }

  void do_bad_free(const Op& op) {
    const Block* target = target_of(op);
    const bool needs_target = op.bad_kind() != BadKind::stack && op.bad_kind() != BadKind::unused_slab;
    if (needs_target && !target) return;
    int stack_word = 0;
    const model::BadPointer bad =
        model::craft_bad_free(op.bad_kind(), target, op.bad_offset(), pool_->arena_base() + kRunnerArenaBytes,
                              &stack_word, routing_);
    if (const Verdict seen = pool_->page_of(bad.ptr); seen != bad.want.page_of)
      return find(FindingKind::page_of, bad.what() + ": page_of says " + hakmem::verdict_name(seen) +
                                            ", model expects " + hakmem::verdict_name(bad.want.page_of));
    compare(pool_free(bad.ptr), bad.want, [&] { return bad.what(); });
  }

  void probe_around(const Block& b) {
    if (b.kind == BlockKind::large) {
      if (pool_->page_of(b.ptr) != Verdict::unknown)
        find(FindingKind::page_of, "page_of of a large block is not unknown");
      return;
    }
    const std::uintptr_t slab =
        reinterpret_cast<std::uintptr_t>(b.ptr) & ~(std::uintptr_t{hakmem::kSlabSize} - 1);
    for (std::uintptr_t a : model::probe_addresses(b)) {
      const Verdict want = model::geometric_verdict(b, a);
      if (want == Verdict::unknown) continue;  // fell into a neighbouring slab
      const Verdict got = pool_->page_of(reinterpret_cast<void*>(a));
      digest_.mix(static_cast<std::uint64_t>(got));
      if (got != want)
        return find(FindingKind::page_of, "page_of(slab+" + std::to_string(a - slab) + ") of class " +
                                              std::to_string(b.cls) + " " + hakmem::block_kind_name(b.kind) +
                                              " page is " + hakmem::verdict_name(got) + ", geometry says " +
                                              hakmem::verdict_name(want));
    }
  }

  void do_exit() {
    if (!team_ || !team_->running(thread_)) return note("exit (not running)");
    team_->exit(thread_);
    live_.orphan_blocks_of(thread_);
    note("exit");
  }

  void do_refresh(const Op& op) {
    const hakmem::Config config = op.refresh_config();
    routing_ = model::Routing(config);
    pool_->set_env_source(program_env(config));
    if (auto err = pool_->refresh_from_env())
      return find(FindingKind::config, std::string("refresh_from_env failed: ") + err->what());
    note([&] { return "refresh " + pool_->config().describe(); });
  }

  // The plan counts acquisitions from now on, as the pool's counter does.
  void do_fault(const Op& op) {
    hakmem::FaultPlan plan;
    faults_ = {};
    if (op.fault_nth() != 0) {
      plan.fail_nth = faults_.nth = static_cast<std::uint64_t>(op.fault_nth());
      plan.fail_count = faults_.count = static_cast<std::uint64_t>(op.fault_count());
    }
    pool_->set_fault_plan(plan);
    note(faults_.nth ? "fault armed" : "fault disarmed");
  }

  // The allocation acquired `slab`: was it needed (model::check_commit)? One
  // thread's pages then never outnumber ceil(peak live / capacity).
  void check_commit(std::size_t size, std::uint32_t slab, BlockKind kind, int cls) {
    if (team_) team_->quiesce();
    pool_->census_into(census_);
    const hakmem::Census& c = census_;
    if (team_) team_->quiesce();
    if (auto wrong = model::check_commit(c, slab))
      return find(FindingKind::retained, "alloc(" + std::to_string(size) + "): " + *wrong);
    if (program_.threads > 1) return;
    const std::uint64_t pages = (kind == BlockKind::v2 ? c.v2_slabs : c.v1_slabs)[cls];
    const std::uint64_t cap = hakmem::kGeometry[cls].capacity;
    if (pages > (live_.peak(kind, cls) + cap - 1) / cap)
      find(FindingKind::retained, std::to_string(pages) + " " + hakmem::block_kind_name(kind) +
                                      " pages of class " + std::to_string(cls) + " for at most " +
                                      std::to_string(live_.peak(kind, cls)) + " blocks ever live (" +
                                      std::to_string(cap) + " per page)");
  }

  void do_check() {
    if (team_) team_->quiesce();
    const hakmem::InvariantReport r = pool_->check();
    pool_->census_into(census_);
    if (team_) team_->quiesce();
    note([&] { return "check live=" + std::to_string(r.live_blocks); });
    if (!r.ok) return find(FindingKind::invariant, "invariant walk: " + r.first_error);
    if (r.live_blocks != live_.size())
      find(FindingKind::accounting, "accounting: pool has " + std::to_string(r.live_blocks) +
                                        " live blocks, model " + std::to_string(live_.size()));
    if (r.live_bytes != live_.live_bytes())
      find(FindingKind::accounting, "accounting: live bytes differ from the model");
    if (auto kept = model::check_retention(census_)) find(FindingKind::retained, *kept);
  }

  // Every thread ends (their pages become orphans), then this thread frees
  // what is left and the pool must account for everything.
  // Then the pool must hold nothing: collected by this thread, it is empty,
  // and each class with pages allocates again from one of them.
  void finish() {
    do_check();  // before the exits, whose drains would hide a lost hint
    const bool threads_ended = team_ != nullptr;
    if (team_) team_->exit_all();
    team_ = nullptr;
    for (std::size_t k = 0; k < live_.size(); ++k) live_.at(k).orphaned = true;
    thread_ = 0;
    if (!result_.finding && threads_ended) do_check();  // else the pool is as just checked
    while (!result_.finding && !live_.empty()) do_free(0);
    if (!result_.finding) do_check();
    if (result_.finding) return;
    if (auto wrong = result_.tally.check_counters(pool_->stats())) return find(FindingKind::counter, *wrong);
    if (auto kept = nothing_kept(*pool_, routing_)) find(FindingKind::retained, *kept);
  }

  const Program& program_;
  const RunOptions& options_;
  model::Routing routing_;
  std::unique_ptr<PoolUnderTest> pool_;
  ThreadTeam* team_ = nullptr;
  model::FaultWindow faults_;
  int thread_ = 0;  // the current op's logical thread
  std::size_t op_index_ = 0;
  model::LiveSet live_;
  hakmem::Census census_;  // the last census taken, its storage reused by the next
  support::Digest digest_;
  RunResult result_;
};

}  // namespace

hakmem::EnvSource program_env(hakmem::Config config) {
  config.invalid_free = static_cast<std::uint32_t>(hakmem::InvalidFreePolicy::quiet);
  return hakmem::config_env(config);
}

std::optional<std::string> nothing_kept(PoolUnderTest& pool, const model::Routing& routing) {
  pool.collect();
  if (auto kept = model::check_empty(pool.census())) return kept;
  pool.set_fault_plan({});
  const hakmem::Census c = pool.census();
  for (int cls = 0; cls < hakmem::kNumClasses; ++cls) {
    const BlockKind kind = routing.kind_for(hakmem::kClassSizes[cls]);
    if ((kind == BlockKind::v2 ? c.v2_slabs : c.v1_slabs)[cls] == 0) continue;
    const std::uint64_t before = pool.os_counters().acquisitions;
    void* p = pool.alloc(hakmem::kClassSizes[cls]);
    const bool fresh = pool.os_counters().acquisitions != before;
    pool.free(p);
    if (fresh)
      return "after everything was freed, an allocation of class " + std::to_string(cls) +
             " acquired a fresh page though " + hakmem::block_kind_name(kind) + " pages of the class exist";
  }
  pool.collect();
  return std::nullopt;
}

RunResult run_program(const Program& program, const RunOptions& options) {
  return Runner(program, options).run();
}

}  // namespace hakfuzz
