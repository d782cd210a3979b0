// The schedule points' names and the process's controller slot.
#include "hakmem/sched.h"

namespace hakmem::sched {

std::atomic<Controller*> g_controller{nullptr};

void install(Controller* c) { g_controller.store(c, std::memory_order_relaxed); }

const PointInfo& point_info(Point p) {
  static const PointInfo table[] = {
#define HAKMEM_SCHED_POINT(id, name, kind, arg, doc) {name, PointKind::kind, PointArg::arg, doc},
#include "hakmem/sched_points.def"
#undef HAKMEM_SCHED_POINT
  };
  return table[static_cast<int>(p)];
}

}  // namespace hakmem::sched
