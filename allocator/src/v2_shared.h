// The v2 pages no thread owns, per class: orphans (a thread exited while the
// page still had live blocks) and cold pages (every block free). A refilling
// thread adopts an orphan with a free block first, else takes a cold page.
//
// Invariants: a page on these queues has owner == nullptr; a cold page has
// used == 0, so no remote free can be pending on it; an orphan may collect
// remote frees (its bitmap) until someone adopts and drains it.
//
// Outline: take (adopt: owner = ctx, drain; else a cold page) - adopt_all -
// release_to_cold (the owner's page emptied) - orphan (its owner exited) -
// visit_queues (invariant walk).
#pragma once

#include <mutex>

#include "flavour.h"
#include "page.h"
#include "sched_point.h"
#include "thread_ctx.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

class V2SharedQueues {
 public:
#if HAKMEM_POOL_SCHED_POINTS
  V2SharedQueues() {
    for (int c = 0; c < kNumClasses; ++c) classes_[c].mutex.arg = c;
  }
  Plant plant = Plant::none;  // the pool's, for take()
#endif
  // A page of class cls with a free block, now owned by ctx (not on any of
  // ctx's queues yet); nullptr when there is none. An adopted orphan whose
  // blocks are all still out goes onto ctx's full queue instead.
  PageDesc* take(ThreadCtx* ctx, int cls);
  // Every orphan of class cls adopted by ctx and drained, onto ctx's partial
  // queue (or full, when every block is still out): collect's way to reclaim
  // what exited threads left, as mimalloc's forced collect reclaims
  // abandoned segments.
  void adopt_all(ThreadCtx* ctx, int cls);
  bool has_orphans(int cls) const {
    const PerClass& c = classes_[cls];
    std::lock_guard lock(c.mutex);
    return c.orphans.head != nullptr;
  }
  // d (owned, every block free, on no queue) becomes cold.
  void release_to_cold(PageDesc* d);
  // d (on no queue, some block live) loses its owner.
  void orphan(PageDesc* d);

  // f(queue, list id) for class cls's queues, under its mutex.
  template <class F>
  void visit_queues(int cls, F&& f) const {
    const PerClass& c = classes_[cls];
    std::lock_guard lock(c.mutex);
    f(c.orphans, PageList::orphan);
    f(c.cold, PageList::cold);
  }

  // fork(): every class lock, taken in class order and released (Pool::prepare_fork).
  void lock_for_fork() {
    for (PerClass& c : classes_) c.mutex.lock();
  }
  void unlock_after_fork() {
    for (PerClass& c : classes_) c.mutex.unlock();
  }

 private:
  struct PerClass {
    mutable HAKMEM_POOL_MUTEX(shared_lock) mutex;
    PageQueue orphans, cold;
  };
  void disown(PageDesc* d, PageQueue PerClass::*queue, PageList id);
  void adopt(ThreadCtx* ctx, PageDesc* d);  // under the class mutex

  PerClass classes_[kNumClasses];
};

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
