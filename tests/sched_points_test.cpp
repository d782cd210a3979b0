// The tester's schedule points as a controller sees them, with a controller
// that only records: a workload over every path fires every point of
// sched_points.def (but the planted bugs' own), each lock point's mutex is
// released by the thread that took it, and a production flavour, running
// the same workload under the same controller, fires none.
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "hakmem/sched.h"
#include "pool_test_util.h"

namespace hakmem {
namespace {

using sched::Point;

// Records every point; never switches threads.
class Recorder final : public sched::Controller {
 public:
  void at(Point p, const void* object, std::uint64_t) override {
    std::lock_guard lock(mutex_);
    ++at_[p];
    if (sched::point_info(p).kind == sched::PointKind::lock)
      held_[std::this_thread::get_id()].push_back(object);
  }
  void result(Point p, std::uint64_t) override {
    std::lock_guard lock(mutex_);
    ++results_[p];
  }
  void released(const void* mutex) override {
    std::lock_guard lock(mutex_);
    std::vector<const void*>& held = held_[std::this_thread::get_id()];
    auto it = std::find(held.rbegin(), held.rend(), mutex);
    if (it == held.rend())
      ++unbalanced_;
    else
      held.erase(std::next(it).base());
  }

  std::size_t total() const {
    std::size_t n = 0;
    for (const auto& [p, c] : at_) n += c;
    return n;
  }
  std::map<Point, std::size_t> at_, results_;
  std::map<std::thread::id, std::vector<const void*>> held_;
  std::size_t unbalanced_ = 0;

 private:
  std::mutex mutex_;
};

struct Installed {
  explicit Installed(sched::Controller& c) { sched::install(&c); }
  ~Installed() { sched::install(nullptr); }
};

// Class 6 through v1, the rest through v2: local and remote frees, a refill
// that drains a hinted page, thread exit with orphans adopted later, a page
// with remote frees leaving its owner's current slot, collect, a cold page
// taken again, large blocks, a config refresh.
template <class P>
void workload() {
  P pool(testing::options_with(testing::v2_env("0x3F")));
  constexpr std::size_t kSize = 4096;  // class 1: 63 blocks a page
  std::vector<void*> mine;
  for (int i = 0; i < 63 * 3; ++i) mine.push_back(pool.alloc(kSize));
  pool.free(mine.back());  // local: into the free cache
  mine.back() = pool.alloc(kSize);
  void* v1_block = pool.alloc(kClassSizes[6]);
  pool.free(pool.alloc(200000));
  std::vector<void*> theirs;
  std::thread([&] {
    for (std::size_t i = 0; i < 63; ++i) pool.free(mine[i]);  // remote: the first (full) page
    for (int i = 0; i < 70; ++i) theirs.push_back(pool.alloc(kSize));
  }).join();                                           // exits: its pages orphaned
  for (int i = 0; i < 63 * 3; ++i) pool.alloc(kSize);  // refills: hint, drain, adopt
  for (void* p : theirs) pool.free(p);                 // remote frees onto adopted pages
  for (int i = 0; i < 200; ++i) pool.alloc(kSize);
  pool.free(v1_block);
  // A current page with a remote free moves to the full list while a partial
  // page waits: class 0, page A full, page B current and exhausted; a local
  // free cache flush moves A to the partial list (the cache holds less than
  // a page).
  static_assert(kGeometry[0].cache_limit < kGeometry[0].capacity);
  constexpr int kCls = 0;
  const std::uint32_t capacity = kGeometry[kCls].capacity;
  std::vector<void*> two_pages;
  for (std::uint32_t i = 0; i < 2 * capacity; ++i) two_pages.push_back(pool.alloc(kClassSizes[kCls]));
  std::thread([&] { pool.free(two_pages[capacity]); }).join();
  for (std::uint32_t i = 0; i <= kGeometry[kCls].cache_limit; ++i) pool.free(two_pages[i]);
  for (std::uint32_t i = 0; i <= kGeometry[kCls].cache_limit; ++i) pool.alloc(kClassSizes[kCls]);
  pool.free(pool.alloc(kClassSizes[2]));
  pool.collect();  // class 2's only page, empty, goes cold
  std::thread([&] { pool.free(pool.alloc(kClassSizes[2])); }).join();  // and is taken again
  ASSERT_FALSE(pool.refresh_from_env().has_value());
  InvariantReport r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
}

TEST(SchedPoints, TheTestersFlavourFiresEveryPoint) {
  Recorder rec;
  {
    Installed installed(rec);
    workload<PoolTester>();
  }
  for (int i = 0; i < sched::kNumPoints; ++i) {
    const auto p = static_cast<Point>(i);
    if (sched::point_info(p).planted_only()) continue;
    EXPECT_GT(rec.at_[p], 0u) << sched::point_info(p).name << " never fired";
  }
  EXPECT_EQ(rec.unbalanced_, 0u) << "a mutex released by a thread that did not take it";
  for (const auto& [thread, held] : rec.held_) EXPECT_TRUE(held.empty()) << "a lock point's mutex still held";
  // Results are reported for the points that read something, never more often than the point fired.
  for (const auto& [p, n] : rec.results_) EXPECT_LE(n, rec.at_[p]) << sched::point_info(p).name;
  EXPECT_GT(rec.results_[Point::drain_exchange], 0u);
}

TEST(SchedPoints, ProductionFlavoursFireNone) {
  Recorder rec;
  {
    Installed installed(rec);
    workload<PoolStatsOff>();
    workload<PoolStatsOn>();
  }
  EXPECT_EQ(rec.total(), 0u);
}

TEST(SchedPoints, EveryPointHasAUniqueName) {
  std::set<std::string> names;
  for (int i = 0; i < sched::kNumPoints; ++i) {
    const sched::PointInfo& info = sched::point_info(static_cast<Point>(i));
    EXPECT_TRUE(names.insert(info.name).second) << info.name;
    EXPECT_NE(std::string(info.doc), "");
  }
}

}  // namespace
}  // namespace hakmem
