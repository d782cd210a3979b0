// The blocks a run holds, in allocation order, and the freed ones a double
// free may aim at.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory_resource>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "oracle/model.h"
#include "support/scratch.h"

namespace hakfuzz::model {

// The blocks a run holds, in allocation order (a free op picks the k-th),
// and the freed ones a double free may aim at.
class LiveSet {
 public:
  // Records a fresh block; an error text if it overlaps a live one. A freed
  // block stops being a double-free candidate once its range may have been
  // handed out again: a pool block when a new block starts in its range, a
  // large block at the next large allocation (see live_set.cpp).
  std::optional<std::string> add(Block b);
  std::span<const Block> blocks() const { return std::span<const Block>(live_).subspan(first_); }
  bool empty() const { return size() == 0; }
  std::size_t size() const { return live_.size() - first_; }
  Block& at(std::size_t k) { return live_[first_ + k]; }
  // The live block with this id (it must be live): ids grow in allocation
  // order, which the live blocks keep.
  std::size_t index_of(std::uint64_t id) const;
  // The live block that starts at `ptr`, or size().
  std::size_t index_at(const void* ptr) const;
  // Removes live block k (about to be freed) and keeps it as freed.
  Block take(std::size_t k);
  std::uint64_t live_bytes() const;
  // The most blocks of one kind (v1 or v2) and class ever live at once: with
  // every commit justified (check_commit), one thread's pages of that kind
  // and class never exceed ceil(peak / capacity).
  std::uint64_t peak(BlockKind kind, int cls) const { return peak_[kind == BlockKind::v2][cls]; }
  // Freed and not handed out since, in id order: picking "the k-th freed
  // block" must not depend on where mmap placed large blocks.
  const std::pmr::map<std::uint64_t, Block>& freed() const { return freed_; }
  std::uint64_t next_id() const { return next_id_; }
  void orphan_blocks_of(int thread);

 private:
  // The maps take and give back a node or two per op: nodes come from the
  // set's own pool, not the system allocator (ASan's records a stack trace
  // per call, which cost more than the op under test). The pool's chunks
  // come from a buffer the thread's next set reuses: under ASan's
  // quarantine every new chunk was fresh memory, page faults included.
  support::ScratchBuffer scratch_;
  std::pmr::monotonic_buffer_resource chunks_{scratch_.data(), scratch_.size()};
  std::pmr::unsynchronized_pool_resource nodes_{&chunks_};
  // Live blocks in allocation order from first_: a free moves the blocks
  // after it down (one memmove, where a deque would move them one by one,
  // a cost ASan multiplies), and the runner's last drain, which frees the
  // first block until none is left, only moves first_.
  std::pmr::vector<Block> live_{&nodes_};
  std::size_t first_ = 0;
  std::pmr::map<std::uintptr_t, std::uintptr_t> extents_{&nodes_};  // live [start, end)
  std::pmr::map<std::uint64_t, Block> freed_{&nodes_};
  std::pmr::map<std::uintptr_t, std::uint64_t> freed_by_addr_{&nodes_};
  std::uint64_t next_id_ = 1;
  std::array<PerClass, 2> count_{}, peak_{};  // [v2?][class]
};

}  // namespace hakfuzz::model
