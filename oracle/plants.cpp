#include "oracle/plants.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include <unistd.h>

namespace hakfuzz {

namespace {

using hakmem::FreeOutcome;
using hakmem::FreeRoute;
using hakmem::Verdict;

class PageOfInterior final : public PoolWrapper {
 public:
  using PoolWrapper::PoolWrapper;
  FreeOutcome free(void* ptr) override {
    FreeOutcome out = inner().free(ptr);
    if (out.route == FreeRoute::rejected && out.reason == Verdict::misaligned) {
      out.route = FreeRoute::v2_local;
      out.reason = Verdict::ok;
      out.page_of = Verdict::ok;
    }
    return out;
  }
};

class DriftingCounter final : public PoolWrapper {
 public:
  using PoolWrapper::PoolWrapper;
  hakmem::StatsSnapshot stats() const override {
    hakmem::StatsSnapshot s = inner().stats();
    for (auto& row : s.rows) row[static_cast<int>(hakmem::V2Stat::free_fast)] += row[0] / 7;
    return s;
  }
};

class LiveBlockTwice final : public PoolWrapper {
 public:
  using PoolWrapper::PoolWrapper;
  void* alloc(std::size_t size) override {
    void* p = inner().alloc(size);
    const int cls = hakmem::size_class_of(size);
    if (!p || cls < 0) return p;
    void* previous = last_[cls].exchange(p, std::memory_order_relaxed);
    if (count_[cls].fetch_add(1, std::memory_order_relaxed) % 50 != 49 || !previous ||
        !inner().block_info(previous).live)
      return p;
    inner().free(p);
    last_[cls].store(previous, std::memory_order_relaxed);
    return previous;
  }

 private:
  std::array<std::atomic<void*>, hakmem::kNumClasses> last_{};
  std::array<std::atomic<std::uint64_t>, hakmem::kNumClasses> count_{};
};

// Telemetry that steers: an allocation of a class whose alloc_calls
// counter is odd takes a spare block first and frees it after, so the next
// block goes out, as a branch inside the allocator that picked another free
// block would: the spare's own counts are hidden from the counters. Legal
// for any allocator, so the model and the counter check stay quiet; only a
// build without the counters (they read 0) behaves otherwise.
class CounterSteers final : public PoolWrapper {
 public:
  using PoolWrapper::PoolWrapper;
  void* alloc(std::size_t size) override {
    const int cls = hakmem::size_class_of(size);
    if (cls < 0 || stats().get(cls, hakmem::V2Stat::alloc_calls) % 2 == 0) return inner().alloc(size);
    hakmem::StatsSnapshot before = inner().stats();
    void* spare = inner().alloc(size);
    hide(before);
    void* p = inner().alloc(size);
    before = inner().stats();
    if (spare) inner().free(spare);
    hide(before);
    return p;
  }
  hakmem::StatsSnapshot stats() const override {
    hakmem::StatsSnapshot s = inner().stats();
    for (std::size_t r = 0; r < s.rows.size(); ++r)
      for (std::size_t i = 0; i < s.rows[r].size(); ++i) s.rows[r][i] -= hidden_.rows[r][i];
    return s;
  }

 private:
  // What the pool counted since `before` leaves the counters.
  void hide(const hakmem::StatsSnapshot& before) {
    const hakmem::StatsSnapshot after = inner().stats();
    for (std::size_t r = 0; r < after.rows.size(); ++r)
      for (std::size_t i = 0; i < after.rows[r].size(); ++i)
        hidden_.rows[r][i] += after.rows[r][i] - before.rows[r][i];
  }
  hakmem::StatsSnapshot hidden_;  // one thread at a time: stats_diff's runs hand a baton
};

// Introspection that rounds an interior pointer down to its block's start,
// as an allocator's usable-size lookup that masks offsets might: the page_of
// target's probes ask it about addresses that are no block start.
class BlockInfoRoundsDown final : public PoolWrapper {
 public:
  using PoolWrapper::PoolWrapper;
  hakmem::BlockInfo block_info(const void* ptr) const override {
    const hakmem::BlockInfo info = inner().block_info(ptr);
    const auto a = reinterpret_cast<std::uintptr_t>(ptr);
    const std::uintptr_t first = (a & ~(std::uintptr_t{hakmem::kSlabSize} - 1)) + hakmem::kSlabHeaderBytes;
    if (info.live || info.cls < 0 || a < first) return info;
    const std::size_t size = hakmem::kGeometry[info.cls].block_size;
    return inner().block_info(reinterpret_cast<void*>(first + (a - first) / size * size));
  }
};

// A request size kept in 20 bits, as a rounding that overflows would: 2^63
// bytes become 0, and a minimal block is handed out where null is due.
class HugeRequestTruncated final : public PoolWrapper {
 public:
  using PoolWrapper::PoolWrapper;
  void* alloc(std::size_t size) override { return inner().alloc(size & 0xFFFFF); }
};

// A fork handler that forgets the child: the parent's locks are released,
// the child's copies stay held, so the child's next call on the pool hangs.
class ForkChildKeepsLocks final : public PoolWrapper {
 public:
  using PoolWrapper::PoolWrapper;
  void prepare_fork() override {
    parent_ = getpid();
    inner().prepare_fork();
  }
  void after_fork() override {
    if (getpid() == parent_) inner().after_fork();
  }

 private:
  pid_t parent_ = 0;
};

template <class W>
std::unique_ptr<PoolUnderTest> wrap(std::unique_ptr<PoolUnderTest> inner) {
  return std::make_unique<W>(std::move(inner));
}

// Every plant of the allocator has its row (and so a way to be proven found).
constexpr int kInsideRows = 1
#define HAKFUZZ_PLANT(name, Wrapper, reaches, doc)
#define HAKFUZZ_INSIDE_PLANT(id, reaches) +1
#include "oracle/plants.def"
#undef HAKFUZZ_INSIDE_PLANT
#undef HAKFUZZ_PLANT
    ;
static_assert(kInsideRows == hakmem::kNumPlants,
              "a plant of hakmem/plants.def has no row in oracle/plants.def");

}  // namespace

bool PlantSpec::reaches_checker(std::string_view checker) const {
  const std::string_view list = reaches;
  if (list == "*") return true;
  for (std::size_t start = 0; start <= list.size();) {
    std::size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    if (list.substr(start, comma - start) == checker) return true;
    start = comma + 1;
  }
  return false;
}

const std::vector<PlantSpec>& plant_table() {
  static const std::vector<PlantSpec> table = {
#define HAKFUZZ_PLANT(name, Wrapper, reaches, doc) {#name, reaches, doc, wrap<Wrapper>},
#define HAKFUZZ_INSIDE_PLANT(id, reaches) \
  {#id, reaches, hakmem::plant_doc(hakmem::Plant::id), nullptr, hakmem::Plant::id},
#include "oracle/plants.def"
#undef HAKFUZZ_INSIDE_PLANT
#undef HAKFUZZ_PLANT
  };
  return table;
}

const PlantSpec* find_plant(std::string_view name) {
  for (const PlantSpec& p : plant_table())
    if (name == p.name) return &p;
  return nullptr;
}

std::string plant_help() {
  std::string out = "(testing) run over a deliberately broken pool:";
  for (const PlantSpec& p : plant_table()) out += std::string(" ") + p.name + " (" + p.doc + ");";
  return out;
}

std::string plants_markdown() {
  std::string out = "| plant | where | reached by | what it breaks |\n|---|---|---|---|\n";
  for (const PlantSpec& p : plant_table()) {
    std::string reaches;
    if (std::string_view(p.reaches) == "*")
      reaches = "every checker";
    else
      for (std::string_view list = p.reaches; !list.empty();) {
        const std::size_t comma = std::min(list.find(','), list.size());
        reaches += (reaches.empty() ? "`" : ", `") + std::string(list.substr(0, comma)) + "`";
        list.remove_prefix(std::min(comma + 1, list.size()));
      }
    out += std::string("| `") + p.name + "` | " +
           (p.wrap ? "a wrapper around the pool" : "inside the allocator") + " | " + reaches + " | " + p.doc +
           " |\n";
  }
  return out;
}

const PlantSpec* active_plant() {
  const char* v = std::getenv(kPlantEnv);
  if (!v || !*v) return nullptr;
  const PlantSpec* p = find_plant(v);
  if (!p) throw std::invalid_argument(std::string(kPlantEnv) + "='" + v + "' names no planted bug");
  return p;
}

void activate_plant(const std::string& name, std::string_view checker) {
  const PlantSpec* p = find_plant(name);
  if (!p) {
    std::string names;
    for (const PlantSpec& q : plant_table()) names += (names.empty() ? "" : ", ") + std::string(q.name);
    throw std::invalid_argument("--plant " + name + ": no such planted bug (" + names + ")");
  }
  if (!p->reaches_checker(checker))
    throw std::invalid_argument("--plant " + name + ": " + std::string(checker) +
                                " cannot reach this bug (it is seen by: " + p->reaches + ")");
  setenv(kPlantEnv, name.c_str(), 1);
}

}  // namespace hakfuzz
