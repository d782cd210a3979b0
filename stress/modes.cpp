// The strategies of modes.def, and the two ways to run a round's workers:
// tasks of a task_arena of exactly that many slots, or std::threads, because
// TBB pools its threads and only a real thread can exit (oneTBB's own
// allocator tests do the same).
#include <tbb/concurrent_queue.h>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>
#include <utility>

#include "stress/canary.h"
#include "stress/mode.h"

namespace hakfuzz::stress {

namespace {

// Every worker a task of one arena. TBB caps its threads at the core count
// by default, and a worker it never runs would leave the others waiting at
// the lockstep barrier: the cap is raised unless a caller (the sweep, for all
// its cells) already allows enough.
void run_on_tbb(int workers, const std::function<void(int)>& body) {
  const auto needed = static_cast<std::size_t>(workers) + 1;
  std::optional<tbb::global_control> cap;
  if (tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism) < needed)
    cap.emplace(tbb::global_control::max_allowed_parallelism, needed);
  tbb::task_arena arena(workers);
  arena.execute([&] {
    tbb::task_group tg;
    for (int w = 0; w < workers; ++w) tg.run([&body, w] { body(w); });
    tg.wait();
  });
}

// A shared array of atomic slots: handing off swaps a block in and frees
// whatever was there.
class Exchange : public Handover {
 public:
  explicit Exchange(const ModeParams& p) : slots_(p.working_set), pass_own_back_(p.pass_own_back) {}

  void hand_off(Hands& w, void* block) override {
    void* old = swap(w, block);
    for (int again = 0; again < pass_own_back_ && old && canary_owner(canary_head_of(old)) == w.id(); ++again)
      old = swap(w, old);
    if (old) w.release(old);
  }

  std::uint64_t in_transit() const override {
    return static_cast<std::uint64_t>(std::ranges::count_if(
        slots_, [](const std::atomic<void*>& s) { return s.load(std::memory_order_acquire) != nullptr; }));
  }

  void drain(const std::function<void(void*)>& take) override {
    for (auto& slot : slots_)
      if (void* p = slot.exchange(nullptr, std::memory_order_acq_rel)) take(p);
  }

 private:
  void* swap(Hands& w, void* block) {
    return slots_[w.rng().below(slots_.size())].exchange(block, std::memory_order_acq_rel);
  }

  std::vector<std::atomic<void*>> slots_;
  const int pass_own_back_;
};

// Exchange where a worker leaving its round puts its own blocks into the
// slots: its thread exits, and the next round's threads free them into pages
// whose owner is gone.
class Churn final : public Exchange {
 public:
  using Exchange::Exchange;

  void leave_round(Hands& w, std::vector<void*>& kept) override {
    for (void* p : std::exchange(kept, {})) hand_off(w, p);
  }
};

// A bounded concurrent queue; every worker produces and consumes.
class Handoff final : public Handover {
 public:
  explicit Handoff(const ModeParams& p)
      : half_(std::max<std::ptrdiff_t>(1, static_cast<std::ptrdiff_t>(p.working_set / 2))) {
    queue_.set_capacity(static_cast<std::ptrdiff_t>(p.working_set));
  }

  // A full queue: consume before producing, so the bound holds.
  void hand_off(Hands& w, void* block) override {
    while (!queue_.try_push(block))
      if (void* q; queue_.try_pop(q)) w.release(q);
  }

  // Only from a half-full queue: popping right after a push would mostly
  // take back the block just pushed, and the free would be local.
  void receive(Hands& w) override {
    if (void* q; queue_.size() >= half_ && queue_.try_pop(q)) w.release(q);
  }

  std::uint64_t in_transit() const override {
    return static_cast<std::uint64_t>(std::max<std::ptrdiff_t>(0, queue_.size()));
  }

  void drain(const std::function<void(void*)>& take) override {
    for (void* p; queue_.try_pop(p);) take(p);
  }

 private:
  tbb::concurrent_bounded_queue<void*> queue_;
  const std::ptrdiff_t half_;
};

enum class Threads : std::uint8_t { tbb, os };

template <class S>
std::unique_ptr<Handover> make(const ModeParams& p) {
  return std::make_unique<S>(p);
}

struct ModeRow {
  const char* name;
  std::unique_ptr<Handover> (*make)(const ModeParams&);
  Threads threads;
  const char* doc;
};
const ModeRow kModes[] = {
#define HAKFUZZ_STRESS_MODE(name, Handover, threads, doc) {#name, make<Handover>, Threads::threads, doc},
#include "stress/modes.def"
#undef HAKFUZZ_STRESS_MODE
};

const ModeRow& row(StressMode m) { return kModes[static_cast<int>(m)]; }

}  // namespace

const char* stress_mode_name(StressMode m) { return row(m).name; }
const char* stress_mode_doc(StressMode m) { return row(m).doc; }
bool stress_mode_threads_exit(StressMode m) { return row(m).threads == Threads::os; }

std::optional<StressMode> parse_stress_mode(std::string_view s) {
  for (std::size_t i = 0; i < std::size(kModes); ++i)
    if (s == kModes[i].name) return static_cast<StressMode>(i);
  return std::nullopt;
}

std::string stress_mode_help() {
  std::string out;
  for (const ModeRow& r : kModes)
    out += (out.empty() ? "" : " | ") + std::string(r.name) + " (" + r.doc + ")";
  return out;
}

std::unique_ptr<Handover> make_mode(StressMode m, const ModeParams& params) { return row(m).make(params); }

void run_workers(StressMode m, int workers, const std::function<void(int)>& body) {
  if (row(m).threads == Threads::tbb) return run_on_tbb(workers, body);
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) threads.emplace_back(body, w);
  for (std::thread& t : threads) t.join();
}

struct WorkerThreads::Handle {
  tbb::task_scheduler_handle tbb{tbb::attach{}};
};
WorkerThreads::WorkerThreads() : handle_(std::make_unique<Handle>()) {}
WorkerThreads::~WorkerThreads() = default;
bool WorkerThreads::end() { return tbb::finalize(handle_->tbb, std::nothrow); }

}  // namespace hakfuzz::stress
