#include "oracle/pool_under_test.h"

#include "hakmem/arena_cache.h"
#include "hakmem/variants.h"
#include "oracle/plants.h"

namespace hakfuzz {

namespace {

template <class Pool>
class FlavourPool final : public PoolUnderTest {
 public:
  explicit FlavourPool(hakmem::PoolOptions options) : pool_(std::move(options)) {}
  Flavour flavour() const override {
    return Pool::kSchedPoints ? Flavour::tester : flavour_of(Pool::kStatsCompiled);
  }
  void* alloc(std::size_t size) override { return pool_.alloc(size); }
  hakmem::FreeOutcome free(void* ptr) override { return pool_.free(ptr); }
  hakmem::Verdict page_of(const void* ptr) const override { return pool_.page_of(ptr); }
  hakmem::BlockInfo block_info(const void* ptr) const override { return pool_.block_info(ptr); }
  std::optional<hakmem::ConfigError> refresh_from_env() override { return pool_.refresh_from_env(); }
  void set_env_source(hakmem::EnvSource env) override { pool_.set_env_source(std::move(env)); }
  hakmem::Config config() const override { return pool_.config(); }
  hakmem::StatsSnapshot stats() const override { return pool_.stats(); }
  std::size_t stats_storage_bytes() const override { return Pool::stats_storage_bytes(); }
  hakmem::InvariantReport check() const override { return pool_.check(); }
  std::optional<hakmem::InvariantReport> check_with_fault(hakmem::InvariantFault fault,
                                                          std::uint32_t pick) override {
    if constexpr (Pool::kSchedPoints)
      return pool_.check_with_fault(fault, pick);
    else
      return std::nullopt;
  }
  void census_into(hakmem::Census& into) const override { pool_.census(into); }
  void collect() override { pool_.collect(); }
  void end_current_thread() override { Pool::end_current_thread(); }
  void prepare_fork() override { pool_.prepare_fork(); }
  void after_fork() override { pool_.after_fork(); }
  void set_fault_plan(const hakmem::FaultPlan& plan) override { pool_.set_fault_plan(plan); }
  hakmem::OsCounters os_counters() const override { return pool_.os_counters(); }
  std::uintptr_t arena_base() const override { return pool_.arena_base(); }
  std::optional<std::uint64_t> arena_offset(const void* ptr) const override {
    return pool_.arena_offset(ptr);
  }

 private:
  Pool pool_;
};

}  // namespace

const char* flavour_name(Flavour f) {
  return f == Flavour::tester ? "tester" : f == Flavour::stats_on ? "stats_on" : "stats_off";
}
Flavour flavour_of(bool stats_compiled) { return stats_compiled ? Flavour::stats_on : Flavour::stats_off; }

hakmem::ArenaCache& harness_arena_cache() {
  // Room for what a sweep holds at once: per job, a program's, a stress
  // run's and an interleaving's arena.
  static hakmem::ArenaCache cache(8);
  return cache;
}

std::unique_ptr<PoolUnderTest> make_pool(Flavour flavour, hakmem::PoolOptions options,
                                         const PlantSpec* plant) {
  if (plant && plant->inside != hakmem::Plant::none) {
    flavour = Flavour::tester;
    options.plant = plant->inside;
  }
  std::unique_ptr<PoolUnderTest> pool;
  if (flavour == Flavour::tester)
    pool = std::make_unique<FlavourPool<hakmem::PoolTester>>(std::move(options));
  else if (flavour == Flavour::stats_on)
    pool = std::make_unique<FlavourPool<hakmem::PoolStatsOn>>(std::move(options));
  else
    pool = std::make_unique<FlavourPool<hakmem::PoolStatsOff>>(std::move(options));
  return plant && plant->wrap ? plant->wrap(std::move(pool)) : std::move(pool);
}

std::unique_ptr<PoolUnderTest> make_pool(Flavour flavour, hakmem::PoolOptions options) {
  return make_pool(flavour, std::move(options), active_plant());
}

}  // namespace hakfuzz
