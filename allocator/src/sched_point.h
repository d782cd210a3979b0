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
//   HAKMEM_POOL_MUTEX(point)           the type of a pool mutex whose lock()
//                                      is that lock point
//
// Every atomic operation on state other threads touch goes through one of
// these, with the memory order written at the call site: the tester's
// flavour performs it with that order and reports location, value and order
// to the controller (hakmem/sched.h), which models happens-before and weak
// executions from exactly what the code says; a changed order at a call
// site changes what the controller sees. Elsewhere each is the bare call.
//   HAKMEM_LOAD(point, object, arg, atomic, order)           -> the value
//   HAKMEM_STORE(point, object, arg, atomic, value, order)
//   HAKMEM_RMW(point, object, arg, atomic, op, value, order) -> the old value
//                                      (op: exchange, fetch_or, ...)
//   HAKMEM_CAS(point, object, arg, atomic, expected, desired, success, failure)
//                                      -> whether it swapped (strong)
//   HAKMEM_LOAD_IN_STEP(atomic, order) one more load of the step just
//                                      announced (a walk over several words)
//   HAKMEM_ORDER(written, active, bug, weaker)  the order a call site wrote,
//                                      or `weaker` while the planted
//                                      memory-order bug `bug` is active
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <type_traits>

#include "flavour.h"

#if HAKMEM_POOL_SCHED_POINTS
#include "hakmem/sched.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

// The arg of a block or word point: slab << 8 | block (or bitmap word).
constexpr std::uint64_t sched_arg(std::uint32_t slab, std::uint32_t sub) {
  return std::uint64_t{slab} << 8 | sub;
}

// The order a call site wrote, or a planted bug's weaker one. A function,
// not a ?: at the call site, so that its branch is the tester's code.
constexpr std::memory_order planted_order(std::memory_order written, bool planted, std::memory_order weaker) {
  return planted ? weaker : written;
}

// An atomic's bits as the controller keeps them, and back.
template <class T>
std::uint64_t to_word(T v) {
  if constexpr (std::is_pointer_v<T>)
    return reinterpret_cast<std::uintptr_t>(v);
  else
    return static_cast<std::uint64_t>(v);
}
template <class T>
T from_word(std::uint64_t w) {
  if constexpr (std::is_pointer_v<T>)
    return reinterpret_cast<T>(static_cast<std::uintptr_t>(w));
  else
    return static_cast<T>(w);
}
// What a trace shows of a value: never an address (a pointer's site reports
// its own code with HAKMEM_SCHED_RESULT).
template <class T>
void trace_result(sched::Point p, T v) {
  if constexpr (!std::is_pointer_v<T>) sched::result(p, to_word(v));
}

template <class T>
T sched_load_in_step(const std::atomic<T>& a, std::memory_order order) {
  return from_word<T>(sched::loaded(&a, to_word(a.load(order)), order));
}
template <class T>
T sched_load(sched::Point p, const void* object, std::uint64_t arg, const std::atomic<T>& a,
             std::memory_order order) {
  sched::at(p, object, arg);
  const T v = sched_load_in_step(a, order);
  trace_result(p, v);
  return v;
}
template <class T, class V>
void sched_store(sched::Point p, const void* object, std::uint64_t arg, std::atomic<T>& a, V value,
                 std::memory_order order) {
  sched::at(p, object, arg);
  const T before = a.load(std::memory_order_relaxed);  // one thread runs at a time under a controller
  a.store(static_cast<T>(value), order);
  sched::stored(&a, to_word(before), to_word(static_cast<T>(value)), order);
}
template <class T, class Op>
T sched_rmw(sched::Point p, const void* object, std::uint64_t arg, std::atomic<T>& a, std::memory_order order,
            Op&& op) {
  sched::at(p, object, arg);
  const T old = op(a);
  // One thread runs at a time under a controller: nothing wrote in between.
  sched::exchanged(&a, to_word(old), to_word(a.load(std::memory_order_relaxed)), order);
  trace_result(p, old);
  return old;
}
template <class T>
bool sched_cas(sched::Point p, const void* object, std::uint64_t arg, std::atomic<T>& a, T expected,
               T desired, std::memory_order success, std::memory_order failure) {
  sched::at(p, object, arg);
  const T want = expected;
  const bool swapped = a.compare_exchange_strong(expected, desired, success, failure);
  if (swapped)
    sched::exchanged(&a, to_word(want), to_word(desired), success);
  else
    (void)sched::loaded(&a, to_word(expected), failure, /*latest=*/true);
  sched::result(p, swapped);
  return swapped;
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
#define HAKMEM_POOL_MUTEX(point) ::hakmem::HAKMEM_FLAVOUR_NS::SchedMutex<::hakmem::sched::Point::point>
#define HAKMEM_ORDER(written, active, bug, weaker) \
  ::hakmem::HAKMEM_FLAVOUR_NS::planted_order((written), (active) == ::hakmem::Plant::bug, (weaker))
#define HAKMEM_LOAD(point, object, arg, atomic, order) \
  ::hakmem::HAKMEM_FLAVOUR_NS::sched_load(::hakmem::sched::Point::point, (object), (arg), (atomic), (order))
#define HAKMEM_LOAD_IN_STEP(atomic, order) ::hakmem::HAKMEM_FLAVOUR_NS::sched_load_in_step((atomic), (order))
#define HAKMEM_STORE(point, object, arg, atomic, value, order)                                       \
  ::hakmem::HAKMEM_FLAVOUR_NS::sched_store(::hakmem::sched::Point::point, (object), (arg), (atomic), \
                                           (value), (order))
#define HAKMEM_RMW(point, object, arg, atomic, op, value, order)                                            \
  ::hakmem::HAKMEM_FLAVOUR_NS::sched_rmw(::hakmem::sched::Point::point, (object), (arg), (atomic), (order), \
                                         [&](auto& a_) { return a_.op((value), (order)); })
#define HAKMEM_CAS(point, object, arg, atomic, expected, desired, success, failure)                \
  ::hakmem::HAKMEM_FLAVOUR_NS::sched_cas(::hakmem::sched::Point::point, (object), (arg), (atomic), \
                                         (expected), (desired), (success), (failure))

#else
#define HAKMEM_SCHED(point, object, arg) ((void)0)
#define HAKMEM_SCHED_RESULT(point, value) ((void)0)
#define HAKMEM_POOL_MUTEX(point) std::mutex
#define HAKMEM_ORDER(written, active, bug, weaker) (written)
#define HAKMEM_LOAD(point, object, arg, atomic, order) (atomic).load(order)
#define HAKMEM_LOAD_IN_STEP(atomic, order) (atomic).load(order)
#define HAKMEM_STORE(point, object, arg, atomic, value, order) \
  ::hakmem::detail::store_as((atomic), (value), (order))
#define HAKMEM_RMW(point, object, arg, atomic, op, value, order) (atomic).op((value), (order))
#define HAKMEM_CAS(point, object, arg, atomic, expected, desired, success, failure) \
  ::hakmem::detail::cas_strong((atomic), (expected), (desired), (success), (failure))
namespace hakmem::detail {
template <class T, class V>
inline void store_as(std::atomic<T>& a, V value, std::memory_order order) {
  a.store(static_cast<T>(value), order);
}
template <class T>
inline bool cas_strong(std::atomic<T>& a, T expected, T desired, std::memory_order success,
                       std::memory_order failure) {
  return a.compare_exchange_strong(expected, desired, success, failure);
}
}  // namespace hakmem::detail
#endif
