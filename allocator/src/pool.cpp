// The facade: construction and teardown, dispatch by size, configuration
// refresh, introspection. Teardown releases every mapping the pool made,
// whatever is still allocated.
#include <algorithm>
#include <cinttypes>
#include <cstdlib>

#include "pool_impl.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

namespace {
std::atomic<std::uint64_t> next_pool_uid{1};  // 0 marks an empty CtxCache

#if HAKMEM_POOL_SCHED_POINTS
// Planted: choice_takes_capitals. The env as the parser sees it, with a
// choice flag's value in capitals turned into the word.
EnvSource with_capitals_lowered(EnvSource env) {
  return [env = std::move(env)](std::string_view name) -> std::optional<std::string> {
    std::optional<std::string> text = env(name);
    const auto spec = std::ranges::find_if(flag_table(), [&](const FlagSpec& s) { return name == s.name; });
    if (!text || text->empty() || spec == flag_table().end() || spec->kind != FlagKind::kChoice ||
        !std::ranges::all_of(*text, [](char ch) { return ch >= 'A' && ch <= 'Z'; }))
      return text;
    for (char& ch : *text) ch = static_cast<char>(ch - 'A' + 'a');
    return text;
  };
}
#endif

// The config `env` gives, read as the pool's options say.
Config read_config(const PoolOptions& options, const EnvSource& env) {
#if HAKMEM_POOL_SCHED_POINTS
  if (options.plant == Plant::choice_takes_capitals) return parse_config(with_capitals_lowered(env));
#endif
  (void)options;
  return parse_config(env);
}
}  // namespace

Pool::Impl::Impl(PoolOptions opts)
    : uid(next_pool_uid.fetch_add(1, std::memory_order_relaxed)),
      options(std::move(opts)),
      cfg(read_config(options, options.env)),  // before anything is mapped: a bad flag maps nothing
      v2_route_mask(cfg.v2_route_mask()),
      invalid_free(cfg.invalid_free_policy()),
      os(options.faults, options.arena_cache),
      arena(os, options.arena_bytes, options.arena_cache),
      large(os, options.large_tombstones) {
#if HAKMEM_POOL_SCHED_POINTS
  v2_shared.plant = options.plant;
#endif
  add_thread_exit_listener(this);
}

// Then the members go in reverse order: the large registry unmaps its live
// blocks, the arena its descriptors and reservation.
Pool::Impl::~Impl() {
  remove_thread_exit_listener(this);
  if (cfg.v2_stats && options.report) {
    std::string table = format_stats_table(Pool::Impl::snapshot());
    std::fputs(table.c_str(), options.report);
  }
}

void Pool::Impl::apply_config(const Config& c) {
  std::lock_guard lock(config_mutex);
  cfg = c;
  v2_route_mask.store(c.v2_route_mask(), std::memory_order_relaxed);
  invalid_free.store(c.invalid_free_policy(), std::memory_order_relaxed);
}

StatsSnapshot Pool::Impl::snapshot() const {
  StatsSnapshot s;
#if HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
  s.compiled = true;
  for (int row = 0; row < kNumStatRows; ++row)
    for (int i = 0; i < kNumV2Stats; ++i) s.rows[row][i] = stats.rows[row][i].load(std::memory_order_relaxed);
  contexts.for_each([&](const ThreadCtx& ctx) {
    for (int row = 0; row < kNumStatRows; ++row)
      for (int i = 0; i < kNumV2Stats; ++i)
        s.rows[row][i] += ctx.stats.rows[row][i].load(std::memory_order_relaxed);
  });
#endif
  return s;
}

PackedOutcome Pool::Impl::report_rejection(const void* ptr, PackedOutcome outcome) {
  const FreeOutcome out = unpacked(outcome);
  InvalidFreePolicy policy = invalid_free.load(std::memory_order_relaxed);
  if (policy == InvalidFreePolicy::quiet) return outcome;
  std::FILE* const to = options.report;
  if (to) {
    auto offset = reinterpret_cast<std::uintptr_t>(ptr) - arena.begin();
    if (out.cls >= 0)
      std::fprintf(to, "hakmem: invalid free of %p: %s: %s (class %d, arena offset 0x%" PRIxPTR ")\n", ptr,
                   verdict_name(out.reason), verdict_message(out.reason), out.cls, offset);
    else
      std::fprintf(to, "hakmem: invalid free of %p: %s: %s\n", ptr, verdict_name(out.reason),
                   verdict_message(out.reason));
  }
  if (policy == InvalidFreePolicy::abort) {
    if (to) std::fflush(to);
    std::abort();
  }
  return outcome;
}

// ---------------------------------------------------------------- Pool

Pool::Pool(PoolOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Pool::~Pool() = default;

// alloc() and free() live in alloc.cpp and free.cpp, next to their paths.

Verdict Pool::page_of(const void* ptr) const { return impl_->arena.locate(ptr).v2_verdict(); }

BlockInfo Pool::block_info(const void* ptr) const {
  BlockInfo info;
  Location loc = impl_->arena.locate(ptr);
  if (loc.where == Location::Where::outside) {
    if (std::size_t bytes = impl_->large.usable(ptr)) {
      info.kind = BlockKind::large;
      info.live = true;
      info.usable = bytes;
    }
    return info;
  }
  info.arena_offset = impl_->arena.offset(ptr);
  if (loc.where != Location::Where::slab) return info;
  info.kind = loc.kind == PageKind::v1 ? BlockKind::v1 : BlockKind::v2;
  info.cls = loc.cls;
  if (loc.geometry == Verdict::ok && loc.desc->state(loc.block) == BlockState::allocated) {
    info.live = true;
    info.usable = kGeometry[loc.cls].block_size;
  }
  return info;
}

std::size_t Pool::usable_size(const void* ptr) const { return block_info(ptr).usable; }

std::optional<ConfigError> Pool::refresh_from_env() {
  EnvSource env;
  {
    std::lock_guard lock(impl_->config_mutex);
    env = impl_->options.env;
  }
  try {
    impl_->apply_config(read_config(impl_->options, env));
  } catch (const ConfigError& e) {
    return e;
  }
  return std::nullopt;
}

void Pool::set_env_source(EnvSource env) {
  std::lock_guard lock(impl_->config_mutex);
  impl_->options.env = std::move(env);
}

Config Pool::config() const {
  std::lock_guard lock(impl_->config_mutex);
  return impl_->cfg;
}

StatsSnapshot Pool::stats() const { return impl_->snapshot(); }

std::size_t Pool::stats_storage_bytes() {
#if HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
  return sizeof(V2Stats);
#else
  return 0;
#endif
}

InvariantReport Pool::check() const { return impl_->check(); }
#if HAKMEM_POOL_SCHED_POINTS
std::optional<InvariantReport> Pool::check_with_fault(InvariantFault fault, std::uint32_t pick) {
  return impl_->check_with_fault(fault, pick);
}
#endif
Census Pool::census() const {
  Census c;
  impl_->census(c);
  return c;
}
void Pool::census(Census& into) const { impl_->census(into); }
void Pool::collect() { impl_->collect(); }
// The order every nested acquisition follows: the thread registry (a
// thread's exit holds it while giving its pages up), the configuration, the
// contexts, the v2 shared queues, v1, the arena's slab lock (taken under a
// v1 lock), the large registry, the OS layer (under the slab lock).
void Pool::prepare_fork() {
  lock_registry_for_fork();
  impl_->config_mutex.lock();
  impl_->contexts.lock_for_fork();
  impl_->v2_shared.lock_for_fork();
  impl_->v1.lock_for_fork();
  impl_->arena.lock_for_fork();
  impl_->large.lock_for_fork();
  impl_->os.lock_for_fork();
}

void Pool::after_fork() {
  impl_->os.unlock_after_fork();
  impl_->large.unlock_after_fork();
  impl_->arena.unlock_after_fork();
  impl_->v1.unlock_after_fork();
  impl_->v2_shared.unlock_after_fork();
  impl_->contexts.unlock_after_fork();
  impl_->config_mutex.unlock();
  unlock_registry_after_fork();
}

void Pool::end_current_thread() { release_current_thread(); }

void Pool::set_fault_plan(const FaultPlan& plan) { impl_->os.set_plan(plan); }
OsCounters Pool::os_counters() const { return impl_->os.counters(); }
std::uintptr_t Pool::arena_base() const { return impl_->arena.begin(); }
std::optional<std::uint64_t> Pool::arena_offset(const void* ptr) const { return impl_->arena.offset(ptr); }

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
