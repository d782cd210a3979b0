// The large path (large.h): one mapping per block, rounded up to OS pages.
#include "large.h"

namespace hakmem::HAKMEM_FLAVOR_NS {

namespace {
constexpr std::size_t kOsPage = 4096;
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
  // The OS reused freed ranges: starts inside this mapping are no longer freed blocks.
  tombstones_.erase(tombstones_.lower_bound(addr), tombstones_.lower_bound(addr + bytes));
  return p;
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
    tombstones_.insert(addr);
    tombstone_order_.push_back(addr);
    if (tombstone_order_.size() > kMaxTombstones) {
      tombstones_.erase(tombstone_order_.front());
      tombstone_order_.pop_front();
    }
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

}  // namespace hakmem::HAKMEM_FLAVOR_NS
