// Schedule points in the pool's code (hakmem/sched.h, sched_points.def), and
// the pool's mutex type. Compiled in only with HAKMEM_POOL_SCHED_POINTS=1
// (the tester's flavour); otherwise every macro below expands to nothing, or
// to the bare operation, and a pool mutex is a plain std::mutex: the
// production flavours hold no code and no storage for them (a test checks
// their libraries name nothing of hakmem::sched).
//
// A point goes right before each operation on memory another thread may
// touch at the same time: page state (block states, remote bitmap words,
// owner, hints), the context-slot table, each lock, the OS layer's page
// acquisitions, thread exit. Fields only the owner touches are not points.
//
//   HAKMEM_SCHED(point, object, arg)   before the operation; object is what
//                                      it touches (a page's whole remote
//                                      bitmap for any of its words: a walk
//                                      reads them all), arg what a trace
//                                      shows (sched_points.def says which)
//   HAKMEM_SCHED_RESULT(point, value)  after it: what it read or returned,
//                                      never an address, so that a trace is
//                                      the same in every run
//   HAKMEM_SCHED_VALUE(point, object, arg, expr)  both around an expression
//                                      that performs one operation
//   HAKMEM_POOL_MUTEX(point)           the type of a pool mutex whose lock()
//                                      is that lock point
#pragma once

#include <cstdint>
#include <mutex>

#include "flavour.h"

#if HAKMEM_POOL_SCHED_POINTS
#include "hakmem/sched.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

// The arg of a block or word point: slab << 8 | block (or bitmap word).
constexpr std::uint64_t sched_arg(std::uint32_t slab, std::uint32_t sub) {
  return std::uint64_t{slab} << 8 | sub;
}

template <class Op>
auto sched_value(sched::Point p, const void* object, std::uint64_t arg, Op&& op) {
  sched::at(p, object, arg);
  auto value = op();
  sched::result(p, static_cast<std::uint64_t>(value));
  return value;
}

// A mutex the controller can model: it hears of the lock before the thread
// blocks on it and of the unlock after the mutex is free. Works with
// std::lock_guard like the std::mutex it wraps.
template <sched::Point P>
class SchedMutex {
 public:
  void lock() {
    sched::at(P, this, arg);
    mutex_.lock();
  }
  void unlock() {
    mutex_.unlock();
    sched::released(this);
  }
  std::uint64_t arg = 0;  // what a trace shows: the class of a per-class lock

 private:
  std::mutex mutex_;
};

}  // namespace hakmem::HAKMEM_FLAVOUR_NS

#define HAKMEM_SCHED(point, object, arg) ::hakmem::sched::at(::hakmem::sched::Point::point, (object), (arg))
#define HAKMEM_SCHED_RESULT(point, value) \
  ::hakmem::sched::result(::hakmem::sched::Point::point, static_cast<std::uint64_t>(value))
#define HAKMEM_SCHED_VALUE(point, object, arg, expr)                                       \
  ::hakmem::HAKMEM_FLAVOUR_NS::sched_value(::hakmem::sched::Point::point, (object), (arg), \
                                           [&] { return (expr); })
#define HAKMEM_POOL_MUTEX(point) ::hakmem::HAKMEM_FLAVOUR_NS::SchedMutex<::hakmem::sched::Point::point>

#else
#define HAKMEM_SCHED(point, object, arg) ((void)0)
#define HAKMEM_SCHED_RESULT(point, value) ((void)0)
#define HAKMEM_SCHED_VALUE(point, object, arg, expr) (expr)
#define HAKMEM_POOL_MUTEX(point) std::mutex
#endif
