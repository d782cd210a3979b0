// The OS layer on POSIX: reservations and metadata through mmap, slab
// commits through mprotect, large blocks as their own mappings. A fault plan
// decides each page acquisition in order; its random failures draw from
// support::SplitMix64 seeded by the plan, so a seed replays the same faults.
#include <sys/mman.h>

#include <algorithm>
#include <cstring>

#include "hakmem/arena_cache.h"
#include "hakmem/geometry.h"
#include "os.h"
#include "sanitizers.h"

namespace hakmem::detail {

std::atomic<std::uint64_t> g_maps{0}, g_unmaps{0};

void OsLayer::set_plan(const FaultPlan& plan) {
  std::lock_guard lock(mutex_);
  plan_ = plan;
  rng_ = support::SplitMix64(plan.seed);
  // fail_nth counts from the moment the plan is set.
  counters_.acquisitions = 0;
}

bool OsLayer::acquisition_allowed() {
  std::lock_guard lock(mutex_);
  std::uint64_t n = ++counters_.acquisitions;
  bool fail = plan_.fail_nth != 0 && n >= plan_.fail_nth && n - plan_.fail_nth < plan_.fail_count;
  if (plan_.fail_ppm != 0 && rng_.next() % 1000000 < plan_.fail_ppm) fail = true;
  if (fail) ++counters_.injected_failures;
  return !fail;
}

void* OsLayer::reserve(std::size_t bytes, std::size_t alignment) {
  // One alignment more than needed on each side, and the first aligned
  // address strictly above the base: head and tail are never empty, so
  // where the OS put the mapping never changes the path taken (the corpus
  // covers the same lines on every run).
  const std::size_t span = bytes + 2 * alignment;
  void* raw = mmap(nullptr, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto base = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (base | (std::uintptr_t(alignment) - 1)) + 1;
  // Trim the head and tail so release() unmaps exactly [p, p+bytes).
  munmap(raw, aligned - base);
  const std::uintptr_t end = aligned + bytes;
  munmap(reinterpret_cast<void*>(end), base + span - end);
  g_maps.fetch_add(1);
  std::lock_guard lock(mutex_);
  ++counters_.maps;
  return reinterpret_cast<void*>(aligned);
}

void OsLayer::release(void* p, std::size_t bytes) {
  if (!p) return;
  munmap(p, bytes);
  g_unmaps.fetch_add(1);
  std::lock_guard lock(mutex_);
  ++counters_.unmaps;
}

void* OsLayer::map_metadata(std::size_t bytes) { return map_fresh(bytes); }

void* OsLayer::map_fresh(std::size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  g_maps.fetch_add(1);
  std::lock_guard lock(mutex_);
  ++counters_.maps;
  return p;
}

bool OsLayer::commit(void* p, std::size_t bytes, bool already_accessible) {
  if (!acquisition_allowed()) return false;
  return already_accessible || mprotect(p, bytes, PROT_READ | PROT_WRITE) == 0;
}

void* OsLayer::map_large(std::size_t bytes) {
  if (!acquisition_allowed()) return nullptr;
  if (cache_)
    if (void* kept = cache_->take_large(bytes)) return kept;
  return map_fresh(bytes);
}

void OsLayer::unmap_large(void* p, std::size_t bytes) {
  if (cache_) return cache_->give_large(p, bytes);
  release(p, bytes);
}

OsCounters OsLayer::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

}  // namespace hakmem::detail

namespace hakmem {

ArenaCache::ArenaCache(std::size_t max_arenas, std::size_t resident_bytes, std::size_t large_bytes)
    : max_arenas_(max_arenas), resident_bytes_(resident_bytes), large_budget_(large_bytes) {}

namespace {
// ASan writes the shadow of a short range in place, but gives a long one's
// shadow pages back to the OS (a TLB flush here) and faults them in again
// at the next poisoning: so slab-sized steps.
template <class F>
void in_slab_steps(void* p, std::size_t bytes, F f) {
  for (std::size_t at = 0; at < bytes; at += kSlabSize)
    f(static_cast<char*>(p) + at, std::min<std::size_t>(kSlabSize, bytes - at));
}
void poison_range(void* p, std::size_t bytes) { in_slab_steps(p, bytes, detail::poison); }
void unpoison_range(void* p, std::size_t bytes) { in_slab_steps(p, bytes, detail::unpoison); }

// The range may be mapped again by anyone: clear the poison pools left.
void unmap_arena(const ArenaCache::Arena& a) {
  detail::unpoison(a.slabs, a.accessible_bytes);
  munmap(a.slabs, a.slab_bytes);
  munmap(a.table, a.table_bytes);
  detail::g_unmaps.fetch_add(2);
}
void unmap_large(void* p, std::size_t bytes) {
  unpoison_range(p, bytes);
  munmap(p, bytes);
  detail::g_unmaps.fetch_add(1);
}
}  // namespace

ArenaCache::~ArenaCache() {
  for (const Arena& a : arenas_) unmap_arena(a);
  for (const Mapping& m : large_) unmap_large(m.p, m.bytes);
}

void* ArenaCache::take_large(std::size_t bytes) {
  void* p = nullptr;
  {
    std::lock_guard lock(mutex_);
    for (auto it = large_.rbegin(); it != large_.rend(); ++it) {
      if (it->bytes != bytes) continue;
      p = it->p;
      large_total_ -= bytes;
      large_.erase(std::next(it).base());
      break;
    }
  }
  if (p) unpoison_range(p, bytes);
  return p;
}

void ArenaCache::give_large(void* p, std::size_t bytes) {
  if (bytes > large_budget_) return unmap_large(p, bytes);
  poison_range(p, bytes);
  std::vector<Mapping> evicted;
  {
    std::lock_guard lock(mutex_);
    large_.push_back({p, bytes});
    large_total_ += bytes;
    std::size_t n = 0;
    while (large_total_ > large_budget_) large_total_ -= large_[n++].bytes;
    evicted.assign(large_.begin(), large_.begin() + n);
    large_.erase(large_.begin(), large_.begin() + n);
  }
  for (const Mapping& m : evicted) unmap_large(m.p, m.bytes);
}

std::size_t ArenaCache::large_held() const {
  std::lock_guard lock(mutex_);
  return large_.size();
}

ArenaCache::Arena ArenaCache::take(std::size_t slab_bytes, std::size_t table_bytes) {
  std::lock_guard lock(mutex_);
  for (auto it = arenas_.begin(); it != arenas_.end(); ++it) {
    if (it->slab_bytes != slab_bytes || it->table_bytes != table_bytes) continue;
    const Arena a = *it;
    arenas_.erase(it);
    return a;
  }
  return {};
}

void ArenaCache::give(const Arena& given, std::size_t committed_bytes, std::size_t table_used) {
  Arena a = given;
  a.accessible_bytes = std::max(a.accessible_bytes, committed_bytes);
  // Past the resident budget the pages go back to the OS (they stay mapped
  // read/write and read as zeros), so a cached arena's RSS stays bounded.
  if (committed_bytes > resident_bytes_)
    madvise(static_cast<char*>(a.slabs) + resident_bytes_, committed_bytes - resident_bytes_, MADV_DONTNEED);
  std::memset(a.table, 0, table_used);
  {
    std::lock_guard lock(mutex_);
    if (arenas_.size() < max_arenas_) {
      arenas_.push_back(a);
      return;
    }
  }
  unmap_arena(a);
}

std::size_t ArenaCache::held() const {
  std::lock_guard lock(mutex_);
  return arenas_.size();
}

OsCounters process_os_counters() {
  OsCounters c;
  c.maps = detail::g_maps.load();
  c.unmaps = detail::g_unmaps.load();
  return c;
}
}  // namespace hakmem
