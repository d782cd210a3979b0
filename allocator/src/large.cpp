// Requests above 52 KiB: one OS mapping each, recorded in a registry so free
// recognises them. Recently freed starts are kept as tombstones (up to
// kMaxTombstones) so a double free of a large block is named as one.
#include "pool_impl.h"

namespace hakmem::HAKMEM_FLAVOR_NS {

namespace {
constexpr std::size_t kOsPage = 4096;
}

void* Pool::Impl::large_alloc(std::size_t size) {
  std::size_t bytes = (size + kOsPage - 1) & ~(kOsPage - 1);
  void* p = os.map_large(bytes);
  if (!p) return nullptr;
  auto addr = reinterpret_cast<std::uintptr_t>(p);
  std::lock_guard lock(large.mutex);
  large.live.emplace(addr, bytes);
  // The OS reused freed ranges: starts inside this mapping are no longer freed blocks.
  large.tombstones.erase(large.tombstones.lower_bound(addr), large.tombstones.lower_bound(addr + bytes));
  return p;
}

std::optional<FreeOutcome> Pool::Impl::large_free(void* ptr) {
  auto addr = reinterpret_cast<std::uintptr_t>(ptr);
  FreeOutcome out;
  std::size_t bytes;
  {
    std::lock_guard lock(large.mutex);
    auto it = large.live.find(addr);
    if (it == large.live.end()) {
      if (!large.tombstones.count(addr)) return std::nullopt;
      out.route = FreeRoute::rejected;
      out.reason = Verdict::double_free;
      return out;
    }
    bytes = it->second;
    large.live.erase(it);
    large.tombstones.insert(addr);
    large.tombstone_order.push_back(addr);
    if (large.tombstone_order.size() > LargeRegistry::kMaxTombstones) {
      large.tombstones.erase(large.tombstone_order.front());
      large.tombstone_order.pop_front();
    }
  }
  os.unmap_large(ptr, bytes);
  out.route = FreeRoute::large;
  return out;
}

std::size_t Pool::Impl::large_usable(const void* ptr) const {
  std::lock_guard lock(large.mutex);
  auto it = large.live.find(reinterpret_cast<std::uintptr_t>(ptr));
  return it == large.live.end() ? 0 : it->second;
}

}  // namespace hakmem::HAKMEM_FLAVOR_NS
