// The oracle's template body: included by oracle.cpp (both flavours) and by
// tests that run it over a deliberately broken pool to prove it can fail.
#pragma once

#include <array>
#include <cstring>
#include <map>
#include <sstream>

#include "oracle.h"
#include "schedule.h"

namespace hakfuzz {

namespace oracle_detail {

using hakmem::BlockKind;
using hakmem::FreeOutcome;
using hakmem::FreeRoute;
using hakmem::V2Stat;
using hakmem::Verdict;

// The pool's documented slab geometry; the model predicts verdicts from it.
inline constexpr std::uintptr_t kSlabSize = 256 << 10;
inline constexpr std::size_t kSlabHeader = 64;
inline constexpr std::size_t kArenaBytes = std::size_t{256} << 20;
inline constexpr std::size_t kFillBytes = 256;  // checked at each end of a block

struct Block {
  char* ptr;
  std::size_t size, usable;
  BlockKind kind;
  int cls;
  std::uint64_t id;
  int owner = 0;          // logical thread that allocated it
  bool orphaned = false;  // its owner exited: any thread may adopt the page
};

inline std::uint8_t fill_byte(std::uint64_t id, std::size_t i) {
  return static_cast<std::uint8_t>(id * 131 + i * 7 + 1);
}

template <class F>
void for_filled(const Block& b, F f) {
  std::size_t n = std::max<std::size_t>(b.size, 1);
  for (std::size_t i = 0; i < n && i < kFillBytes; ++i) f(i);
  for (std::size_t i = n > kFillBytes ? std::max(kFillBytes, n - kFillBytes) : n; i < n; ++i) f(i);
}

struct Digest {
  std::uint64_t h = 0xcbf29ce484222325ull;
  void mix(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) h = (h ^ ((v >> (8 * i)) & 0xFF)) * 0x100000001b3ull;
  }
};

struct Expected {
  FreeRoute route;
  bool entered;
  Verdict page_of;
  Verdict reason = Verdict::ok;
  int row;
};

template <class Pool>
class Runner {
 public:
  Runner(const Program& p, RunOptions options)
      : program_(p), want_trace_(options.trace), probe_(options.probe_page_of) {
    v2_ = p.flags & 1;
    stats_env_ = (p.flags >> 1) & 1;
    mask_ = p.classes & 0x7F;
  }

  RunResult run() {
    hakmem::PoolOptions options;
    options.env = env();
    options.arena_bytes = kArenaBytes;
    // The teardown stats table (HAKMEM_POOL_V2_STATS=1) is produced, not shown.
    static std::FILE* const discard = std::fopen("/dev/null", "w");
    options.report = discard ? discard : stderr;
    Pool pool(options);
    pool_ = &pool;
    std::optional<ThreadTeam<Pool>> team;
    if (program_.threads > 1) team.emplace(pool);
    team_ = team ? &*team : nullptr;
    std::size_t n = std::min(program_.ops.size(), kMaxOpsPerRun);
    for (op_index_ = 0; op_index_ < n && !result_.finding; ++op_index_) step(program_.ops[op_index_]);
    op_index_ = n;
    if (!result_.finding) finish();
    if (team_) team_->exit_all();
    result_.stats = pool.stats();
    result_.digest = digest_.h;
    team_ = nullptr;
    pool_ = nullptr;
    return std::move(result_);
  }

 private:
  hakmem::EnvSource env() const {
    hakmem::Config cfg;
    cfg.v2_enabled = v2_;
    cfg.v2_classes = mask_;
    cfg.v2_stats = stats_env_;
    cfg.invalid_free = static_cast<std::uint32_t>(hakmem::InvalidFreePolicy::quiet);
    return hakmem::map_env(cfg.env_vars());
  }
  bool routed(int cls) const { return v2_ && cls >= 0 && ((mask_ >> cls) & 1); }
  // The free path enters v2 for a pointer in no class's page whenever v2 routes anything.
  bool enters_v2(int cls) const { return cls < 0 ? v2_ && mask_ != 0 : routed(cls); }

  void find(const std::string& what) {
    if (!result_.finding) result_.finding = Finding{op_index_, what};
  }
  void note(const std::string& line) {
    if (want_trace_) result_.trace.push_back("[" + std::to_string(op_index_) + "] " + line);
  }
  void count(int row, V2Stat s) { ++expected_[row][static_cast<int>(s)]; }

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
    thread_ = op.thread;
    digest_.mix(static_cast<std::uint64_t>(op.code) | std::uint64_t(op.thread) << 8);
    switch (op.code) {
      case OpCode::alloc:
        return do_alloc(op);
      case OpCode::free:
        return do_free(op);
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
    std::size_t size = alloc_size(op);
    int cls = hakmem::size_class_of(size);
    auto* p = static_cast<char*>(pool_alloc(size));
    if (routed(cls)) count(cls, V2Stat::alloc_calls);
    note("alloc " + std::to_string(size) + " -> " + where(p));
    digest_.mix(p ? (pool_->arena_offset(p) ? *pool_->arena_offset(p) : 1ull << 63) : 0);
    if (!p) {
      if (!faults_armed_) find("alloc(" + std::to_string(size) + ") returned null with no fault armed");
      return;
    }
    hakmem::BlockInfo info = pool_->block_info(p);
    digest_.mix(info.usable);
    if (!info.live || info.usable < std::max<std::size_t>(size, 1))
      return find("alloc(" + std::to_string(size) + "): usable " + std::to_string(info.usable) +
                  " < request");
    BlockKind want = cls < 0 ? BlockKind::large : routed(cls) ? BlockKind::v2 : BlockKind::v1;
    // A failed v2 refill may legitimately land in v1 while faults are armed.
    bool fallback_ok = faults_armed_ && want == BlockKind::v2 && info.kind == BlockKind::v1;
    if (info.kind != want && !fallback_ok)
      return find(std::string("alloc routed to ") + hakmem::block_kind_name(info.kind) + ", model expects " +
                  hakmem::block_kind_name(want));
    auto start = reinterpret_cast<std::uintptr_t>(p);
    auto next = by_address_.lower_bound(start);
    if (next != by_address_.end() && next->first < start + info.usable)
      return find("new block overlaps a live block");
    if (next != by_address_.begin() && std::prev(next)->second > start)
      return find("new block overlaps the live block before it");
    by_address_[start] = start + info.usable;
    // The range is handed out again: freed blocks that started in it are gone.
    for (auto it = freed_by_addr_.lower_bound(start);
         it != freed_by_addr_.end() && it->first < start + info.usable; it = freed_by_addr_.erase(it))
      freed_.erase(it->second);
    Block b{p, size, info.usable, info.kind, info.cls, next_id_++, thread_};
    for_filled(b, [&](std::size_t i) { p[i] = static_cast<char>(fill_byte(b.id, i)); });
    live_.push_back(b);
    if (probe_) probe_around(b);
  }

  bool verify(const Block& b) {
    bool ok = true;
    for_filled(b,
               [&](std::size_t i) { ok = ok && static_cast<std::uint8_t>(b.ptr[i]) == fill_byte(b.id, i); });
    if (!ok) find("contents of block " + std::to_string(b.id) + " changed while it was live");
    return ok;
  }

  Expected expect_valid_free(const Block& b) const {
    if (b.kind == BlockKind::large) return {FreeRoute::large, false, Verdict::ok, Verdict::ok, -1};
    bool entered = routed(b.cls);
    Verdict seen = !entered ? Verdict::ok : b.kind == BlockKind::v2 ? Verdict::ok : Verdict::header_missing;
    FreeRoute route = b.kind == BlockKind::v1            ? FreeRoute::v1
                      : b.owner == thread_ || b.orphaned ? FreeRoute::v2_local
                                                         : FreeRoute::v2_remote;
    return {route, entered, seen, Verdict::ok, b.cls};
  }

  void compare(const FreeOutcome& got, Expected want, const std::string& what, bool either_v2_route = false) {
    // An orphaned page may have been adopted by any thread: both routes are right.
    if (either_v2_route && got.route == FreeRoute::v2_remote) want.route = FreeRoute::v2_remote;
    auto text = [](FreeRoute r, bool e, Verdict v, Verdict why) {
      return std::string(hakmem::free_route_name(r)) +
             (e ? std::string(" via v2 page_of=") + hakmem::verdict_name(v)
                : std::string(" (v2 not entered)")) +
             " reason=" + hakmem::verdict_name(why);
    };
    digest_.mix(static_cast<std::uint64_t>(got.route) | std::uint64_t(got.page_of) << 8 |
                std::uint64_t(got.reason) << 16 | std::uint64_t(got.entered_v2) << 24);
    note(what + " -> " + text(got.route, got.entered_v2, got.page_of, got.reason));
    if (got.route != want.route || got.entered_v2 != want.entered ||
        (want.entered && got.page_of != want.page_of) || got.reason != want.reason)
      return find(what + ": pool says " + text(got.route, got.entered_v2, got.page_of, got.reason) +
                  ", model expects " + text(want.route, want.entered, want.page_of, want.reason));
    if (!want.entered) return;
    int row = want.row < 0 ? hakmem::kNoClassRow : want.row;
    count(row, V2Stat::free_calls);
    switch (want.page_of) {
      case Verdict::ok:
        if (want.reason == Verdict::ok) count(row, V2Stat::free_fast);
        return;
      case Verdict::header_missing:
        count(row, V2Stat::page_of_fail_header_missing);
        break;
      case Verdict::out_of_range:
        count(row, V2Stat::page_of_fail_out_of_range);
        break;
      case Verdict::misaligned:
        count(row, V2Stat::page_of_fail_misaligned);
        break;
      default:
        count(row, V2Stat::page_of_fail_unknown);
        break;
    }
    count(row, V2Stat::free_fallback_v1);
  }

  void do_free(const Op& op) {
    if (live_.empty()) return note("free (nothing live)");
    std::size_t k = op.a % live_.size();
    Block b = live_[k];
    if (!verify(b)) return;
    Expected want = expect_valid_free(b);
    FreeOutcome got = pool_free(b.ptr);
    live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(k));
    by_address_.erase(reinterpret_cast<std::uintptr_t>(b.ptr));
    freed_[b.id] = b;
    freed_by_addr_[reinterpret_cast<std::uintptr_t>(b.ptr)] = b.id;
    compare(got, want, "free block " + std::to_string(b.id), b.orphaned && b.kind == BlockKind::v2);
    if (probe_) probe_around(b);
  }

  void do_bad_free(const Op& op) {
    int stack_word = 0;
    char* ptr = nullptr;
    Expected want{FreeRoute::rejected, false, Verdict::ok, Verdict::ok, -1};
    std::string what;
    switch (static_cast<BadKind>(op.a)) {
      case BadKind::interior: {
        if (live_.empty()) return;
        const Block& b = live_[op.b % live_.size()];
        std::size_t span = b.kind == BlockKind::large ? b.usable : hakmem::kClassSizes[b.cls];
        ptr = b.ptr + 1 + op.c % (span - 1);
        what = "free interior of block " + std::to_string(b.id);
        want.row = b.kind == BlockKind::large ? -1 : b.cls;
        want.entered = enters_v2(want.row);
        if (b.kind == BlockKind::large) {
          want.page_of = Verdict::unknown;
          want.reason = Verdict::not_ours;
        } else {
          want.page_of = b.kind == BlockKind::v2 ? Verdict::misaligned : Verdict::header_missing;
          want.reason = Verdict::misaligned;
        }
        break;
      }
      case BadKind::slab_header: {
        std::vector<const Block*> pooled;
        for (const Block& b : live_)
          if (b.kind != BlockKind::large) pooled.push_back(&b);
        if (pooled.empty()) return;
        const Block& b = *pooled[op.b % pooled.size()];
        ptr = reinterpret_cast<char*>(reinterpret_cast<std::uintptr_t>(b.ptr) & ~(kSlabSize - 1)) +
              op.c % kSlabHeader;
        what = "free slab header of block " + std::to_string(b.id);
        want.row = b.cls;
        want.entered = enters_v2(b.cls);
        want.page_of = b.kind == BlockKind::v2 ? Verdict::out_of_range : Verdict::header_missing;
        want.reason = Verdict::out_of_range;
        break;
      }
      case BadKind::double_free: {
        if (freed_.empty()) return;
        auto it = freed_.begin();
        std::advance(it, op.b % freed_.size());
        const Block& b = it->second;
        ptr = b.ptr;
        what = "double free of block " + std::to_string(b.id);
        want.reason = Verdict::double_free;
        want.page_of = Verdict::unknown;  // a large block lies outside the arena
        if (b.kind != BlockKind::large) {
          want.row = b.cls;
          want.entered = enters_v2(b.cls);
          want.page_of = b.kind == BlockKind::v2 ? Verdict::ok : Verdict::header_missing;
        }
        break;
      }
      case BadKind::stack:
        ptr = reinterpret_cast<char*>(&stack_word);
        what = "free of a stack address";
        want.entered = enters_v2(-1);
        want.page_of = Verdict::unknown;
        want.reason = Verdict::not_ours;
        break;
      case BadKind::unused_slab:
        ptr = reinterpret_cast<char*>(pool_->arena_base() + kArenaBytes - kSlabSize + op.c % kSlabSize);
        what = "free inside a never-used slab";
        want.entered = enters_v2(-1);
        want.page_of = Verdict::header_missing;
        want.reason = Verdict::not_ours;
        break;
    }
    if (Verdict v2_view = expected_page_of(want); pool_->page_of(ptr) != v2_view)
      return find(what + ": page_of says " + hakmem::verdict_name(pool_->page_of(ptr)) + ", model expects " +
                  hakmem::verdict_name(v2_view));
    compare(pool_free(ptr), want, what);
  }

  // page_of is geometric: a slab's kind and class fix the verdict of every
  // address in it, whether or not a block there is live.
  static Verdict geometric_verdict(const Block& b, std::uintptr_t addr) {
    std::uintptr_t slab = reinterpret_cast<std::uintptr_t>(b.ptr) & ~(kSlabSize - 1);
    if (addr < slab || addr >= slab + kSlabSize) return Verdict::unknown;  // not this slab
    if (b.kind != BlockKind::v2) return Verdict::header_missing;
    std::size_t bs = hakmem::kClassSizes[b.cls];
    std::size_t cap = (kSlabSize - kSlabHeader) / bs, off = addr - slab;
    if (off < kSlabHeader || off >= kSlabHeader + cap * bs) return Verdict::out_of_range;
    return (off - kSlabHeader) % bs == 0 ? Verdict::ok : Verdict::misaligned;
  }

  void probe_around(const Block& b) {
    if (b.kind == BlockKind::large) {
      if (pool_->page_of(b.ptr) != Verdict::unknown) find("page_of of a large block is not unknown");
      return;
    }
    auto start = reinterpret_cast<std::uintptr_t>(b.ptr);
    std::uintptr_t slab = start & ~(kSlabSize - 1);
    std::size_t bs = hakmem::kClassSizes[b.cls];
    const std::uintptr_t probes[] = {start,
                                     start + 1,
                                     start + 8,
                                     start + bs - 1,
                                     start + bs,
                                     start - 1,
                                     start - bs,
                                     slab,
                                     slab + kSlabHeader - 1,
                                     slab + kSlabHeader,
                                     slab + kSlabSize - 1,
                                     slab + kSlabSize - bs};
    for (std::uintptr_t a : probes) {
      Verdict want = geometric_verdict(b, a);
      if (want == Verdict::unknown) continue;  // fell into a neighbouring slab
      Verdict got = pool_->page_of(reinterpret_cast<void*>(a));
      digest_.mix(static_cast<std::uint64_t>(got));
      if (got != want)
        return find("page_of(slab+" + std::to_string(a - slab) + ") of class " + std::to_string(b.cls) + " " +
                    hakmem::block_kind_name(b.kind) + " page is " + hakmem::verdict_name(got) +
                    ", geometry says " + hakmem::verdict_name(want));
    }
  }

  // page_of's verdict does not depend on routing: it is what the free path
  // sees when it enters v2.
  static Verdict expected_page_of(const Expected& want) { return want.page_of; }

  void do_exit() {
    if (!team_ || !team_->running(thread_)) return note("exit (not running)");
    team_->exit(thread_);
    for (Block& b : live_)
      if (b.owner == thread_) b.orphaned = true;
    note("exit");
  }

  void do_refresh(const Op& op) {
    v2_ = op.a & 1;
    stats_env_ = (op.a >> 1) & 1;
    mask_ = op.b & 0x7F;
    pool_->set_env_source(env());
    if (auto err = pool_->refresh_from_env())
      return find(std::string("refresh_from_env failed: ") + err->what());
    note("refresh " + pool_->config().describe());
  }

  void do_fault(const Op& op) {
    hakmem::FaultPlan plan;
    if (op.a != 0) {
      plan.fail_nth = op.a;
      plan.fail_count = op.b;
      faults_armed_ = true;
      ever_armed_ = true;
    } else {
      faults_armed_ = false;
    }
    pool_->set_fault_plan(plan);
    note(op.a ? "fault armed" : "fault disarmed");
  }

  void do_check() {
    if (team_) team_->quiesce();
    hakmem::InvariantReport r = pool_->check();
    if (team_) team_->quiesce();
    note("check live=" + std::to_string(r.live_blocks));
    if (!r.ok) return find("invariant walk: " + r.first_error);
    if (r.live_blocks != live_.size())
      find("accounting: pool has " + std::to_string(r.live_blocks) + " live blocks, model " +
           std::to_string(live_.size()));
    std::uint64_t bytes = 0;
    for (const Block& b : live_) bytes += b.usable;
    if (r.live_bytes != bytes) find("accounting: live bytes differ from the model");
  }

  void finish() {
    if (team_) team_->exit_all();  // every page orphaned; the frees below run right here
    team_ = nullptr;
    for (Block& b : live_) b.orphaned = true;
    thread_ = 0;
    do_check();
    while (!result_.finding && !live_.empty()) do_free(Op{OpCode::free, 0, 0, 0});
    if (!result_.finding) do_check();
    if (result_.finding || !Pool::kStatsCompiled) return;
    hakmem::StatsSnapshot s = pool_->stats();
    for (int row = 0; row < hakmem::kNumStatRows; ++row) {
      for (V2Stat exact :
           {V2Stat::alloc_calls, V2Stat::free_calls, V2Stat::free_fast, V2Stat::free_fallback_v1,
            V2Stat::page_of_fail_header_missing, V2Stat::page_of_fail_out_of_range,
            V2Stat::page_of_fail_misaligned, V2Stat::page_of_fail_unknown}) {
        std::uint64_t want = expected_[row][static_cast<int>(exact)];
        if (s.get(row, exact) != want)
          return find(std::string("counter ") + hakmem::v2_stat_name(exact) + " of row " +
                      std::to_string(row) + " is " + std::to_string(s.get(row, exact)) + ", model expects " +
                      std::to_string(want));
      }
      if (s.get(row, V2Stat::alloc_fast) + s.get(row, V2Stat::alloc_refill) !=
          s.get(row, V2Stat::alloc_calls))
        return find("alloc_fast + alloc_refill != alloc_calls in row " + std::to_string(row));
      if (s.get(row, V2Stat::alloc_refill_fail) != s.get(row, V2Stat::alloc_fallback_v1))
        return find("alloc_refill_fail != alloc_fallback_v1 in row " + std::to_string(row));
      if (!ever_armed_ && s.get(row, V2Stat::alloc_refill_fail) != 0)
        return find("a refill failed with no fault ever armed");
    }
  }

  const Program& program_;
  bool want_trace_, probe_;
  bool v2_ = false, stats_env_ = false;
  unsigned mask_ = 0x7F;
  bool faults_armed_ = false, ever_armed_ = false;
  Pool* pool_ = nullptr;
  ThreadTeam<Pool>* team_ = nullptr;
  int thread_ = 0;  // the current op's logical thread
  std::size_t op_index_ = 0;
  std::vector<Block> live_;
  std::map<std::uintptr_t, std::uintptr_t> by_address_;  // live [start, end)
  // Freed and not handed out since, in id order: picking "the k-th freed
  // block" must not depend on where mmap placed large blocks.
  std::map<std::uint64_t, Block> freed_;
  std::map<std::uintptr_t, std::uint64_t> freed_by_addr_;
  std::uint64_t next_id_ = 1;
  std::array<std::array<std::uint64_t, hakmem::kNumV2Stats>, hakmem::kNumStatRows> expected_{};
  Digest digest_;
  RunResult result_;
};

}  // namespace oracle_detail

template <class Pool>
RunResult run_program(const Program& program, RunOptions options) {
  return oracle_detail::Runner<Pool>(program, options).run();
}

}  // namespace hakfuzz
