// The large path (large.h): one mapping per block, rounded up to OS pages.
#include "large.h"

#include <stdexcept>

namespace hakmem::HAKMEM_FLAVOUR_NS {

namespace {
constexpr std::size_t kOsPage = 4096;
}

LargeRegistry::LargeRegistry(detail::OsLayer& os, std::size_t max_tombstones)
    : os_(os), max_tombstones_(max_tombstones) {
  if (max_tombstones == 0) throw std::invalid_argument("hakmem: large_tombstones must be at least 1");
}

LargeRegistry::~LargeRegistry() {
  for (auto& [addr, bytes] : live_) os_.unmap_large(reinterpret_cast<void*>(addr), bytes);
}

void* LargeRegistry::alloc(std::size_t size) {
  std::size_t bytes = (size + kOsPage - 1) & ~(kOsPage - 1);
  HAKMEM_SCHED(os_acquire, &os_, 0);
  void* p = os_.map_large(bytes);
  if (!p) return nullptr;
  auto addr = reinterpret_cast<std::uintptr_t>(p);
  std::lock_guard lock(mutex_);
  live_.emplace(addr, bytes);
  // The OS reused freed ranges: starts inside this mapping are no longer
  // freed blocks. Each leaves the eviction order too, or evicting its stale
  // entry later would forget the start's next tombstone.
  for (auto it = tombstones_.lower_bound(addr); it != tombstones_.end() && it->first < addr + bytes;)
    forget(it++);
  return p;
}

void LargeRegistry::forget(std::map<std::uintptr_t, std::uint64_t>::iterator it) {
  tombstone_order_.erase(it->second);
  tombstones_.erase(it);
}

std::optional<FreeOutcome> LargeRegistry::free(void* ptr) {
  auto addr = reinterpret_cast<std::uintptr_t>(ptr);
  FreeOutcome out;
  std::size_t bytes;
  {
    std::lock_guard lock(mutex_);
    auto it = live_.find(addr);
    if (it == live_.end()) {
      if (!tombstones_.count(addr)) return std::nullopt;
      out.route = FreeRoute::rejected;
      out.reason = Verdict::double_free;
      return out;
    }
    bytes = it->second;
    live_.erase(it);
    const std::uint64_t n = frees_++;
    tombstones_.emplace(addr, n);
    tombstone_order_.emplace(n, addr);
    if (tombstones_.size() > max_tombstones_) forget(tombstones_.find(tombstone_order_.begin()->second));
  }
  os_.unmap_large(ptr, bytes);
  out.route = FreeRoute::large;
  return out;
}

std::size_t LargeRegistry::usable(const void* ptr) const {
  std::lock_guard lock(mutex_);
  auto it = live_.find(reinterpret_cast<std::uintptr_t>(ptr));
  return it == live_.end() ? 0 : it->second;
}

void LargeRegistry::count_live(InvariantReport& r) const {
  std::lock_guard lock(mutex_);
  r.large_blocks = live_.size();
  for (const auto& [addr, bytes] : live_) {
    r.live_blocks += 1;
    r.live_bytes += bytes;
  }
}

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
