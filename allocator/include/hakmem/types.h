// Types shared by both allocator flavours (stats compiled out and in): size
// classes and slab geometry (geometry.h), verdicts, the flag table's Config,
// fault plans and result records, and the packed form of a FreeOutcome.
// Nothing here depends on HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "hakmem/geometry.h"

namespace hakmem {

// ---------------------------------------------------------------- verdicts
enum class Verdict : std::uint8_t {
#define HAKMEM_VERDICT(name, counter, msg) name,
#include "hakmem/verdicts.def"
#undef HAKMEM_VERDICT
};
inline constexpr int kNumVerdicts = 0
#define HAKMEM_VERDICT(name, counter, msg) +1
#include "hakmem/verdicts.def"
#undef HAKMEM_VERDICT
    ;
const char* verdict_name(Verdict v);
const char* verdict_message(Verdict v);

// ---------------------------------------------------------------- v2 stats
enum class V2Stat : std::uint8_t {
#define HAKMEM_V2_STAT(name, doc) name,
#include "hakmem/v2_stats.def"
#undef HAKMEM_V2_STAT
};
inline constexpr int kNumV2Stats = 0
#define HAKMEM_V2_STAT(name, doc) +1
#include "hakmem/v2_stats.def"
#undef HAKMEM_V2_STAT
    ;
static_assert(kNumV2Stats == 12, "the brief fixes exactly 12 v2 counters");
const char* v2_stat_name(V2Stat s);

namespace detail::verdict_counter {
// The names the counter column of verdicts.def may use.
inline constexpr std::optional<V2Stat> none = std::nullopt;
#define HAKMEM_V2_STAT(name, doc) inline constexpr std::optional<V2Stat> name = V2Stat::name;
#include "hakmem/v2_stats.def"
#undef HAKMEM_V2_STAT
}  // namespace detail::verdict_counter

// The counter a v2 free counts when page_of() fails with `v`; nullopt for
// the verdicts page_of() never fails with (ok, double_free, not_ours).
constexpr std::optional<V2Stat> page_of_fail_counter(Verdict v) {
  constexpr std::optional<V2Stat> table[] = {
#define HAKMEM_VERDICT(name, counter, msg) detail::verdict_counter::counter,
#include "hakmem/verdicts.def"
#undef HAKMEM_VERDICT
  };
  return table[static_cast<int>(v)];
}
static_assert(page_of_fail_counter(Verdict::unknown) == V2Stat::page_of_fail_unknown &&
              !page_of_fail_counter(Verdict::ok));

// Counters are kept per size class, plus one row for frees whose pointer lies
// in no class's page (outside the arena, or in a never-used slab).
inline constexpr int kNoClassRow = kNumClasses;
inline constexpr int kNumStatRows = kNumClasses + 1;

struct StatsSnapshot {
  bool compiled = false;  // false: the build has no counters at all
  std::array<std::array<std::uint64_t, kNumV2Stats>, kNumStatRows> rows{};
  std::uint64_t get(int row, V2Stat s) const { return rows[row][static_cast<int>(s)]; }
  bool operator==(const StatsSnapshot&) const = default;
};
// The per-class table HAKMEM_POOL_V2_STATS=1 prints at teardown.
std::string format_stats_table(const StatsSnapshot& s);

// ---------------------------------------------------------------- flag table
enum class FlagKind : std::uint8_t { kChoice, kMask };

struct FlagSpec {
  const char* field;
  const char* name;
  FlagKind kind;
  std::uint32_t default_value;
  std::uint32_t min, max;
  const char* accepted;  // kChoice: '|'-separated tokens; kMask: the range
  bool swept;
  const char* doc;
  bool build_switch;
  // Text of a value as a user would write it ("1", "0x7F", "quiet").
  std::string value_text(std::uint32_t v) const;
};

enum class EnvFlag : std::uint8_t {
#define HAKMEM_ENV_FLAG(field, NAME, kind, def, lo, hi, acc, swept, doc) field,
#include "hakmem/env_flags.def"
#undef HAKMEM_ENV_FLAG
};
// Env flags first, then build switches, in .def order.
const std::vector<FlagSpec>& flag_table();
// The flag a row of the table describes.
inline EnvFlag env_flag_of(const FlagSpec& spec) { return static_cast<EnvFlag>(&spec - flag_table().data()); }
const FlagSpec& env_flag_spec(EnvFlag f);

enum class InvalidFreePolicy : std::uint8_t { report = 0, abort = 1, quiet = 2 };

// Runtime configuration: one field per HAKMEM_ENV_FLAG, defaults from the table.
struct Config {
#define HAKMEM_ENV_FLAG(field, NAME, kind, def, lo, hi, acc, swept, doc) std::uint32_t field = def;
#include "hakmem/env_flags.def"
#undef HAKMEM_ENV_FLAG
  std::uint32_t get(EnvFlag f) const;
  void set(EnvFlag f, std::uint32_t v);
  // Bit c set: class c allocates through v2 (0 when v2 is disabled).
  std::uint8_t v2_route_mask() const { return v2_enabled ? static_cast<std::uint8_t>(v2_classes) : 0; }
  InvalidFreePolicy invalid_free_policy() const { return static_cast<InvalidFreePolicy>(invalid_free); }
  // Every env flag as NAME=value text the parser accepts (for map_env, a child's environment).
  std::vector<std::pair<std::string, std::string>> env_vars() const;
  std::string describe() const;  // "HAKMEM_POOL_V2_ENABLED=1 HAKMEM_POOL_V2_CLASSES=0x7F ..."
  bool operator==(const Config&) const = default;
};

// A malformed flag value: names the variable, the value and what is accepted.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string variable, std::string value, std::string accepted, std::string why);
  const std::string variable, value, accepted;
};

// Where flags come from. The default reads the process environment (getenv);
// harnesses pass a map so concurrent pools never call setenv.
using EnvSource = std::function<std::optional<std::string>(std::string_view name)>;
EnvSource process_env();
EnvSource map_env(std::vector<std::pair<std::string, std::string>> vars);
// `config`'s flags as the environment spells them (Config::env_vars), each
// formatted when the pool asks: no copy of every name per pool.
EnvSource config_env(const Config& config);

// Strict parse of one value; throws ConfigError. Unset flags keep defaults,
// a set-but-malformed one (including empty) is always an error.
std::uint32_t parse_flag_value(const FlagSpec& spec, std::string_view text);
Config parse_config(const EnvSource& env);

// ---------------------------------------------------------------- plants
// Bugs the tester's flavour can plant (PoolOptions::plant), so that a
// checker can prove it finds each one.
enum class Plant : std::uint8_t {
  none,
#define HAKMEM_PLANT(id, doc) id,
#include "hakmem/plants.def"
#undef HAKMEM_PLANT
};
inline constexpr int kNumPlants = 1
#define HAKMEM_PLANT(id, doc) +1
#include "hakmem/plants.def"
#undef HAKMEM_PLANT
    ;
const char* plant_doc(Plant p);

// ---------------------------------------------------------------- OS faults
// Fault injection for the OS layer: page acquisitions (a slab commit or a
// large mapping) fail on the Nth call, from the Nth call on for `fail_count`
// calls, and/or with probability fail_ppm/1e6 from a seeded generator.
struct FaultPlan {
  std::uint64_t fail_nth = 0;    // 1-based acquisition index; 0 = off
  std::uint64_t fail_count = 1;  // how many consecutive failures from fail_nth
  std::uint32_t fail_ppm = 0;    // random failures per million acquisitions
  std::uint64_t seed = 0;
};

// ---------------------------------------------------------------- results
enum class FreeRoute : std::uint8_t { null, v2_local, v2_remote, v1, large, rejected };
const char* free_route_name(FreeRoute r);

struct FreeOutcome {
  FreeRoute route = FreeRoute::null;
  // What the v2 free path's page_of said; `ok` when v2 was not entered.
  Verdict page_of = Verdict::ok;
  bool entered_v2 = false;       // the v2 free path ran (and counted) for this free
  Verdict reason = Verdict::ok;  // why a rejected free was rejected
  int cls = -1;                  // size class of the page, -1 if none
  bool operator==(const FreeOutcome&) const = default;
};

// A FreeOutcome as one 64-bit word, the struct's bytes in order:
//   bits 0-7 route | 8-15 page_of | 16-23 entered_v2 | 24-31 reason | 32-63 cls (int32)
// The allocator's free path carries outcomes in this form (one register, see
// allocator/src/pool_impl.h) and harnesses keep them in one atomic word.
static_assert(std::endian::native == std::endian::little, "the layout above is the little-endian one");
static_assert(sizeof(FreeOutcome) == 8 && offsetof(FreeOutcome, route) == 0 &&
              offsetof(FreeOutcome, page_of) == 1 && offsetof(FreeOutcome, entered_v2) == 2 &&
              offsetof(FreeOutcome, reason) == 3 && offsetof(FreeOutcome, cls) == 4);
constexpr std::uint64_t pack(FreeOutcome o) { return std::bit_cast<std::uint64_t>(o); }
constexpr FreeOutcome unpack(std::uint64_t word) { return std::bit_cast<FreeOutcome>(word); }
static_assert(pack({FreeRoute::v2_remote, Verdict::header_missing, true, Verdict::misaligned, -1}) ==
              0xFFFF'FFFF'0301'0102ull);
static_assert(unpack(pack({FreeRoute::rejected, Verdict::ok, false, Verdict::double_free, 6})) ==
              FreeOutcome{FreeRoute::rejected, Verdict::ok, false, Verdict::double_free, 6});

enum class BlockKind : std::uint8_t { none, v1, v2, large };

// What the pool knows about an address (introspection for the tester).
struct BlockInfo {
  BlockKind kind = BlockKind::none;
  int cls = -1;
  bool live = false;                          // an allocated block starts exactly here
  std::size_t usable = 0;                     // usable bytes when live
  std::optional<std::uint64_t> arena_offset;  // offset from the arena base
};

enum class InvariantFault : std::uint8_t {
  none,
#define HAKMEM_INVARIANT_FAULT(name, text) name,
#include "hakmem/invariant_faults.def"
#undef HAKMEM_INVARIANT_FAULT
};
inline constexpr int kNumInvariantFaults = 1
#define HAKMEM_INVARIANT_FAULT(name, text) +1
#include "hakmem/invariant_faults.def"
#undef HAKMEM_INVARIANT_FAULT
    ;

// Result of the invariant walk plus the totals it counted.
struct InvariantReport {
  bool ok = true;
  InvariantFault fault = InvariantFault::none;    // the first inconsistency found
  std::string first_error;                        // where, and what
  std::uint64_t live_blocks = 0, live_bytes = 0;  // pool + large, usable bytes
  std::uint64_t remote_pending = 0;               // blocks pushed remotely, not yet drained
  std::uint64_t v1_pages = 0, v2_pages = 0, orphan_pages = 0, cold_pages = 0;
  std::uint64_t large_blocks = 0;
};

// ---------------------------------------------------------------- census
// What the pool holds, slab by slab (Pool::census): for "nothing kept"
// checks, which need more than the invariant walk's consistency.
enum class SlabQueue : std::uint8_t { none, current, partial, full, orphan, cold, v1_partial, v1_full };
// A v2 slab's owner: none (orphaned, cold), a live thread, or a thread
// context whose thread has exited (its pages were never given up).
enum class SlabOwner : std::uint8_t { none, live_thread, exited_thread };
inline constexpr std::uint32_t kNoOwnerSlot = UINT32_MAX;

struct SlabCensus {
  std::uint32_t slab = 0;            // index in the arena
  BlockKind kind = BlockKind::none;  // v1 or v2
  int cls = -1;
  SlabQueue queue = SlabQueue::none;
  SlabOwner owner = SlabOwner::none;
  std::uint32_t owner_slot = kNoOwnerSlot;  // the owning context's thread slot, while it is bound
  bool owner_hinted = false;                // the owner's remote-free hint for this class is set
  std::uint32_t capacity = 0;
  std::uint32_t used = 0;            // not on the free stack: live, in the owner's cache or remote-freed
  std::uint32_t free_stack = 0;      // on the page's free stack
  std::uint32_t cached = 0;          // in its owner's free cache
  std::uint32_t remote_pending = 0;  // remote-freed, not yet drained
  bool operator==(const SlabCensus&) const = default;
};

struct Census {
  std::vector<SlabCensus> slabs;  // one per committed slab, by index
  std::uint64_t cached_blocks = 0, remote_pending = 0;
  std::uint64_t large_blocks = 0, large_bytes = 0;                // live large blocks, mapped bytes
  std::array<std::uint32_t, kNumClasses> v1_slabs{}, v2_slabs{};  // committed, per class
};

struct OsCounters {
  std::uint64_t acquisitions = 0;  // slab commits + large maps attempted
  std::uint64_t injected_failures = 0;
  std::uint64_t maps = 0, unmaps = 0;  // successful OS mappings and releases
};

// Mappings made and released by every pool of the process so far (equal once
// all pools are destroyed, else one leaked address space).
OsCounters process_os_counters();

class ArenaCache;  // hakmem/arena_cache.h

struct PoolOptions {
  EnvSource env = process_env();
  std::size_t arena_bytes = std::size_t{4} << 30;  // reserved, committed per slab
  // Where the arena comes from and goes back to at teardown, made to read as
  // a fresh reservation to the next pool (hakmem/arena_cache.h); must outlive
  // the pool. Null: reserved for this pool and unmapped at its teardown.
  ArenaCache* arena_cache = nullptr;
  FaultPlan faults{};
  // Diagnostics and the teardown stats table; null: none are made (for
  // harnesses that judge the pool by its results: formatting the table
  // costs a fuzz input more than its ops).
  std::FILE* report = stderr;
  // How many recently freed large-block starts the pool remembers, so that a
  // double free of one is named as one (older ones are forgotten: a free of
  // one is then not_ours). At least 1.
  std::size_t large_tombstones = 4096;
  // A bug to plant (hakmem/plants.def): honoured by the tester's flavour
  // only; the production flavours hold no code for plants and ignore it.
  Plant plant = Plant::none;
};

}  // namespace hakmem
