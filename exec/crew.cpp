#include "exec/crew.h"

#include <mutex>
#include <vector>

#include "support/baton.h"
#include "support/cpu.h"

namespace hakfuzz {

namespace {

// How long a waiter spins, then yields, before it sleeps. A seat between
// tasks waits for the next launch, usually the next run's first op on its
// thread: a futex wake-up costs more here than making a thread did, so it
// yields a while (with more threads than cores, a yielding waiter lets the
// busy ones run). The launcher waits for a task's end: worth a spin.
struct Patience {
  int spins, yields;
};
constexpr Patience kLaunchPatience{256, 2048};
constexpr Patience kEndPatience{4096, 512};

template <class Ready>
std::uint32_t await_state(const std::atomic<std::uint32_t>& state, Ready ready, Patience patience) {
  for (int spin = 0; spin < patience.spins; ++spin) {
    if (const std::uint32_t seen = state.load(std::memory_order_acquire); ready(seen)) return seen;
    support::cpu_relax();
  }
  for (int yield = 0; yield < patience.yields; ++yield) {
    if (const std::uint32_t seen = state.load(std::memory_order_acquire); ready(seen)) return seen;
    std::this_thread::yield();
  }
  for (std::uint32_t seen = state.load(std::memory_order_acquire);;
       seen = state.load(std::memory_order_acquire)) {
    if (ready(seen)) return seen;
    support::baton_wait(state, seen, std::memory_order_acquire);
  }
}

}  // namespace

// Idle crews, and at process exit their threads' end: a thread parked for
// ever keeps records (its thread_local destructors' list) that
// LeakSanitizer reports. A fork()ed child has none of the threads to end.
struct Crew::Registry {
  std::mutex mutex;
  std::vector<Crew*> idle;
  const pid_t owner = ::getpid();
  ~Registry() {
    if (::getpid() != owner) return;
    for (Crew* c : idle) delete c;
  }
};

Crew::Registry& Crew::registry() {
  static Registry r;
  return r;
}

Crew* Crew::borrow() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  if (r.idle.empty()) return new Crew;
  Crew* c = r.idle.back();
  r.idle.pop_back();
  return c;
}

void Crew::give_back(Crew* crew) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.idle.push_back(crew);
}

void Crew::abandon(Crew* crew) {
  for (Seat& s : crew->seats_)
    if (s.thread.joinable()) s.thread.detach();
  // The crew itself stays: its parked threads read their seats.
}

Crew::~Crew() {
  for (int i = 0; i < kMaxThreads; ++i) {
    if (seats_[i].state.load(std::memory_order_acquire) == kLaunched && seats_[i].evict)
      seats_[i].evict(*this, i);
    retire(i);
  }
}

void Crew::retire(int index) {
  Seat& s = seats_[index];
  if (!s.thread.joinable()) return;
  await_idle(index);
  s.state.store(kQuit, std::memory_order_release);
  support::baton_wake(s.state);
  s.thread.join();
  s.state.store(kIdle, std::memory_order_relaxed);
  s.evict = nullptr;
  s.id.store(std::thread::id{}, std::memory_order_relaxed);
}

void Crew::launch(int index, Task task, void* context, Evict evict) {
  Seat& s = seats_[index];
  if (s.state.load(std::memory_order_acquire) == kLaunched && s.evict) {
    s.evict(*this, index);
    await_idle(index);
  }
  s.task = task;
  s.evict = evict;
  s.context = context;
  s.state.store(kLaunched, std::memory_order_release);
  if (!s.thread.joinable())
    s.thread = std::thread([this, index] { serve(seats_[index], index); });
  else
    support::baton_wake(s.state);
}

void Crew::await_idle(int index) {
  await_state(
      seats_[index].state, [](std::uint32_t v) { return v == kIdle; }, kEndPatience);
}

void Crew::serve(Seat& s, int index) {
  s.id.store(std::this_thread::get_id(), std::memory_order_relaxed);
  for (;;) {
    const std::uint32_t seen = await_state(
        s.state, [](std::uint32_t v) { return v != kIdle; }, kLaunchPatience);
    if (seen == kQuit) return;
    s.task(s.context, index);
    s.state.store(kIdle, std::memory_order_release);
    support::baton_wake(s.state);
  }
}

}  // namespace hakfuzz
