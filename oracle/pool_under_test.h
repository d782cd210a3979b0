// The pool as every checker sees it: one interface over the allocator's
// flavours (and over planted bugs wrapped around them), so the runner, the
// stress engine and the sweep compile once instead of once per flavour.
// A virtual call per op costs nothing next to the model's own bookkeeping;
// `bench` and `ab` call the flavours directly.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "hakmem/types.h"

namespace hakfuzz {

// tester: stats compiled in, plus schedule points and planted bugs.
enum class Flavour : std::uint8_t { stats_off, stats_on, tester };
const char* flavour_name(Flavour f);
Flavour flavour_of(bool stats_compiled);

class PoolUnderTest {
 public:
  virtual ~PoolUnderTest() = default;
  virtual Flavour flavour() const = 0;
  bool stats_compiled() const { return flavour() != Flavour::stats_off; }

  virtual void* alloc(std::size_t size) = 0;
  virtual hakmem::FreeOutcome free(void* ptr) = 0;
  virtual hakmem::Verdict page_of(const void* ptr) const = 0;
  virtual hakmem::BlockInfo block_info(const void* ptr) const = 0;
  virtual std::optional<hakmem::ConfigError> refresh_from_env() = 0;
  virtual void set_env_source(hakmem::EnvSource env) = 0;
  virtual hakmem::Config config() const = 0;
  virtual hakmem::StatsSnapshot stats() const = 0;
  virtual std::size_t stats_storage_bytes() const = 0;
  virtual hakmem::InvariantReport check() const = 0;
  // The walk with `fault` planted at its pick-th place (hakmem::Pool::
  // check_with_fault): the tester's flavour only, nullopt elsewhere.
  virtual std::optional<hakmem::InvariantReport> check_with_fault(hakmem::InvariantFault fault,
                                                                  std::uint32_t pick) = 0;
  hakmem::Census census() const {
    hakmem::Census c;
    census_into(c);
    return c;
  }
  // Reuses `into`'s storage (hakmem::Pool::census).
  virtual void census_into(hakmem::Census& into) const = 0;
  virtual void collect() = 0;
  // The calling thread's exit, as far as pools of this flavour can tell
  // (hakmem::Pool::end_current_thread), the OS thread going on.
  virtual void end_current_thread() = 0;
  // fork(): every lock taken before it, released after it in the parent
  // and in the child (hakmem::Pool::prepare_fork).
  virtual void prepare_fork() = 0;
  virtual void after_fork() = 0;
  virtual void set_fault_plan(const hakmem::FaultPlan& plan) = 0;
  virtual hakmem::OsCounters os_counters() const = 0;
  virtual std::uintptr_t arena_base() const = 0;
  virtual std::optional<std::uint64_t> arena_offset(const void* ptr) const = 0;
};

// Forwards everything to an inner pool; planted bugs override what they break.
class PoolWrapper : public PoolUnderTest {
 public:
  explicit PoolWrapper(std::unique_ptr<PoolUnderTest> inner) : inner_(std::move(inner)) {}
  Flavour flavour() const override { return inner_->flavour(); }
  void* alloc(std::size_t size) override { return inner_->alloc(size); }
  hakmem::FreeOutcome free(void* ptr) override { return inner_->free(ptr); }
  hakmem::Verdict page_of(const void* ptr) const override { return inner_->page_of(ptr); }
  hakmem::BlockInfo block_info(const void* ptr) const override { return inner_->block_info(ptr); }
  std::optional<hakmem::ConfigError> refresh_from_env() override { return inner_->refresh_from_env(); }
  void set_env_source(hakmem::EnvSource env) override { inner_->set_env_source(std::move(env)); }
  hakmem::Config config() const override { return inner_->config(); }
  hakmem::StatsSnapshot stats() const override { return inner_->stats(); }
  std::size_t stats_storage_bytes() const override { return inner_->stats_storage_bytes(); }
  hakmem::InvariantReport check() const override { return inner_->check(); }
  std::optional<hakmem::InvariantReport> check_with_fault(hakmem::InvariantFault fault,
                                                          std::uint32_t pick) override {
    return inner_->check_with_fault(fault, pick);
  }
  void census_into(hakmem::Census& into) const override { inner_->census_into(into); }
  void collect() override { inner_->collect(); }
  void end_current_thread() override { inner_->end_current_thread(); }
  void prepare_fork() override { inner_->prepare_fork(); }
  void after_fork() override { inner_->after_fork(); }
  void set_fault_plan(const hakmem::FaultPlan& plan) override { inner_->set_fault_plan(plan); }
  hakmem::OsCounters os_counters() const override { return inner_->os_counters(); }
  std::uintptr_t arena_base() const override { return inner_->arena_base(); }
  std::optional<std::uint64_t> arena_offset(const void* ptr) const override {
    return inner_->arena_offset(ptr);
  }

 protected:
  PoolUnderTest& inner() const { return *inner_; }

 private:
  std::unique_ptr<PoolUnderTest> inner_;
};

// The arenas the harness's pools reuse (PoolOptions::arena_cache): one pool
// per fuzz input then maps, faults in and protects nothing, and each pool
// still meets its arena as a fresh reservation (hakmem/arena_cache.h).
hakmem::ArenaCache& harness_arena_cache();

struct PlantSpec;
// A fresh pool of the flavour, wrapped in `plant` when one is given (the
// process's active plant by default: oracle/plants.h). Throws ConfigError on a
// malformed flag, as the pool's constructor does.
std::unique_ptr<PoolUnderTest> make_pool(Flavour flavour, hakmem::PoolOptions options);
std::unique_ptr<PoolUnderTest> make_pool(Flavour flavour, hakmem::PoolOptions options,
                                         const PlantSpec* plant);

}  // namespace hakfuzz
