// The OS threads every multi-threaded run borrows: one per logical thread,
// made once and kept. Creating a thread costs ASan about 1.2 ms here (a
// fresh per-thread allocator cache whose refill faults in pages, and an
// unmap whose TLB flush interrupts the other core at its end), more than a
// whole fuzz input or interleaving. The baton team (exec/team.h) and the
// scheduler (exec/scheduler.h) both run a long task on each seat they use
// and end it when their run ends; to the allocator a task's end is the
// thread's exit (PoolUnderTest::end_current_thread, the code a thread exit
// runs), and the next task on that OS thread is a new thread.
//
// A launch and a task's end synchronise (release/acquire), as a thread's
// creation and its join would: everything before the launch happens before
// the task, and the task before whoever waited for its end.
//
// A task may stay on its seat after its run (a resident: the baton team's
// loop waits for the next team's jobs in its seat's mailbox, which
// outlives the team); launching another task on that seat evicts it first.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "program/program.h"

namespace hakfuzz {

class Crew {
 public:
  using Task = void (*)(void* context, int seat);
  // Makes a resident task return (it posts to the seat's mailbox).
  using Evict = void (*)(Crew& crew, int seat);
  // A seat's mailbox, for a resident and its users: outlives every run.
  struct Mailbox {
    std::atomic<std::uint32_t> job{0};
    std::atomic<std::size_t> size{0};
    std::atomic<void*> ptr{nullptr};
    std::atomic<std::uint64_t> outcome{0};
    void* user = nullptr;  // whom the resident serves now; published by a synchronising post
  };

  // An idle crew, or a new one; give it back when the run is over.
  static Crew* borrow();
  static void give_back(Crew* crew);
  // Its threads are parked for good (a deadlocked run holds locks on them):
  // never lent again.
  static void abandon(Crew* crew);

  // Runs task(context, seat) on the seat's thread, after evicting a resident
  // (`evict` given: the task may stay resident); returns at once. Any thread
  // may launch, one at a time per seat.
  void launch(int seat, Task task, void* context, Evict evict = nullptr);
  // The seat runs `task` now (a resident, or a task of the caller's run).
  bool runs(int seat, Task task) const {
    return seats_[seat].state.load(std::memory_order_acquire) == kLaunched && seats_[seat].task == task;
  }
  Mailbox& mailbox(int seat) { return seats_[seat].mailbox; }
  // Waits until the seat's task has returned.
  void await_idle(int seat);
  // Ends the seat's OS thread for real (its thread_local destructors, the
  // allocator's exit notices among them, run) once its task returned; the
  // next launch makes a new one.
  void retire(int seat);
  bool busy(int seat) const { return seats_[seat].state.load(std::memory_order_relaxed) != kIdle; }
  // The calling thread is the seat's.
  bool on_seat(int seat) const {
    return seats_[seat].id.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }

 private:
  enum : std::uint32_t { kIdle, kLaunched, kQuit };
  struct Seat {
    std::thread thread;                 // started on its first launch
    std::atomic<std::thread::id> id{};  // set by the thread itself
    std::atomic<std::uint32_t> state{kIdle};
    Task task = nullptr;
    void* context = nullptr;
    Evict evict = nullptr;
    Mailbox mailbox;
  };
  struct Registry;
  static Registry& registry();
  static void serve(Seat& seat, int index);
  ~Crew();

  Seat seats_[kMaxThreads];
};

}  // namespace hakfuzz
