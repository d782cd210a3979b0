// Schedule points: where a controller may switch threads inside allocator
// calls (sched_points.def). Compiled into the tester's flavour only
// (HAKMEM_POOL_SCHED_POINTS=1); the production flavours hold no code and no
// storage for them. With no controller installed a point is one relaxed load
// and a branch; a controller sees only the threads it registered.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

namespace hakmem::sched {

enum class Point : std::uint8_t {
#define HAKMEM_SCHED_POINT(id, name, kind, arg, doc) id,
#include "hakmem/sched_points.def"
#undef HAKMEM_SCHED_POINT
};
inline constexpr int kNumPoints = 0
#define HAKMEM_SCHED_POINT(id, name, kind, arg, doc) +1
#include "hakmem/sched_points.def"
#undef HAKMEM_SCHED_POINT
    ;

enum class PointKind : std::uint8_t { load, store, rmw, lock, os, exit };
enum class PointArg : std::uint8_t { block, word, slab, cls, none };
struct PointInfo {
  const char* name;  // "remote_free.fetch_or"
  PointKind kind;
  PointArg arg;  // what the point's arg names
  const char* doc;
  // Only a planted bug's code holds it (its doc starts "planted").
  bool planted_only() const { return std::string_view(doc).starts_with("planted"); }
};
const PointInfo& point_info(Point p);

// What a controller implements; every call runs on the thread at the point.
class Controller {
 public:
  // Before the operation. For a lock point, `object` is the mutex: the
  // controller must not let the thread through while another holds it.
  // `arg` is what a trace shows of the operation's target, the same in every
  // run: slab << 8 | block (or bitmap word) for page state, the size class
  // for per-class state, 0 otherwise.
  virtual void at(Point p, const void* object, std::uint64_t arg) = 0;
  // After the operation, with what it read or returned (for the trace).
  virtual void result(Point p, std::uint64_t value) = 0;
  // After a lock point's mutex was released.
  virtual void released(const void* mutex) = 0;

  // The atomic operation of the point just announced, with the order its
  // call site wrote (sched_point.h's wrappers report every one): `location`
  // is the std::atomic itself, values are its bits. A weak-memory
  // controller may answer a load with an older store's value (never when
  // `latest`: a failed compare-exchange reads the latest); every other
  // controller returns `value`. A store reports what it overwrote: the
  // location's history may start there.
  virtual std::uint64_t loaded(const void* /*location*/, std::uint64_t value, std::memory_order /*order*/,
                               bool /*latest*/) {
    return value;
  }
  virtual void stored(const void* /*location*/, std::uint64_t /*before*/, std::uint64_t /*value*/,
                      std::memory_order /*order*/) {}
  // A read-modify-write that read `read` and wrote `written` (a successful
  // compare-exchange; a failed one is a load with its failure order).
  virtual void exchanged(const void* /*location*/, std::uint64_t /*read*/, std::uint64_t /*written*/,
                         std::memory_order /*order*/) {}

 protected:
  ~Controller() = default;
};

// One controller per process at a time; nullptr removes it.
void install(Controller* c);
extern std::atomic<Controller*> g_controller;

inline void at(Point p, const void* object, std::uint64_t arg = 0) {
  if (Controller* c = g_controller.load(std::memory_order_relaxed)) c->at(p, object, arg);
}
inline void result(Point p, std::uint64_t value) {
  if (Controller* c = g_controller.load(std::memory_order_relaxed)) c->result(p, value);
}
inline void released(const void* mutex) {
  if (Controller* c = g_controller.load(std::memory_order_relaxed)) c->released(mutex);
}
inline std::uint64_t loaded(const void* location, std::uint64_t value, std::memory_order order,
                            bool latest = false) {
  if (Controller* c = g_controller.load(std::memory_order_relaxed))
    return c->loaded(location, value, order, latest);
  return value;
}
inline void stored(const void* location, std::uint64_t before, std::uint64_t value, std::memory_order order) {
  if (Controller* c = g_controller.load(std::memory_order_relaxed)) c->stored(location, before, value, order);
}
inline void exchanged(const void* location, std::uint64_t read, std::uint64_t written,
                      std::memory_order order) {
  if (Controller* c = g_controller.load(std::memory_order_relaxed))
    c->exchanged(location, read, written, order);
}

}  // namespace hakmem::sched
