#include "fuzz/controller.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "support/sanitizer.h"

namespace hakfuzz {

namespace {

using hakmem::sched::Point;
using hakmem::sched::PointKind;

// Relaxed under TSan: the hand-off must not synchronise (see controller.h).
constexpr std::memory_order kPost =
    support::kTsanBuild ? std::memory_order_relaxed : std::memory_order_release;
constexpr std::memory_order kTake =
    support::kTsanBuild ? std::memory_order_relaxed : std::memory_order_acquire;

enum PostKind : std::uint8_t { kAtPoint, kDone, kExited };

}  // namespace

std::string point_name(int point) {
  if (point == kPointJobBegin) return "op.begin";
  if (point == kPointGone) return "thread.gone";
  return hakmem::sched::point_info(static_cast<Point>(point)).name;
}

namespace {

std::string describe_arg(int point, std::uint64_t arg) {
  if (point >= hakmem::sched::kNumPoints) return "";
  switch (hakmem::sched::point_info(static_cast<hakmem::sched::Point>(point)).arg) {
    case hakmem::sched::PointArg::block:
      return " slab " + std::to_string(arg >> 8) + " block " + std::to_string(arg & 0xFF);
    case hakmem::sched::PointArg::word:
      return " slab " + std::to_string(arg >> 8) + " word " + std::to_string(arg & 0xFF);
    case hakmem::sched::PointArg::slab:
      return " slab " + std::to_string(arg);
    case hakmem::sched::PointArg::cls:
      return " class " + std::to_string(arg);
    case hakmem::sched::PointArg::none:
      break;
  }
  return "";
}

}  // namespace

std::string describe_step(const Step& s) {
  std::string line = "t" + std::to_string(s.thread) + " " + point_name(s.point);
  if (s.point == kPointJobBegin)
    line += s.arg == Controller::kExitJob ? " exit" : " op " + std::to_string(s.arg);
  else
    line += describe_arg(s.point, s.arg);
  if (s.result) {
    char hex[24];
    std::snprintf(hex, sizeof hex, " -> 0x%llx", static_cast<unsigned long long>(*s.result));
    line += hex;
  }
  if (s.preemption) line += "  (preemption)";
  return line;
}

struct Controller::Worker {
  int id = 0;
  std::thread os;
  // Driver-side view.
  State state = State::idle;
  std::uint32_t job = 0;
  std::size_t age = 0;
  int point = 0;
  const void* object = nullptr;
  std::uint64_t arg = 0;
  std::size_t last_step = SIZE_MAX;

  // Crossing threads: the baton each way, then the payloads.
  std::atomic<std::uint32_t> turn{0}, posted{0};
  std::atomic<std::uint32_t> job_in{0};
  std::atomic<std::uint8_t> kind_in{0};
  std::atomic<int> point_in{0};
  std::atomic<const void*> object_in{nullptr};
  std::atomic<std::uint64_t> arg_in{0};
  // Results and lock releases since the thread last posted.
  static constexpr std::uint32_t kNotes = 64;
  std::atomic<std::uint32_t> notes{0};
  std::atomic<std::uint64_t> note_value[kNotes] = {};
  std::atomic<const void*> note_mutex[kNotes] = {};

  // Thread side.
  void post(PostKind kind, int p = 0, const void* object_ = nullptr, std::uint64_t arg_ = 0) {
    kind_in.store(kind, std::memory_order_relaxed);
    point_in.store(p, std::memory_order_relaxed);
    object_in.store(object_, std::memory_order_relaxed);
    arg_in.store(arg_, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    posted.store(1, kPost);
    posted.notify_one();
  }
  void wait_turn() {
    while (turn.load(kTake) == 0) turn.wait(0, kTake);
    turn.store(0, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  void note(std::uint64_t value, const void* mutex) {
    const std::uint32_t n = notes.load(std::memory_order_relaxed);
    if (n == kNotes) return;  // only ever a handful between two points
    note_value[n].store(value, std::memory_order_relaxed);
    note_mutex[n].store(mutex, std::memory_order_relaxed);
    notes.store(n + 1, std::memory_order_relaxed);
  }
  // Driver side.
  void wait_post() {
    while (posted.load(kTake) == 0) posted.wait(0, kTake);
    posted.store(0, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
};

namespace {

thread_local Controller::Worker* tl_worker = nullptr;

// Destroyed after every other thread_local the thread made (it is built
// first), so the allocator's exit notices run under control before it
// reports the thread gone.
struct GoneNotice {
  Controller::Worker* worker = nullptr;
  ~GoneNotice() {
    if (worker) worker->post(kExited);
  }
};
thread_local GoneNotice tl_gone;

}  // namespace

Controller::Controller(int threads, ControlledClient& client, Strategy& strategy, std::size_t max_steps)
    : client_(client), strategy_(strategy), max_steps_(max_steps) {
  for (int t = 0; t < threads; ++t) {
    workers_.push_back(std::make_unique<Worker>());
    workers_.back()->id = t;
  }
}

Controller::~Controller() {
  // Whatever still runs finishes uncontrolled (the caller uninstalled us),
  // then exits.
  for (auto& wp : workers_) {
    Worker& w = *wp;
    if (!w.os.joinable()) continue;
    if (w.state == State::idle || starting_ == w.id) w.job_in.store(kExitJob, std::memory_order_relaxed);
    for (;;) {
      grant(w);
      w.wait_post();
      const auto kind = static_cast<PostKind>(w.kind_in.load(std::memory_order_relaxed));
      if (kind == kExited) break;
      if (kind == kDone) w.job_in.store(kExitJob, std::memory_order_relaxed);
    }
    w.os.join();
  }
}

void Controller::serve(int thread) {
  Worker& w = *workers_[thread];
  tl_worker = &w;
  tl_gone.worker = &w;
  w.wait_turn();
  for (;;) {
    const std::uint32_t job = w.job_in.load(std::memory_order_relaxed);
    if (job == kExitJob) return;  // thread_local destructors run under control
    client_.run_job(thread, job);
    w.post(kDone);
    w.wait_turn();
  }
}

void Controller::spawn(int thread) {
  workers_[thread]->os = std::thread([this, thread] { serve(thread); });
}

void Controller::grant(Worker& w) {
  w.notes.store(0, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  w.turn.store(1, kPost);
  w.turn.notify_one();
}

void Controller::offer(int thread, std::uint32_t job, std::size_t age) {
  Worker& w = *workers_[thread];
  w.state = State::offered;
  w.job = job;
  w.age = age;
}

bool Controller::idle(int thread) const { return workers_[thread]->state == State::idle; }
bool Controller::alive(int thread) const { return workers_[thread]->os.joinable(); }

void Controller::absorb_notes(Worker& w) {
  const std::uint32_t n = w.notes.load(std::memory_order_relaxed);
  for (std::uint32_t i = 0; i < n; ++i) {
    if (const void* m = w.note_mutex[i].load(std::memory_order_relaxed)) {
      std::erase_if(holders_, [&](const auto& h) { return h.first == m; });
    } else if (w.last_step < steps_.size() && !steps_[w.last_step].result) {
      steps_[w.last_step].result = w.note_value[i].load(std::memory_order_relaxed);
    }
  }
}

std::size_t Controller::pick(const std::vector<int>& runnable) {
  if (runnable.size() == 1) return 0;
  Decision d;
  d.index = decisions_++;
  d.runnable = runnable;
  d.current = current_;
  std::size_t oldest = 0;
  for (std::size_t i = 0; i < runnable.size(); ++i) {
    if (runnable[i] == current_) d.current_runnable = true, d.fallback = i;
    if (workers_[runnable[i]]->age < workers_[runnable[oldest]]->age) oldest = i;
  }
  if (!d.current_runnable) d.fallback = oldest;
  const std::size_t chosen = std::min(strategy_.choose(d), runnable.size() - 1);
  if (d.current_runnable && runnable[chosen] != current_) ++preemptions_;
  return chosen;
}

Controller::Outcome Controller::run() {
  if (starting_ >= 0) {
    Worker& w = *workers_[std::exchange(starting_, -1)];
    w.job_in.store(w.job, std::memory_order_relaxed);
    grant(w);
    if (!w.os.joinable()) spawn(w.id);
  }
  for (;;) {
    if (current_ >= 0 && workers_[current_]->state == State::running) {
      Worker& w = *workers_[current_];
      w.wait_post();
      absorb_notes(w);
      switch (static_cast<PostKind>(w.kind_in.load(std::memory_order_relaxed))) {
        case kAtPoint:
          w.state = State::paused;
          w.point = w.point_in.load(std::memory_order_relaxed);
          w.object = w.object_in.load(std::memory_order_relaxed);
          w.arg = w.arg_in.load(std::memory_order_relaxed);
          break;
        case kDone:
          w.state = State::idle;
          return {Event::done, w.id};
        case kExited:
          w.os.join();
          w.state = State::idle;
          steps_.push_back({w.id, kPointGone, 0, std::nullopt, w.job, false, false});
          return {Event::exited, w.id};
      }
    }
    std::vector<int> runnable;
    bool any_paused = false;
    for (const auto& wp : workers_) {
      const Worker& w = *wp;
      if (w.state == State::offered) runnable.push_back(w.id);
      if (w.state != State::paused) continue;
      any_paused = true;
      const bool lock = w.point < hakmem::sched::kNumPoints &&
                        hakmem::sched::point_info(static_cast<Point>(w.point)).kind == PointKind::lock;
      const bool held =
          lock && std::ranges::any_of(holders_, [&](const auto& h) { return h.first == w.object; });
      if (!held) runnable.push_back(w.id);
    }
    if (runnable.empty()) return {any_paused ? Event::deadlock : Event::idle};
    if (steps_.size() >= max_steps_) return {Event::step_limit};
    const std::size_t before = preemptions_;
    const bool decision = runnable.size() > 1;
    Worker& w = *workers_[runnable[pick(runnable)]];
    const bool starting = w.state == State::offered;
    steps_.push_back({w.id, starting ? kPointJobBegin : w.point, starting ? w.job : w.arg, std::nullopt,
                      w.job, decision, preemptions_ != before});
    w.last_step = steps_.size() - 1;
    if (!starting && w.point < hakmem::sched::kNumPoints &&
        hakmem::sched::point_info(static_cast<Point>(w.point)).kind == PointKind::lock)
      holders_.emplace_back(w.object, w.id);
    w.state = State::running;
    current_ = w.id;
    if (starting) {
      starting_ = w.id;
      return {Event::started, w.id};
    }
    grant(w);
  }
}

std::string Controller::blocked_report() const {
  std::string out;
  for (const auto& wp : workers_) {
    if (wp->state != State::paused) continue;
    int holder = -1;
    for (const auto& [m, t] : holders_)
      if (m == wp->object) holder = t;
    out += "t" + std::to_string(wp->id) + " at " + point_name(wp->point) +
           (holder >= 0 ? " waits for t" + std::to_string(holder) : std::string()) + "; ";
  }
  return out;
}

void Controller::at(Point p, const void* object, std::uint64_t arg) {
  if (Worker* w = tl_worker) {
    w->post(kAtPoint, static_cast<int>(p), object, arg);
    w->wait_turn();
  }
}

void Controller::result(Point, std::uint64_t value) {
  if (Worker* w = tl_worker) w->note(value, nullptr);
}

void Controller::released(const void* mutex) {
  if (Worker* w = tl_worker) w->note(0, mutex);
}

}  // namespace hakfuzz
