// Faults planted for the invariant walk, in the tester's flavour only: each
// breaks the pool's bookkeeping at one place so that exactly its fault holds
// there and nothing the walk looks at first is wrong, walks, and puts every
// byte back. The `walk` target plants each at every check of its programs,
// so the walk's every report is shown to fire: a check that never fired
// proves nothing.
#include "pool_impl.h"

#if HAKMEM_POOL_SCHED_POINTS
#include <functional>
#include <type_traits>
#include <vector>

namespace hakmem::HAKMEM_FLAVOUR_NS {

namespace {

// The writes of one planted fault, undone in reverse when the walk is done.
class Breaks {
 public:
  Breaks() = default;
  Breaks(const Breaks&) = delete;
  Breaks& operator=(const Breaks&) = delete;
  ~Breaks() {
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) (*it)();
  }
  template <class T>
  void set(T& field, T value) {
    undo_.push_back([&field, old = field] { field = old; });
    field = value;
  }
  template <class T>
  void set(std::atomic<T>& field, T value) {
    undo_.push_back([&field, old = field.load(std::memory_order_relaxed)] {
      field.store(old, std::memory_order_relaxed);
    });
    field.store(value, std::memory_order_relaxed);
  }
  void on_undo(std::function<void()> f) { undo_.push_back(std::move(f)); }

 private:
  std::vector<std::function<void()>> undo_;
};

constexpr std::uint32_t kNoBlock = ~0u;

bool has_remote_bit(const PageDesc* d, std::uint32_t b) {
  return (d->remote_bits[b / 64].load(std::memory_order_relaxed) >> (b % 64)) & 1;
}

// The first block of `d` in state `s` without a remote bit, or kNoBlock.
std::uint32_t block_in(const PageDesc* d, BlockState s) {
  for (std::uint32_t b = 0; b < d->capacity; ++b)
    if (d->state(b) == s && !has_remote_bit(d, b)) return b;
  return kNoBlock;
}

PageDesc* tail(PageQueue& q) {
  PageDesc* d = q.head;
  while (d->next) d = d->next;
  return d;
}

struct ClassRef {
  ThreadCtx* ctx;
  int cls;
  ThreadCtx::ClassPages& pages() const { return ctx->classes[cls]; }
};

// What the pool holds, as places to plant a fault in.
struct Places {
  std::vector<PageDesc*> slabs;       // committed, by index
  std::vector<std::uint32_t> cached;  // per slab: its blocks in free caches
  std::vector<ClassRef> bound, idle;  // the classes of contexts bound to a thread, and of idle ones
  std::vector<PageQueue*> queues;     // the page queues holding a page
};

// Planting runs where the walk runs, at quiescence: no other thread touches
// the pool until the walk is done and every write undone, so the writes take
// no lock (the queues' locks are released once the places are listed).
Places places_of(Pool::Impl& pool) {
  Places at;
  const std::uint32_t used = pool.arena.slabs_used();
  for (std::uint32_t i = 0; i < used; ++i) at.slabs.push_back(pool.arena.desc(i));
  at.cached.assign(used, 0);
  pool.contexts.for_each([&](const ThreadCtx& c) {
    auto& ctx = const_cast<ThreadCtx&>(c);
    const bool bound = ctx.slot != kNoThreadSlot;
    for (int cls = 0; cls < kNumClasses; ++cls) {
      ThreadCtx::ClassPages& pages = ctx.classes[cls];
      (bound ? at.bound : at.idle).push_back({&ctx, cls});
      for (std::uint32_t i = 0; i < pages.cached; ++i)
        if (handle_slab(pages.cache[i]) < used) ++at.cached[handle_slab(pages.cache[i])];
      for (PageQueue* q : {&pages.partial, &pages.full})
        if (bound && q->head) at.queues.push_back(q);
    }
  });
  auto add = [&](const PageQueue& q, PageList) {
    if (q.head) at.queues.push_back(const_cast<PageQueue*>(&q));
  };
  for (int cls = 0; cls < kNumClasses; ++cls) {
    pool.v2_shared.visit_queues(cls, add);
    pool.v1.visit_queues(cls, add);
  }
  return at;
}

// The pick-th element that `fits`, modulo their number; null for none.
template <class T, class Fits>
T* nth(std::vector<T>& all, std::uint32_t pick, Fits fits) {
  std::vector<T*> fit;
  for (T& x : all)
    if (fits(x)) fit.push_back(&x);
  return fit.empty() ? nullptr : fit[pick % fit.size()];
}

bool any_slab(PageDesc*) { return true; }
bool has_free_stack(PageDesc* d) { return d->free_top > 0; }
bool has_cached(ThreadCtx::ClassPages& p) { return p.cached > 0; }
auto is(PageKind k) {
  return [k](PageDesc* d) { return d->kind.load(std::memory_order_relaxed) == k; };
}
// A v2 page on list `l` with a free block on its stack.
auto on(PageList l) {
  return [l](PageDesc* d) {
    return d->kind.load(std::memory_order_relaxed) == PageKind::v2 && d->list == l && d->free_top > 0;
  };
}

class Planter {
 public:
  Planter(Pool::Impl& pool, std::uint32_t pick, Breaks& b)
      : pool_(pool), at_(places_of(pool)), pick_(pick), b_(b) {}

  // Every fault of the table has its planter, or this does not compile.
  bool plant(InvariantFault f) {
    static constexpr bool (Planter::*kPlanters[])() = {
        nullptr,
#define HAKMEM_INVARIANT_FAULT(name, text) &Planter::name,
#include "hakmem/invariant_faults.def"
#undef HAKMEM_INVARIANT_FAULT
    };
    return f != InvariantFault::none && (this->*kPlanters[static_cast<int>(f)])();
  }

 private:
  // One planter per fault, in the table's order.
  bool idle_context_owns_pages() {
    // The walk only asks whether any is set.
    return with_class(
        at_.idle, [](ThreadCtx::ClassPages&) { return true; },
        [&](const ClassRef& c) {
          ThreadCtx::ClassPages& p = c.pages();
          switch (clause(4)) {
            case 0:
              return b_.set(p.current, at_.slabs.front());
            case 1:
              return b_.set(p.partial.head, at_.slabs.front());
            case 2:
              return b_.set(p.full.head, at_.slabs.front());
            default:
              return b_.set(p.cached, std::uint32_t{1});
          }
        });
  }

  bool cache_over_limit() {
    return with_class(
        at_.bound, [](ThreadCtx::ClassPages&) { return true; },
        [&](const ClassRef& c) {
          ThreadCtx::ClassPages& p = c.pages();
          if (clause(2) == 0)
            b_.set(p.cache_limit, p.cache_limit + 1);
          else
            b_.set(p.cached, p.cache_limit + 1);
        });
  }

  bool cache_foreign_block() {
    return with_class(at_.bound, has_cached, [&](const ClassRef& c) {
      BlockHandle& h = c.pages().cache[0];
      PageDesc* d = pool_.arena.desc(handle_slab(h));
      switch (clause(4)) {
        case 0:  // past every committed slab
          return b_.set(h, make_handle(static_cast<std::uint32_t>(at_.slabs.size()), 0));
        case 1:  // a page of another kind
          return b_.set(d->kind, PageKind::v1);
        case 2:  // a page of another class
          return b_.set(d->cls, std::uint8_t((d->cls + 1) % kNumClasses));
        default:  // past the page's last block
          return b_.set(h, make_handle(handle_slab(h), d->capacity));
      }
    });
  }

  bool cache_of_non_owner() {
    return with_class(at_.bound, has_cached, [&](const ClassRef& c) {
      b_.set(pool_.arena.desc(handle_slab(c.pages().cache[0]))->owner, static_cast<ThreadCtx*>(nullptr));
    });
  }

  bool current_and_queued() {
    return with_class(
        at_.bound, [](ThreadCtx::ClassPages& p) { return p.current != nullptr; },
        [&](const ClassRef& c) {
          // Placed as this class's current page, then met again as the next class's.
          ThreadCtx::ClassPages& next = c.ctx->classes[(c.cls + 1) % kNumClasses];
          b_.set(next.current, c.pages().current);
        },
        [](const ClassRef& c) { return c.cls + 1 < kNumClasses; });
  }

  bool queue_page_uncommitted() {
    if (at_.slabs.size() >= pool_.arena.slab_count()) return false;
    PageDesc* const uncommitted = pool_.arena.desc(static_cast<std::uint32_t>(at_.slabs.size()));
    if (clause(2) == 0)
      return with_class(
          at_.bound, [](ThreadCtx::ClassPages&) { return true; },
          [&](const ClassRef& c) { b_.set(c.pages().current, uncommitted); });
    return with_queue([&](PageQueue& q) { b_.set(tail(q)->next, uncommitted); });
  }

  bool on_two_queues() {
    return with_queue([&](PageQueue& q) { b_.set(tail(q)->next, q.head); });
  }

  bool bad_kind() {
    return with_slab([&](PageDesc* d) { return uncached(d); },
                     [&](PageDesc* d) { b_.set(d->kind, static_cast<PageKind>(0x7F)); });
  }

  bool bad_geometry() {
    // The class and capacity only where no free cache checks them first.
    return with_slab([&](PageDesc* d) { return uncached(d); },
                     [&](PageDesc* d) {
                       switch (clause(3)) {
                         case 0:
                           return b_.set(d->cls, std::uint8_t{kNumClasses});
                         case 1:
                           return b_.set(d->capacity, std::uint16_t(d->capacity + 1));
                         default:
                           return b_.set(d->index, d->index + 1);
                       }
                     });
  }

  bool header_corrupted() {
    return with_slab(any_slab, [&](PageDesc* d) { corrupt_header(d); });
  }

  bool remote_bit_past_end() {
    return with_slab([](PageDesc* d) { return d->capacity < kRemoteWords * 64; },
                     [&](PageDesc* d) { set_remote_bit(d, d->capacity); });
  }

  bool stray_remote_bit() {
    return with_block(BlockState::allocated, [&](PageDesc* d, std::uint32_t b) { set_remote_bit(d, b); });
  }

  bool invalid_block_state() {
    return with_block(BlockState::allocated,
                      [&](PageDesc* d, std::uint32_t b) { b_.set(d->meta[b], std::uint8_t{0x7F}); });
  }

  bool free_stack_overflow() {
    return with_slab(any_slab, [&](PageDesc* d) { b_.set(d->free_top, std::uint16_t(d->capacity + 1)); });
  }

  bool free_stack_broken() {
    return with_slab(has_free_stack,
                     [&](PageDesc* d) { b_.set(d->meta[d->capacity], std::uint8_t(d->capacity)); });
  }

  bool free_stack_not_free() {
    return with_block(BlockState::allocated, [&](PageDesc* d, std::uint32_t b) {
      if (d->free_top == 0) return false;
      b_.set(d->meta[d->capacity], std::uint8_t(b));
      return true;
    });
  }

  bool remote_free_without_bit() {
    return with_block(BlockState::allocated,
                      [&](PageDesc* d, std::uint32_t b) { set_state(d, b, BlockState::remote_freed); });
  }

  bool cached_twice() {
    return with_class(
        at_.bound, [](ThreadCtx::ClassPages& p) { return second_on_later_slab(p) != 0; },
        [&](const ClassRef& c) {
          ThreadCtx::ClassPages& p = c.pages();
          b_.set(p.cache[second_on_later_slab(p)], p.cache[0]);
        });
  }

  bool cached_not_free() {
    return with_class(
        at_.bound,
        [&](ThreadCtx::ClassPages& p) {
          return p.cached &&
                 block_in(pool_.arena.desc(handle_slab(p.cache[0])), BlockState::allocated) != kNoBlock;
        },
        [&](const ClassRef& c) {
          const std::uint32_t slab = handle_slab(c.pages().cache[0]);
          b_.set(c.pages().cache[0],
                 make_handle(slab, block_in(pool_.arena.desc(slab), BlockState::allocated)));
        });
  }

  bool lost_blocks() {
    return with_slab(has_free_stack,
                     [&](PageDesc* d) { b_.set(d->free_top, std::uint16_t(d->free_top - 1)); });
  }

  bool used_count_wrong() {
    return with_slab(any_slab, [&](PageDesc* d) { b_.set(d->used, std::uint16_t(d->used + 1)); });
  }

  bool v1_remote_frees() {
    return with_block(BlockState::allocated, [&](PageDesc* d, std::uint32_t b) {
      if (d->kind.load(std::memory_order_relaxed) != PageKind::v1) return false;
      set_state(d, b, BlockState::remote_freed);
      set_remote_bit(d, b);
      return true;
    });
  }

  bool v1_wrong_queue() {
    return with_slab(is(PageKind::v1), [&](PageDesc* d) {
      b_.set(d->list, d->list == PageList::v1_partial ? PageList::v1_full : PageList::v1_partial);
    });
  }

  bool lost_page() {
    return with_class(
        at_.bound, [](ThreadCtx::ClassPages& p) { return p.current != nullptr; },
        [&](const ClassRef& c) { b_.set(c.pages().current, static_cast<PageDesc*>(nullptr)); });
  }

  bool queue_tag_wrong() {
    return with_slab(is(PageKind::v2), [&](PageDesc* d) {
      b_.set(d->list, d->list == PageList::cold ? PageList::orphan : PageList::cold);
    });
  }

  bool owner_wrong() {
    return with_slab(
        [&](PageDesc* d) {
          return is(PageKind::v2)(d) && uncached(d) && d->owner.load(std::memory_order_relaxed);
        },
        [&](PageDesc* d) { b_.set(d->owner, static_cast<ThreadCtx*>(nullptr)); });
  }

  bool partial_without_free() {
    // Every block of the free stack handed out: the counts still agree.
    return with_slab(on(PageList::partial), [&](PageDesc* d) {
      for (std::uint32_t k = 0; k < d->free_top; ++k)
        set_state(d, d->meta[d->capacity + k], BlockState::allocated);
      b_.set(d->used, std::uint16_t(d->used + d->free_top));
      b_.set(d->free_top, std::uint16_t{0});
    });
  }

  bool full_with_free() {
    // One block back on the free stack: the counts still agree.
    return with_block(BlockState::allocated, [&](PageDesc* d, std::uint32_t b) {
      if (d->list != PageList::full) return false;
      set_state(d, b, BlockState::free);
      b_.set(d->meta[d->capacity + d->free_top], std::uint8_t(b));
      b_.set(d->free_top, std::uint16_t(d->free_top + 1));
      b_.set(d->used, std::uint16_t(d->used - 1));
      return true;
    });
  }

  bool cold_with_live() {
    // The free stack's top handed out: the counts still agree.
    return with_slab(on(PageList::cold), [&](PageDesc* d) {
      set_state(d, d->meta[d->capacity + d->free_top - 1], BlockState::allocated);
      b_.set(d->free_top, std::uint16_t(d->free_top - 1));
      b_.set(d->used, std::uint16_t(d->used + 1));
    });
  }

  bool uncached(PageDesc* d) const { return at_.cached[d->index] == 0; }
  // An entry after the first of a free cache whose slab the walk meets no
  // earlier than the first's (so a copy of the first is met as a repeat
  // before the block it replaced is missed); 0 for none.
  static std::uint32_t second_on_later_slab(const ThreadCtx::ClassPages& p) {
    for (std::uint32_t j = 1; j < p.cached; ++j)
      if (handle_slab(p.cache[j]) >= handle_slab(p.cache[0])) return j;
    return 0;
  }

  template <class Fits, class Break>
  bool with_slab(Fits fits, Break brk) {
    PageDesc** d = nth(at_.slabs, pick_, [&](PageDesc* x) { return fits(x); });
    if (!d) return false;
    brk(*d);
    return true;
  }
  // A block of state `s` without a remote bit, the pick-th (then the next
  // ones) where `brk` takes it: void, or whether it did.
  template <class Break>
  bool with_block(BlockState s, Break brk) {
    std::vector<std::pair<PageDesc*, std::uint32_t>> blocks;
    for (PageDesc* d : at_.slabs)
      if (std::uint32_t b = block_in(d, s); b != kNoBlock) blocks.emplace_back(d, b);
    for (std::size_t k = 0; k < blocks.size(); ++k) {
      auto [d, b] = blocks[(pick_ + k) % blocks.size()];
      if constexpr (std::is_void_v<decltype(brk(d, b))>) {
        brk(d, b);
        return true;
      } else if (brk(d, b)) {
        return true;
      }
    }
    return false;
  }
  template <class Fits, class Break>
  bool with_class(
      std::vector<ClassRef>& classes, Fits fits, Break brk,
      bool (*also)(const ClassRef&) = [](const ClassRef&) { return true; }) {
    if (at_.slabs.empty()) return false;
    ClassRef* c = nth(classes, pick_, [&](const ClassRef& r) { return also(r) && fits(r.pages()); });
    if (!c) return false;
    brk(*c);
    return true;
  }
  template <class Break>
  bool with_queue(Break brk) {
    PageQueue** q = nth(at_.queues, pick_, [](PageQueue*) { return true; });
    if (!q) return false;
    brk(**q);
    return true;
  }

  // Which clause of a check with `n` clauses the pick breaks: over a
  // program's checks, each in turn.
  std::uint32_t clause(std::uint32_t n) const { return pick_ % n; }
  void set_state(PageDesc* d, std::uint32_t b, BlockState s) {
    b_.set(d->meta[b], static_cast<std::uint8_t>(s));
  }
  void set_remote_bit(PageDesc* d, std::uint32_t b) {
    std::atomic<std::uint64_t>& word = d->remote_bits[b / 64];
    b_.set(word, word.load(std::memory_order_relaxed) | std::uint64_t{1} << (b % 64));
  }
  void corrupt_header(PageDesc* d) {
    auto* header = reinterpret_cast<SlabHeader*>(pool_.arena.slab_base(d->index));
    detail::unpoison(header, sizeof(SlabHeader));
    const SlabHeader was = *header;
    switch (clause(4)) {
      case 0:
        header->magic = ~was.magic;
        break;
      case 1:
        header->slab_index = was.slab_index + 1;
        break;
      case 2:
        header->kind = static_cast<std::uint8_t>(was.kind ^ 3);
        break;
      default:
        header->cls = static_cast<std::uint8_t>(was.cls + 1);
    }
    detail::poison(header, sizeof(SlabHeader));
    b_.on_undo([header, was] {
      detail::unpoison(header, sizeof(SlabHeader));
      *header = was;
      detail::poison(header, sizeof(SlabHeader));
    });
  }

  Pool::Impl& pool_;
  Places at_;
  const std::uint32_t pick_;
  Breaks& b_;
};

}  // namespace

std::optional<InvariantReport> Pool::Impl::check_with_fault(InvariantFault fault, std::uint32_t pick) {
  Breaks breaks;
  if (!Planter(*this, pick, breaks).plant(fault)) return std::nullopt;
  return check();
}

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
#endif
