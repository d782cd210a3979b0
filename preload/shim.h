// What the shim's parts share: shim.cpp (routing, start-up, fork, the C
// entry points), recorder.cpp (`hakfuzz record`'s stream) and reporter.cpp
// (`hakfuzz run`'s report). The pool as bound at start-up, its state, this
// thread's flags, and the fork gate every pool call passes. All of it is
// hidden inside libhakmem_preload.so, which exports the malloc family only.
#pragma once

#include <sched.h>

#include <atomic>
#include <cstddef>
#include <string>

#include "hakmem/types.h"
#include "support/fd_io.h"

namespace hakmem::preload {

// The calls the shim makes into the pool, bound to one flavour at start-up.
struct Backend {
  void* (*alloc)(std::size_t);
  FreeOutcome (*free)(void*);
  std::size_t (*usable)(const void*);
  bool (*in_arena)(const void*);
  bool (*is_large)(const void*);
  bool (*is_v2)(const void*);
  void (*collect)();
  InvariantReport (*check)();
  Census (*census)();
  StatsSnapshot (*stats)();
  void (*prepare_fork)();
  void (*after_fork)();
  Config config;
  const char* flavour;
};

enum : int { kDown = 0, kStarting = 1, kUp = 2 };
extern std::atomic<int> g_state;
extern constinit Backend g_pool;

// Depth of pool calls on this thread: allocations inside one go to the C
// library, and free skips the large registry (whose lock may be held).
// constinit on the declarations too: without it every access from another
// file would go through a TLS wrapper call.
extern __attribute__((tls_model("initial-exec"))) constinit thread_local int t_in_pool;
// Set once this thread's thread_local destructors have begun.
extern __attribute__((tls_model("initial-exec"))) constinit thread_local bool t_exiting;

// ---------------------------------------------------------------- fork gate
// The pool's locks alone do not make fork() safe: v2's owner paths take no
// lock, so a thread stopped mid-free at the fork leaves the child a block or
// a page in transit that no thread of the child will ever finish (a lost
// page, which the child's walk reports). So fork waits until no thread is
// inside the pool: every outermost pool call counts itself in, then checks
// that no fork is closing the gate (a seq_cst Dekker pair with gate_close).
extern std::atomic<long> g_gate_busy;
extern std::atomic<bool> g_forking;

inline void gate_enter() {
  for (;;) {
    g_gate_busy.fetch_add(1, std::memory_order_seq_cst);
    if (!g_forking.load(std::memory_order_seq_cst)) [[likely]]
      return;
    g_gate_busy.fetch_sub(1, std::memory_order_release);
    while (g_forking.load(std::memory_order_acquire)) ::sched_yield();
  }
}

inline void gate_exit() { g_gate_busy.fetch_sub(1, std::memory_order_release); }

// The forking thread: no thread is inside the pool when this returns.
inline void gate_close() {
  g_forking.store(true, std::memory_order_seq_cst);
  while (g_gate_busy.load(std::memory_order_seq_cst) != 0) ::sched_yield();
}

inline void gate_open() { g_forking.store(false, std::memory_order_release); }

struct InPool {
  InPool() {
    if (t_in_pool++ == 0) gate_enter();
  }
  ~InPool() {
    if (--t_in_pool == 0) gate_exit();
  }
  InPool(const InPool&) = delete;
  InPool& operator=(const InPool&) = delete;
};

// ---------------------------------------------------------------- start-up
// "hakmem preload: WHAT" on stderr and exit 2: the process cannot start
// on the pool it was asked for.
[[noreturn]] void fail_start(const char* what);

inline void write_str(int fd, const std::string& s) { support::write_all(fd, s.data(), s.size()); }

}  // namespace hakmem::preload
