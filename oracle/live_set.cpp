#include "oracle/live_set.h"

#include <algorithm>
#include <iterator>

namespace hakfuzz::model {

using hakmem::BlockKind;

std::optional<std::string> LiveSet::add(Block b) {
  const auto start = reinterpret_cast<std::uintptr_t>(b.ptr);
  auto next = extents_.lower_bound(start);
  if (next != extents_.end() && next->first < start + b.usable) return "new block overlaps a live block";
  if (next != extents_.begin() && std::prev(next)->second > start)
    return "new block overlaps the live block before it";
  extents_[start] = start + b.usable;
  if (b.kind == BlockKind::large) {
    // The OS may map a new large block over any freed one, and whether it
    // did depends on the process's whole mmap history (threads, earlier
    // inputs): a rule that looked at addresses made replays differ. So every
    // freed large block stops being a double-free candidate here, wherever
    // the new one landed.
    std::erase_if(freed_by_addr_,
                  [&](const auto& kv) { return freed_.at(kv.second).kind == BlockKind::large; });
    std::erase_if(freed_, [](const auto& kv) { return kv.second.kind == BlockKind::large; });
  } else {
    // Arena offsets are deterministic: freed blocks that started in the
    // range handed out again are gone.
    for (auto it = freed_by_addr_.lower_bound(start);
         it != freed_by_addr_.end() && it->first < start + b.usable; it = freed_by_addr_.erase(it))
      freed_.erase(it->second);
  }
  b.id = next_id_++;
  if (b.kind == BlockKind::v1 || b.kind == BlockKind::v2) {
    auto& n = count_[b.kind == BlockKind::v2][b.cls];
    peak_[b.kind == BlockKind::v2][b.cls] = std::max(peak_[b.kind == BlockKind::v2][b.cls], ++n);
  }
  live_.push_back(b);
  return std::nullopt;
}

Block LiveSet::take(std::size_t k) {
  Block b = at(k);
  if (k == 0)
    ++first_;
  else
    live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(first_ + k));
  if (first_ == live_.size()) {
    live_.clear();
    first_ = 0;
  }
  if (b.kind == BlockKind::v1 || b.kind == BlockKind::v2) --count_[b.kind == BlockKind::v2][b.cls];
  const auto start = reinterpret_cast<std::uintptr_t>(b.ptr);
  extents_.erase(start);
  freed_[b.id] = b;
  freed_by_addr_[start] = b.id;
  return b;
}

std::size_t LiveSet::index_of(std::uint64_t id) const {
  const auto live = blocks();
  return static_cast<std::size_t>(std::ranges::lower_bound(live, id, {}, &Block::id) - live.begin());
}

std::size_t LiveSet::index_at(const void* ptr) const {
  const auto live = blocks();
  return static_cast<std::size_t>(std::ranges::find(live, ptr, &Block::ptr) - live.begin());
}

std::uint64_t LiveSet::live_bytes() const {
  std::uint64_t bytes = 0;
  for (const Block& b : blocks()) bytes += b.usable;
  return bytes;
}

void LiveSet::orphan_blocks_of(int thread) {
  for (std::size_t k = 0; k < size(); ++k)
    if (at(k).owner == thread) at(k).orphaned = true;
}

}  // namespace hakfuzz::model
