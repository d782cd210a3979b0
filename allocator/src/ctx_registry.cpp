// Binding and unbinding thread contexts (ctx_registry.h).
#include "ctx_registry.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

ThreadCtx* CtxRegistry::acquire(std::uint32_t slot) {
  std::lock_guard lock(mutex_);
  ThreadCtx* ctx;
  if (!idle_.empty()) {
    ctx = idle_.back();
    idle_.pop_back();
  } else {
    all_.push_back(std::make_unique<ThreadCtx>());
    ctx = all_.back().get();
  }
  ctx->slot = slot;
  HAKMEM_STORE(context_slot, &by_slot_[slot], 0, by_slot_[slot], ctx, std::memory_order_relaxed);
  return ctx;
}

void CtxRegistry::release(std::uint32_t slot) {
  ThreadCtx* ctx = find(slot);
  HAKMEM_STORE(context_slot, &by_slot_[slot], 0, by_slot_[slot], nullptr, std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  ctx->slot = kNoThreadSlot;
  idle_.push_back(ctx);
}

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
