// The arena's slow operations: reserving it, tearing it down, and acquiring
// a slab. A slab is committed (the OS page acquisition fault plans can fail),
// given a kind and class for life, and published through slabs_used.
#include "arena.h"

#include <new>
#include <stdexcept>

namespace hakmem::HAKMEM_FLAVOUR_NS {

Arena::Arena(detail::OsLayer& os, std::size_t bytes, ArenaCache* cache)
    : slab_count_(bytes / kSlabSize), os_(os), cache_(cache) {
  if (slab_count_ == 0) throw std::invalid_argument("hakmem: arena_bytes is smaller than one 256 KiB slab");
  if (slab_count_ > kMaxArenaSlabs) throw std::invalid_argument("hakmem: arena_bytes is above 4 TiB");
  descs_bytes_ = slab_count_ * sizeof(PageDesc);
  const ArenaCache::Arena cached =
      cache ? cache->take(slab_count_ * kSlabSize, descs_bytes_) : ArenaCache::Arena{};
  if (cached.slabs) {
    descs_ = static_cast<PageDesc*>(cached.table);
    begin_ = reinterpret_cast<std::uintptr_t>(cached.slabs);
    span_ = slab_count_ * kSlabSize;
    accessible_bytes_ = cached.accessible_bytes;
    return;
  }
  auto* base = static_cast<std::uint8_t*>(os.reserve(slab_count_ * kSlabSize, kSlabSize));
  // Read/write descriptor table; only entries of committed slabs are touched.
  void* d = os.map_metadata(descs_bytes_);
  if (!base || !d) {
    os.release(base, slab_count_ * kSlabSize);
    os.release(d, descs_bytes_);
    throw std::bad_alloc();
  }
  descs_ = static_cast<PageDesc*>(d);
  begin_ = reinterpret_cast<std::uintptr_t>(base);
  span_ = slab_count_ * kSlabSize;
}

Arena::~Arena() {
  const std::uint32_t n = slabs_used_.load();
  for (std::uint32_t i = 0; i < n; ++i) descs_[i].~PageDesc();
  if (cache_) {
    // Until a later pool commits it, a slab reads as never committed: no
    // header, and poisoned whole. One slab at a time: ASan gives the shadow
    // of a large range back to the OS (the next pool's poisoning would fault
    // it in again) but writes a slab's 32 KiB in place.
    for (std::uint32_t i = 0; i < n; ++i) {
      detail::unpoison(slab_base(i), sizeof(SlabHeader));
      *reinterpret_cast<SlabHeader*>(slab_base(i)) = SlabHeader{};
      detail::poison(slab_base(i), kSlabSize);
    }
    cache_->give({slab_base(0), span_, descs_, descs_bytes_, accessible_bytes_}, std::size_t{n} * kSlabSize,
                 std::size_t{n} * sizeof(PageDesc));
    return;
  }
  // The range may be mapped again by anyone: clear our poison. Only committed
  // slabs were ever poisoned, and the whole reservation would cost a 1/8-size
  // shadow write per pool (32 MiB for 256 MiB).
  detail::unpoison(slab_base(0), std::size_t{n} * kSlabSize);
  os_.release(descs_, descs_bytes_);
  os_.release(slab_base(0), slab_count_ * kSlabSize);
}

PageDesc* Arena::acquire_slab(PageKind kind, int cls) {
  std::lock_guard lock(mutex_);
  std::uint32_t index = slabs_used_.load(std::memory_order_relaxed);
  if (index >= slab_count_) return nullptr;  // arena full: same path as an OS refusal
  std::uint8_t* base = slab_base(index);
  HAKMEM_SCHED(os_acquire, &os_, 0);
  if (!os_.commit(base, kSlabSize, std::size_t{index + 1} * kSlabSize <= accessible_bytes_)) return nullptr;

  const ClassGeometry& g = kGeometry[cls];
  PageDesc* d = new (&descs_[index]) PageDesc();
  d->cls = static_cast<std::uint8_t>(cls);
  d->capacity = static_cast<std::uint16_t>(g.capacity);
  d->index = index;
  // Reverse order so blocks are handed out front to back.
  for (std::uint32_t i = 0; i < g.capacity; ++i) d->push_free(g.capacity - 1 - i);
  d->kind.store(kind, std::memory_order_relaxed);

  auto* header = reinterpret_cast<SlabHeader*>(base);
  detail::unpoison(header, sizeof(SlabHeader));  // a cached arena's slab comes poisoned
  *header = SlabHeader{kSlabMagic, index, static_cast<std::uint8_t>(kind), static_cast<std::uint8_t>(cls)};
  detail::poison(base, kSlabSize);
  slabs_used_.store(index + 1, std::memory_order_release);
  return d;
}

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
