#include "exec/scheduler.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "support/baton.h"
#include "support/sanitizer.h"

namespace hakfuzz {

namespace {

using hakmem::sched::Point;
using hakmem::sched::PointKind;

// Relaxed under TSan: the hand-off must not synchronise (see scheduler.h).
constexpr std::memory_order kPost = support::kBatonPost;
constexpr std::memory_order kTake = support::kBatonTake;

enum PostKind : std::uint8_t { kAtPoint, kDecided, kDone, kExited };

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

bool dependent(const Access& a, const Access& b) {
  if (a.point >= hakmem::sched::kNumPoints || b.point >= hakmem::sched::kNumPoints) return false;
  const PointKind ka = hakmem::sched::point_info(static_cast<Point>(a.point)).kind;
  const PointKind kb = hakmem::sched::point_info(static_cast<Point>(b.point)).kind;
  auto memory = [](PointKind k) {
    return k == PointKind::load || k == PointKind::store || k == PointKind::rmw;
  };
  if (memory(ka) && memory(kb))
    return a.object == b.object && !(ka == PointKind::load && kb == PointKind::load);
  if (ka != kb) return false;
  return ka == PointKind::lock ? a.object == b.object : true;  // os with os, exit with exit
}

std::string describe_step(const Step& s) {
  std::string line = "t" + std::to_string(s.thread) + " " + point_name(s.point);
  if (s.point == kPointJobBegin)
    line += s.arg == Scheduler::kExitJob ? " exit" : " op " + std::to_string(s.arg);
  else
    line += describe_arg(s.point, s.arg);
  if (s.result) {
    char hex[24];
    std::snprintf(hex, sizeof hex, " -> 0x%llx", static_cast<unsigned long long>(*s.result));
    line += hex;
  }
  if (s.stale_read) {
    auto store = [](int thread, std::size_t step) {
      return thread < 0 ? std::string("its initial value")
                        : "the store of t" + std::to_string(thread) + " step " + std::to_string(step);
    };
    line += " (reads " + store(s.stale_read->thread, s.stale_read->step) + ", not " +
            store(s.stale_read->latest_thread, s.stale_read->latest_step) +
            (s.stale_read->buffered
                 ? ", still in t" + std::to_string(s.stale_read->latest_thread) + "'s store buffer)"
                 : ")");
  }
  if (s.preemption) line += "  (preemption)";
  return line;
}

struct Scheduler::Worker {
  int id = 0;
  bool launched = false;  // its task runs on the crew
  // The scheduler's view; only the baton's holder touches it.
  State state = State::idle;
  std::uint32_t job = 0;
  std::size_t age = 0;
  int point = 0;
  const void* object = nullptr;
  std::uint64_t arg = 0;
  std::size_t last_step = SIZE_MAX;

  // Crossing threads: the baton, the job, and (under TSan) what the thread
  // noted since it last posted: results and lock releases.
  std::atomic<std::uint32_t> turn{0};
  std::atomic<std::uint32_t> job_in{0};
  static constexpr std::uint32_t kNotes = 64;
  std::atomic<std::uint32_t> notes{0};
  std::atomic<std::uint64_t> note_value[kNotes] = {};
  std::atomic<const void*> note_mutex[kNotes] = {};

  void wait_turn() {
    while (turn.load(kTake) == 0) support::baton_wait(turn, 0u, kTake);
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
};

namespace {

bool is_lock(int point) {
  return point < hakmem::sched::kNumPoints &&
         hakmem::sched::point_info(static_cast<Point>(point)).kind == PointKind::lock;
}

// Outside TSan a thread decides at its own points (see scheduler.h).
constexpr bool kDecideOnThreads = !support::kTsanBuild;

thread_local Scheduler::Worker* tl_worker = nullptr;
thread_local Scheduler* tl_scheduler = nullptr;

}  // namespace

void Scheduler::post_driver(std::uint8_t kind, int thread, int point, const void* object, std::uint64_t arg) {
  post_kind_.store(kind, std::memory_order_relaxed);
  post_thread_.store(thread, std::memory_order_relaxed);
  post_point_.store(point, std::memory_order_relaxed);
  post_object_.store(object, std::memory_order_relaxed);
  post_arg_.store(arg, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  posted_.store(1, kPost);
  support::baton_wake(posted_);
}

void Scheduler::wait_driver() {
  while (posted_.load(kTake) == 0) support::baton_wait(posted_, 0u, kTake);
  posted_.store(0, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

Scheduler::Scheduler(int threads, ScheduledClient& client, PickRule& rule, std::size_t max_steps,
                     MemoryKind memory, Weakening weaken, int history)
    : client_(client),
      rule_(rule),
      max_steps_(max_steps),
      crew_(Crew::borrow()),
      memory_(threads, kModelsMemory ? memory : MemoryKind::sc, history),
      weaken_(weaken),
      orders_written_(hakmem::sched::kNumPoints, 0) {
  for (int t = 0; t < threads; ++t) {
    workers_.push_back(std::make_unique<Worker>());
    workers_.back()->id = t;
  }
}

Scheduler::~Scheduler() {
  if (deadlocked_) {
    // The paused threads hold locks in a cycle: released, they would block
    // for good. They stay parked on their baton instead, their mailboxes
    // kept alive with them; the caller leaks what they reference.
    Crew::abandon(crew_);
    static std::vector<std::unique_ptr<Worker>>* parked = new std::vector<std::unique_ptr<Worker>>;
    for (auto& wp : workers_) parked->push_back(std::move(wp));
    return;
  }
  // Whatever still runs finishes uncontrolled (the caller uninstalled us),
  // then exits, after whatever the driver did last (its checks).
  support::tsan_release(&job_edge_);
  for (auto& wp : workers_) {
    Worker& w = *wp;
    if (!w.launched) continue;
    if (w.state == State::idle || starting_ == w.id) w.job_in.store(kExitJob, std::memory_order_relaxed);
    for (;;) {
      grant(w);
      wait_driver();
      const auto kind = static_cast<PostKind>(post_kind_.load(std::memory_order_relaxed));
      if (kind == kExited) break;
      if (kind == kDone) w.job_in.store(kExitJob, std::memory_order_relaxed);
    }
    crew_->await_idle(w.id);
  }
  Crew::give_back(crew_);
}

void Scheduler::serve(int thread) {
  Worker& w = *workers_[thread];
  tl_worker = &w;
  tl_scheduler = this;
  w.wait_turn();
  for (;;) {
    const std::uint32_t job = w.job_in.load(std::memory_order_relaxed);
    support::tsan_acquire(&job_edge_);
    if (job == kExitJob) {
      // The thread's exit, as the allocator sees it, under control.
      client_.end_thread(thread);
      tl_worker = nullptr;
      tl_scheduler = nullptr;
      post_driver(kExited, thread);
      return;
    }
    client_.run_job(thread, job);
    support::tsan_release(&w);
    post_driver(kDone, thread);
    w.wait_turn();
  }
}

void Scheduler::spawn(int thread) {
  workers_[thread]->launched = true;
  crew_->launch(
      thread, [](void* self, int seat) { static_cast<Scheduler*>(self)->serve(seat); }, this);
}

void Scheduler::grant(Worker& w) {
  w.notes.store(0, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  w.turn.store(1, kPost);
  support::baton_wake(w.turn);
}

void Scheduler::offer(int thread, std::uint32_t job, std::size_t age) {
  Worker& w = *workers_[thread];
  w.state = State::offered;
  w.job = job;
  w.age = age;
}

bool Scheduler::idle(int thread) const { return workers_[thread]->state == State::idle; }
bool Scheduler::alive(int thread) const { return workers_[thread]->launched; }

void Scheduler::absorb_notes(Worker& w) {
  const std::uint32_t n = w.notes.load(std::memory_order_relaxed);
  for (std::uint32_t i = 0; i < n; ++i) {
    if (const void* m = w.note_mutex[i].load(std::memory_order_relaxed)) {
      std::erase_if(holders_, [&](const auto& h) { return h.first == m; });
    } else if (w.last_step < steps_.size() && !steps_[w.last_step].result) {
      steps_[w.last_step].result = w.note_value[i].load(std::memory_order_relaxed);
    }
  }
}

Scheduler::Pick Scheduler::choose() {
  std::vector<int> runnable;
  bool any_paused = false;
  for (const auto& wp : workers_) {
    const Worker& w = *wp;
    if (w.state == State::offered) runnable.push_back(w.id);
    if (w.state != State::paused) continue;
    any_paused = true;
    const bool held =
        is_lock(w.point) && std::ranges::any_of(holders_, [&](const auto& h) { return h.first == w.object; });
    if (!held) runnable.push_back(w.id);
  }
  Pick pk;
  if (runnable.empty()) {
    pk.stop_event = any_paused ? Event::deadlock : Event::idle;
    return pk;
  }
  if (steps_.size() >= max_steps_) {
    pk.stop_event = Event::step_limit;
    return pk;
  }
  std::size_t chosen = 0;
  if (runnable.size() > 1) {
    std::vector<Access> pending;
    for (int t : runnable) {
      const Worker& w = *workers_[t];
      pending.push_back(w.state == State::offered
                            ? Access{kPointJobBegin, 0}
                            : Access{w.point, reinterpret_cast<std::uintptr_t>(w.object)});
    }
    Decision d = next_decision(runnable, pending);
    std::size_t oldest = 0;
    for (std::size_t i = 0; i < runnable.size(); ++i) {
      if (runnable[i] == current_) d.current_runnable = true, d.fallback = i;
      if (workers_[runnable[i]]->age < workers_[runnable[oldest]]->age) oldest = i;
    }
    if (!d.current_runnable) d.fallback = oldest;
    chosen = std::min(rule_.choose(d), runnable.size() - 1);
    pk.decision = true;
    pk.preemption = d.current_runnable && runnable[chosen] != current_;
    preemptions_ += pk.preemption;
  }
  pk.thread = runnable[chosen];
  pk.kind = workers_[pk.thread]->state == State::offered ? Pick::start : Pick::resume;
  return pk;
}

void Scheduler::commit(Worker& w, const Pick& pk) {
  const bool starting = pk.kind == Pick::start;
  steps_.push_back({w.id, starting ? kPointJobBegin : w.point, starting ? w.job : w.arg, std::nullopt, w.job,
                    pk.decision, pk.preemption, starting ? 0 : reinterpret_cast<std::uintptr_t>(w.object),
                    std::nullopt});
  w.last_step = steps_.size() - 1;
  if (!starting && is_lock(w.point)) holders_.emplace_back(w.object, w.id);
  if constexpr (kModelsMemory) {
    if (starting) {
      memory_.job_begins(w.id);
      steps_.back().knows = memory_.clock_digest(w.id);
    } else if (is_lock(w.point))
      memory_.acquired(w.id, w.object);  // it takes the mutex before its next point
  }
  w.state = State::running;
  current_ = w.id;
}

Scheduler::Outcome Scheduler::run() {
  if (starting_ >= 0) {
    Worker& w = *workers_[std::exchange(starting_, -1)];
    w.job_in.store(w.job, std::memory_order_relaxed);
    support::tsan_release(&job_edge_);
    grant(w);
    if (!w.launched) spawn(w.id);
    waiting_ = true;
  }
  for (;;) {
    if (waiting_) {
      wait_driver();
      waiting_ = false;
      Worker& w = *workers_[post_thread_.load(std::memory_order_relaxed)];
      absorb_notes(w);
      switch (static_cast<PostKind>(post_kind_.load(std::memory_order_relaxed))) {
        case kAtPoint:
          w.state = State::paused;
          w.point = post_point_.load(std::memory_order_relaxed);
          w.object = post_object_.load(std::memory_order_relaxed);
          w.arg = post_arg_.load(std::memory_order_relaxed);
          break;
        case kDecided:
          break;  // the thread paused itself and left its pick in decided_
        case kDone:
          support::tsan_acquire(&w);
          w.state = State::idle;
          memory_.job_ends(w.id);
          return {Event::done, w.id};
        case kExited:
          memory_.job_ends(w.id);
          crew_->await_idle(w.id);
          w.launched = false;
          w.state = State::idle;
          steps_.push_back({w.id, kPointGone, 0, std::nullopt, w.job, false, false, 0, std::nullopt});
          return {Event::exited, w.id};
      }
    }
    const Pick pk = decided_ ? *std::exchange(decided_, std::nullopt) : choose();
    if (pk.kind == Pick::stop) {
      deadlocked_ = pk.stop_event == Event::deadlock;
      return {pk.stop_event};
    }
    Worker& next = *workers_[pk.thread];
    commit(next, pk);
    if (pk.kind == Pick::start) {
      starting_ = next.id;
      return {Event::started, next.id};
    }
    grant(next);
    waiting_ = true;
  }
}

std::string Scheduler::blocked_report() const {
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

void Scheduler::at(Point p, const void* object, std::uint64_t arg) {
  Worker* w = tl_worker;
  if (!w || tl_scheduler != this) return;
  if constexpr (kDecideOnThreads) {
    w->state = State::paused;
    w->point = static_cast<int>(p);
    w->object = object;
    w->arg = arg;
    const Pick pk = choose();
    if (pk.kind == Pick::resume) {
      Worker& next = *workers_[pk.thread];
      commit(next, pk);
      if (&next == w) return;  // goes on: no switch at all
      grant(next);
      w->wait_turn();
      return;
    }
    decided_ = pk;  // a job starts, or nothing can run: the driver's business
    post_driver(kDecided, w->id);
  } else {
    post_driver(kAtPoint, w->id, static_cast<int>(p), object, arg);
  }
  w->wait_turn();
}

void Scheduler::result(Point, std::uint64_t value) {
  Worker* w = tl_worker;
  if (!w || tl_scheduler != this) return;
  if constexpr (kDecideOnThreads) {
    if (w->last_step < steps_.size() && !steps_[w->last_step].result) steps_[w->last_step].result = value;
  } else {
    w->note(value, nullptr);
  }
}

void Scheduler::released(const void* mutex) {
  Worker* w = tl_worker;
  if (!w || tl_scheduler != this) return;
  if constexpr (kDecideOnThreads) {
    std::erase_if(holders_, [&](const auto& h) { return h.first == mutex; });
    memory_.released(w->id, mutex);
  } else {
    w->note(0, mutex);
  }
}

Decision Scheduler::next_decision(std::span<const int> runnable, std::span<const Access> pending) {
  Decision d;
  d.index = decisions_++;
  d.runnable = runnable;
  d.pending = pending;
  d.steps = steps_;
  d.current = current_;
  if (kModelsMemory) d.memory = &memory_;
  return d;
}

std::size_t Scheduler::choose_store(std::size_t stores) {
  std::vector<int> indices(stores);
  for (std::size_t i = 0; i < stores; ++i) indices[i] = static_cast<int>(i);
  const std::vector<Access> pending(stores);
  Decision d = next_decision(indices, pending);
  d.current_runnable = true;
  d.fallback = stores - 1;
  d.reads_from = true;
  const std::size_t chosen = std::min(rule_.choose(d), stores - 1);
  preemptions_ += chosen != stores - 1;
  return chosen;
}

std::memory_order Scheduler::model_order(const Worker& w, std::memory_order written) {
  if (w.point < 0 || w.point >= hakmem::sched::kNumPoints) return written;
  orders_written_[static_cast<std::size_t>(w.point)] |=
      static_cast<std::uint8_t>(1u << static_cast<int>(written));
  return w.point == weaken_.point ? weakened(written, weaken_.order) : written;
}

std::uint64_t Scheduler::loaded(const void* location, std::uint64_t value, std::memory_order order,
                                bool latest) {
  Worker* w = tl_worker;
  if (!kModelsMemory || !w || tl_scheduler != this) return value;
  order = model_order(*w, order);
  if (latest) memory_.fence(w->id);  // a failed compare-exchange is a locked instruction
  const std::vector<MemoryModel::StoreRef> stores = memory_.readable(w->id, location, value, order);
  const std::size_t chosen = stores.size() > 1 && !latest ? choose_store(stores.size()) : stores.size() - 1;
  memory_.load(w->id, location, chosen, order);
  if (chosen + 1 != stores.size() && w->last_step < steps_.size() && !steps_[w->last_step].stale_read)
    steps_[w->last_step].stale_read =
        Step::StaleRead{stores[chosen].thread, stores.back().thread, stores[chosen].step, stores.back().step,
                        memory_.kind() == MemoryKind::tso};
  return stores[chosen].value;
}

void Scheduler::stored(const void* location, std::uint64_t before, std::uint64_t value,
                       std::memory_order order) {
  Worker* w = tl_worker;
  if (!kModelsMemory || !w || tl_scheduler != this) return;
  memory_.store(w->id, location, before, value, model_order(*w, order), w->last_step);
}

void Scheduler::exchanged(const void* location, std::uint64_t read, std::uint64_t written,
                          std::memory_order order) {
  Worker* w = tl_worker;
  if (!kModelsMemory || !w || tl_scheduler != this) return;
  memory_.rmw(w->id, location, read, written, model_order(*w, order), w->last_step);
}

}  // namespace hakfuzz
