// The arena: one reserved range carved into 256 KiB slabs, bump-allocated.
// A slab is committed (the OS page acquisition fault plans can fail), given a
// kind and class for life, and published through slabs_used.
#include "pool_impl.h"

namespace hakmem::HAKMEM_FLAVOR_NS {

PageDesc* Pool::Impl::acquire_slab(PageKind kind, int cls) {
  std::lock_guard lock(slab_mutex);
  std::uint32_t index = slabs_used.load(std::memory_order_relaxed);
  if (index >= arena_slabs) return nullptr;  // arena full: same path as an OS refusal
  std::uint8_t* base = arena + std::size_t{index} * kSlabSize;
  if (!os.commit(base, kSlabSize)) return nullptr;

  const ClassGeometry& g = kGeometry[cls];
  PageDesc* d = new (&descs[index]) PageDesc();
  d->cls = static_cast<std::uint8_t>(cls);
  d->capacity = static_cast<std::uint16_t>(g.capacity);
  d->index = index;
  // Reverse order so blocks are handed out front to back.
  for (std::uint32_t i = 0; i < g.capacity; ++i) d->push_free(g.capacity - 1 - i);
  d->kind.store(kind, std::memory_order_relaxed);

  auto* header = reinterpret_cast<SlabHeader*>(base);
  *header = SlabHeader{kSlabMagic, index, static_cast<std::uint8_t>(kind), static_cast<std::uint8_t>(cls)};
  detail::poison(base, kSlabSize);
  slabs_used.store(index + 1, std::memory_order_release);
  return d;
}

}  // namespace hakmem::HAKMEM_FLAVOR_NS
