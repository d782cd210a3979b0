// libhakmem_preload.so: the C allocator's entry points on one process-wide
// pool, for unmodified programs (LD_PRELOAD=.../libhakmem_preload.so PROGRAM).
//
// Routing. Requests of more than kRouteMin bytes up to 52 KiB go to the
// pool's classes, from kLargeMin on to its large path; the rest, and every
// request made while the pool itself is running (its own containers) or
// before it is up, go to the C library's allocator through the __libc_*
// entry points, never through dlsym. free() asks the pool whether a pointer
// is its own: inside the arena (a range compare), or a page-aligned live
// block of the large registry; anything else is the C library's.
//
// Start-up. The pool is built on the first routed request or by the
// library's constructor, whichever comes first, with the environment of
// that moment (HAKMEM_POOL_V2_STATS=1 picks the stats-compiled-in flavour,
// so the table it prints at exit has counts; otherwise stats_off). A
// malformed flag is an error naming it: the process exits 2. While one
// thread builds the pool, every thread allocates from the C library.
//
// Threads. A thread's first v2 block registers it with the pool, whose exit
// hook orphans the thread's pages; a later thread_local of this library
// (armed after that first block, so its destructor runs first) sends the
// exit hook's own allocations to the C library.
//
// fork(). pthread_atfork handlers wait until no thread is inside a pool
// call (the fork gate below) and hold every pool lock across fork()
// (Pool::prepare_fork); the child keeps every block, and the pages of the
// threads that did not survive the fork stay with their contexts, like
// those of threads that never exit.
//
// For `hakfuzz record` (preload/recording.h): with HAKFUZZ_PRELOAD_RECORD=DIR,
// every pool alloc, free and realloc, and each recording thread's start and
// exit, is appended to DIR/<pid>.rec, without allocating.
//
// For `hakfuzz run` (preload/report.h): with HAKFUZZ_PRELOAD_REPORT=DIR,
// rejected frees are written with a backtrace as they happen, and at exit
// the invariant walk, the census and the counts; with
// HAKFUZZ_PRELOAD_WALK_SIGNAL=N, signal N asks for a walk at the next pool
// call.
#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <string>

#include "hakmem/variants.h"
#include "preload/recording.h"
#include "preload/report.h"
#include "support/fd_io.h"
#include "support/parse.h"

#define HAKMEM_EXPORT extern "C" __attribute__((visibility("default")))

extern "C" {
void* __libc_malloc(std::size_t);
void __libc_free(void*);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void* __libc_pvalloc(std::size_t);
}

namespace hakmem::preload {
namespace {

// Requests above 1 KiB go to the pool's classes: its smallest class (2 KiB)
// then wastes at most half a block, as its classes do. From 128 KiB (glibc's
// default mmap threshold) requests take the pool's large path, one mapping
// each, as glibc's would. Between 52 and 128 KiB they stay with glibc's
// heap: one mapping and unmapping per block there made a larson-style run
// 30x slower than glibc (TLB shootdowns across its threads).
constexpr std::size_t kRouteMin = 1024;
constexpr std::size_t kLargeMin = 128 * 1024;
constexpr std::size_t kClassAlign = 64;  // every class block start (geometry.h: a 64-byte header)
constexpr std::size_t kOsPage = 4096;    // large blocks start on a page

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

template <class P>
struct Bound {
  alignas(P) static inline unsigned char storage[sizeof(P)];
  static P& pool() { return *std::launder(reinterpret_cast<P*>(storage)); }
  static Backend make() {
    ::new (storage) P(PoolOptions{});  // never destroyed: blocks outlive every destructor
    return Backend{
        [](std::size_t n) { return pool().alloc(n); },
        [](void* p) { return pool().free(p); },
        [](const void* p) { return pool().usable_size(p); },
        [](const void* p) { return pool().arena_offset(p).has_value(); },
        [](const void* p) { return pool().block_info(p).kind == BlockKind::large; },
        [](const void* p) { return pool().block_info(p).kind == BlockKind::v2; },
        [] { pool().collect(); },
        [] { return pool().check(); },
        [] { return pool().census(); },
        [] { return pool().stats(); },
        [] { pool().prepare_fork(); },
        [] { pool().after_fork(); },
        pool().config(),
        P::kFlavorName,
    };
  }
};

enum : int { kDown = 0, kStarting = 1, kUp = 2 };
std::atomic<int> g_state{kDown};
constinit Backend g_pool{};
std::size_t (*g_libc_usable)(void*) = nullptr;

// Depth of pool calls on this thread: allocations inside one go to the C
// library, and free skips the large registry (whose lock may be held).
__attribute__((tls_model("initial-exec"))) constinit thread_local int t_in_pool = 0;
// Set once this thread's thread_local destructors have begun.
__attribute__((tls_model("initial-exec"))) constinit thread_local bool t_exiting = false;
__attribute__((tls_model("initial-exec"))) constinit thread_local bool t_armed = false;

struct ExitHook {
  bool armed = false;
  ~ExitHook() { t_exiting = true; }
};
thread_local ExitHook t_exit_hook;

// ---------------------------------------------------------------- fork gate
// The pool's locks alone do not make fork() safe: v2's owner paths take no
// lock, so a thread stopped mid-free at the fork leaves the child a block or
// a page in transit that no thread of the child will ever finish (a lost
// page, which the child's walk reports). So fork waits until no thread is
// inside the pool: every outermost pool call counts itself in, then checks
// that no fork is closing the gate (a seq_cst Dekker pair with gate_close).
std::atomic<long> g_gate_busy{0};
std::atomic<bool> g_forking{false};

void gate_enter() {
  for (;;) {
    g_gate_busy.fetch_add(1, std::memory_order_seq_cst);
    if (!g_forking.load(std::memory_order_seq_cst)) [[likely]]
      return;
    g_gate_busy.fetch_sub(1, std::memory_order_release);
    while (g_forking.load(std::memory_order_acquire)) ::sched_yield();
  }
}

void gate_exit() { g_gate_busy.fetch_sub(1, std::memory_order_release); }

// The forking thread: no thread is inside the pool when this returns.
void gate_close() {
  g_forking.store(true, std::memory_order_seq_cst);
  while (g_gate_busy.load(std::memory_order_seq_cst) != 0) ::sched_yield();
}

void gate_open() { g_forking.store(false, std::memory_order_release); }

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

// ---------------------------------------------------------------- report
bool g_reporting = false;
// Blocks made before this library's constructor ran (libstdc++'s emergency
// exception pool, above all): kept for the process's life by design, so the
// exit report counts those still live apart from the program's own.
bool g_loaded = false;
constexpr int kMaxStartupBlocks = 32;
void* g_startup[kMaxStartupBlocks];
std::atomic<int> g_startup_count{0};
int g_report_fd = -1;
char g_report_dir[1024];
std::atomic<bool> g_walk_requested{false};
std::atomic<std::uint64_t> g_allocs{0}, g_frees{0}, g_foreign_frees{0}, g_rejected{0};

using support::write_all;
void write_str(int fd, const std::string& s) { write_all(fd, s.data(), s.size()); }

void open_report(bool forked) {
  char path[1200];
  std::snprintf(path, sizeof path, "%s/%ld.report", g_report_dir, static_cast<long>(::getpid()));
  g_report_fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (g_report_fd < 0) return;
  char exe[1024];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = '\0';
  write_str(g_report_fd, "start pid=" + std::to_string(::getpid()) + " ppid=" + std::to_string(::getppid()) +
                             " forked=" + (forked ? "1" : "0") + " flavour=" + g_pool.flavour +
                             " config=" + g_pool.config.describe() + " exe=" + exe + "\n");
}

// Threads of this process, from /proc (no allocation).
int thread_count() {
  int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char* t = std::strstr(buf, "\nThreads:");
  return t ? std::atoi(t + 9) : -1;
}

// The walk and the census, at a point where no other thread runs.
void walk(const char* when) {
  if (g_report_fd < 0) return;
  InPool guard;
  const int threads = thread_count();
  std::string line = std::string("walk when=") + when + " threads=" + std::to_string(threads);
  if (threads != 1) {
    write_str(g_report_fd, line + " skipped=1\n");
    return;
  }
  g_pool.collect();
  const InvariantReport r = g_pool.check();
  int startup_live = 0, startup_large = 0;
  for (int i = 0; i < std::min(g_startup_count.load(), kMaxStartupBlocks); ++i)
    if (g_pool.usable(g_startup[i])) ++startup_live, startup_large += g_pool.is_large(g_startup[i]);
  line += " startup_live=" + std::to_string(startup_live) + " startup_large=" + std::to_string(startup_large);
  line += " ok=" + std::string(r.ok ? "1" : "0") + " live_blocks=" + std::to_string(r.live_blocks) +
          " live_bytes=" + std::to_string(r.live_bytes) +
          " remote_pending=" + std::to_string(r.remote_pending);
  if (!r.ok) line += " error=" + r.first_error;
  write_str(g_report_fd, line + "\n");
  const Census c = g_pool.census();
  std::string out = "census cached=" + std::to_string(c.cached_blocks) +
                    " remote_pending=" + std::to_string(c.remote_pending) +
                    " large_blocks=" + std::to_string(c.large_blocks) +
                    " large_bytes=" + std::to_string(c.large_bytes) + "\n";
  for (const SlabCensus& s : c.slabs) out += "slab " + format_slab(s) + "\n";
  write_str(g_report_fd, out);
}

void on_walk_signal(int) { g_walk_requested.store(true, std::memory_order_relaxed); }

void report_rejection(void* p, const FreeOutcome& out) {
  g_rejected.fetch_add(1, std::memory_order_relaxed);
  if (g_report_fd < 0) return;
  void* frames[48];
  const int n = ::backtrace(frames, 48);
  char line[256];
  std::snprintf(line, sizeof line, "reject ptr=%p reason=%s cls=%d frames=%d\n", p, verdict_name(out.reason),
                out.cls, n);
  write_all(g_report_fd, line, std::strlen(line));
  ::backtrace_symbols_fd(frames, n, g_report_fd);
}

// ---------------------------------------------------------------- start-up
[[noreturn]] void fail_start(const char* what);

// ---------------------------------------------------------------- record
// One O_APPEND descriptor, one write(2) per 32-byte event. The address ->
// block-index map is an open-addressing table (linear probing, tombstones)
// in its own mapping, sized at twice the cap so it never fills: at most
// `cap` blocks are ever inserted. One spinlock orders the map and the
// sequence numbers: a free takes its number before the pool frees the
// block, an alloc after the pool handed it out, so a block handed out again
// always follows the free that released it.
int g_record_fd = -1;
std::uint64_t g_record_max = 0;
std::atomic<std::uint64_t> g_record_seq{0};
std::atomic<std::uint32_t> g_record_threads{0};
std::atomic<bool> g_record_on{false};
std::atomic_flag g_record_lock = ATOMIC_FLAG_INIT;
struct Slot {
  std::uintptr_t key;  // 0 empty, 1 tombstone
  std::uint64_t index;
};
Slot* g_record_map = nullptr;
std::size_t g_record_mask = 0;
__attribute__((tls_model("initial-exec"))) constinit thread_local std::uint32_t t_record_thread = 0;

void record_write(RecordKind kind, std::uint64_t seq, std::uint64_t size, std::uint64_t ref,
                  std::uint32_t thread) {
  RecordEvent e;
  e.seq = seq;
  e.size = size;
  e.ref = ref;
  e.thread = thread;
  e.kind = kind;
  write_all(g_record_fd, &e, sizeof e);
}

// The next sequence number, or nullopt past the cap (the first past it
// writes the `truncated` event and stops the recording).
std::optional<std::uint64_t> record_seq() {
  const std::uint64_t seq = g_record_seq.fetch_add(1, std::memory_order_relaxed);
  if (seq < g_record_max) [[likely]]
    return seq;
  if (seq == g_record_max) {
    g_record_on.store(false, std::memory_order_relaxed);
    record_write(RecordKind::truncated, seq, 0, kNoBlock, 0);
  }
  return std::nullopt;
}

struct RecordThreadExit {
  bool armed = false;
  ~RecordThreadExit() {
    if (t_record_thread == 0 || !g_record_on.load(std::memory_order_relaxed)) return;
    if (std::optional<std::uint64_t> seq = record_seq())
      record_write(RecordKind::thread_exit, *seq, 0, kNoBlock, t_record_thread);
    t_record_thread = 0;
  }
};
thread_local RecordThreadExit t_record_exit;

// This thread's recording number; the first call numbers it and writes its start.
std::uint32_t record_thread() {
  if (t_record_thread) [[likely]]
    return t_record_thread;
  t_record_thread = g_record_threads.fetch_add(1, std::memory_order_relaxed) + 1;
  if (!t_exiting) t_record_exit.armed = true;  // registers the destructor (glibc's calloc)
  if (std::optional<std::uint64_t> seq = record_seq())
    record_write(RecordKind::thread_start, *seq, static_cast<std::uint64_t>(::syscall(SYS_gettid)), kNoBlock,
                 t_record_thread);
  return t_record_thread;
}

struct RecordLock {
  RecordLock() {
    while (g_record_lock.test_and_set(std::memory_order_acquire)) ::sched_yield();
  }
  ~RecordLock() { g_record_lock.clear(std::memory_order_release); }
  RecordLock(const RecordLock&) = delete;
  RecordLock& operator=(const RecordLock&) = delete;
};

std::size_t record_hash(std::uintptr_t p) { return (p >> 4) * 0x9E3779B97F4A7C15ull >> 20; }

// The slot holding p, or nullptr.
Slot* record_find(std::uintptr_t p) {
  for (std::size_t i = record_hash(p);; ++i) {
    Slot& s = g_record_map[i & g_record_mask];
    if (s.key == p) return &s;
    if (s.key == 0) return nullptr;
  }
}

std::uint64_t record_index(void* p) {
  const Slot* s = record_find(reinterpret_cast<std::uintptr_t>(p));
  return s ? s->index : kNoBlock;
}

// A pool block handed out: `kind` alloc or realloc (`from` the old block's index).
void record_alloc(void* p, std::size_t n, RecordKind kind, std::uint64_t from) {
  const std::uint32_t thread = record_thread();
  RecordLock lock;
  if (!g_record_on.load(std::memory_order_relaxed)) return;
  const std::optional<std::uint64_t> seq = record_seq();
  if (!seq) return;
  const auto key = reinterpret_cast<std::uintptr_t>(p);
  for (std::size_t i = record_hash(key);; ++i) {
    Slot& s = g_record_map[i & g_record_mask];
    if (s.key <= 1) {
      s = Slot{key, *seq};
      break;
    }
  }
  record_write(kind, *seq, n, from, thread);
}

// A pool block about to be freed (before the pool call): nothing when it was not recorded.
void record_free(void* p) {
  const std::uint32_t thread = record_thread();
  RecordLock lock;
  if (!g_record_on.load(std::memory_order_relaxed)) return;
  Slot* s = record_find(reinterpret_cast<std::uintptr_t>(p));
  if (!s) return;
  const std::uint64_t index = s->index;
  s->key = 1;
  if (const std::optional<std::uint64_t> seq = record_seq())
    record_write(RecordKind::free, *seq, 0, index, thread);
}

void record_resize(void* p, std::size_t n) {
  const std::uint32_t thread = record_thread();
  RecordLock lock;
  if (!g_record_on.load(std::memory_order_relaxed)) return;
  const std::uint64_t index = record_index(p);
  if (index == kNoBlock) return;
  if (const std::optional<std::uint64_t> seq = record_seq())
    record_write(RecordKind::resize, *seq, n, index, thread);
}

bool recording() { return g_record_on.load(std::memory_order_relaxed); }

void start_recording(const char* dir) {
  std::uint64_t max = kRecordDefaultMax;
  if (const char* m = std::getenv(kRecordMaxEnv); m && *m) {
    const std::optional<std::uint64_t> v = support::parse_whole<std::uint64_t>(m);
    if (!v || *v == 0 || *v > kRecordLargestMax)
      fail_start((std::string(kRecordMaxEnv) + ": expected a count of events, 1 to " +
                  std::to_string(kRecordLargestMax))
                     .c_str());
    max = *v;
  }
  std::size_t slots = 1024;
  while (slots < 2 * max) slots *= 2;
  void* map = ::mmap(nullptr, slots * sizeof(Slot), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (map == MAP_FAILED) fail_start("cannot map the recorder's address table");
  char path[1200];
  for (int k = 0; k < 100 && g_record_fd < 0; ++k) {
    if (k == 0)
      std::snprintf(path, sizeof path, "%s/%ld.rec", dir, static_cast<long>(::getpid()));
    else
      std::snprintf(path, sizeof path, "%s/%ld.%d.rec", dir, static_cast<long>(::getpid()), k);
    g_record_fd = ::open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (g_record_fd < 0 && errno != EEXIST) break;
  }
  if (g_record_fd < 0) fail_start("cannot create a recording in HAKFUZZ_PRELOAD_RECORD");
  g_record_map = static_cast<Slot*>(map);
  g_record_mask = slots - 1;
  g_record_max = max;
  std::string header = std::string(kRecordMagic) + "pid=" + std::to_string(::getpid()) +
                       " max_events=" + std::to_string(max) + " config=";
  for (const auto& [name, value] : g_pool.config.env_vars()) header += name + "=" + value + " ";
  header.resize(kRecordHeaderBytes - 1, ' ');
  header += '\n';
  write_all(g_record_fd, header.data(), header.size());
  g_record_on.store(true, std::memory_order_release);
}

void fork_prepare() {
  if (g_state.load(std::memory_order_acquire) != kUp || t_in_pool) return;
  gate_close();
  g_pool.prepare_fork();
}
void fork_parent() {
  if (g_state.load(std::memory_order_acquire) != kUp || t_in_pool) return;
  g_pool.after_fork();
  gate_open();
}
void fork_child() {
  if (g_state.load(std::memory_order_acquire) != kUp || t_in_pool) return;
  g_pool.after_fork();
  gate_open();
  if (recording()) {  // the child's blocks are the parent's: it records nothing
    g_record_on.store(false, std::memory_order_relaxed);
    ::close(g_record_fd);
    g_record_fd = -1;
  }
  if (g_reporting) {
    if (g_report_fd >= 0) ::close(g_report_fd);
    open_report(true);
  }
}

[[noreturn]] void fail_start(const char* what) {
  const std::string msg = std::string("hakmem preload: ") + what + "\n";
  write_str(2, msg);
  ::_exit(2);
}

void start_pool() {
  try {
    // The flavour follows the flag as the table parses it (the pool parses
    // the environment again, and a malformed flag throws either way).
    const bool stats = hakmem::parse_config(hakmem::process_env()).v2_stats;
    g_pool = stats ? Bound<PoolStatsOn>::make() : Bound<PoolStatsOff>::make();
  } catch (const ConfigError& e) {
    fail_start((std::string("configuration error: ") + e.what()).c_str());
  } catch (const std::exception& e) {
    fail_start((std::string("cannot start the pool: ") + e.what()).c_str());
  }
  g_libc_usable = reinterpret_cast<std::size_t (*)(void*)>(::dlsym(RTLD_NEXT, "malloc_usable_size"));
  if (!g_libc_usable) fail_start("the C library's malloc_usable_size is not found");
  if (const char* dir = std::getenv(kReportDirEnv); dir && *dir) {
    std::snprintf(g_report_dir, sizeof g_report_dir, "%s", dir);
    g_reporting = true;
    open_report(false);
    void* warm[1];
    ::backtrace(warm, 1);  // loads the unwinder now, not inside a rejected free
  }
  if (const char* dir = std::getenv(kRecordDirEnv); dir && *dir) start_recording(dir);
  if (const char* sig = std::getenv(kWalkSignalEnv); sig && *sig) {
    struct sigaction sa = {};
    sa.sa_handler = on_walk_signal;
    sa.sa_flags = SA_RESTART;
    const std::optional<int> number = support::parse_whole<int>(sig);
    if (!number || ::sigaction(*number, &sa, nullptr) != 0)
      fail_start(
          (std::string(kWalkSignalEnv) + ": expected the number of a signal that can be caught").c_str());
  }
  ::pthread_atfork(fork_prepare, fork_parent, fork_child);
}

// The pool, started if needed; false while it is starting (on this thread
// or another) or inside a pool call.
bool pool_up() {
  int s = g_state.load(std::memory_order_acquire);
  if (s == kUp) [[likely]]
    return true;
  if (s == kStarting || t_in_pool) return false;
  if (!g_state.compare_exchange_strong(s, kStarting, std::memory_order_acq_rel)) return false;
  {
    InPool guard;
    start_pool();
  }
  g_state.store(kUp, std::memory_order_release);
  return true;
}

bool ours(const void* p) {
  if (g_pool.in_arena(p)) return true;
  if (t_in_pool || (reinterpret_cast<std::uintptr_t>(p) & (kOsPage - 1))) return false;
  InPool guard;
  return g_pool.is_large(p);
}

void* pool_alloc(std::size_t n, RecordKind kind = RecordKind::alloc, std::uint64_t from = kNoBlock) {
  if (g_walk_requested.load(std::memory_order_relaxed)) [[unlikely]]
    if (g_walk_requested.exchange(false)) walk("signal");
  void* p;
  {
    InPool guard;
    p = g_pool.alloc(n);
  }
  if (!p) return nullptr;
  if (recording()) [[unlikely]]
    record_alloc(p, n, kind, from);
  if (g_reporting) g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (!g_loaded) [[unlikely]]
    if (int i = g_startup_count.fetch_add(1); i < kMaxStartupBlocks) g_startup[i] = p;
  if (!t_armed && g_pool.config.v2_enabled) [[unlikely]] {
    // The first v2 block registered this thread with the pool: its exit
    // hook is registered now, so ours (registered after) runs before it.
    InPool guard;
    if (g_pool.is_v2(p)) {
      t_exit_hook.armed = true;
      t_armed = true;
    }
  }
  return p;
}

void pool_free(void* p) {
  if (g_walk_requested.load(std::memory_order_relaxed)) [[unlikely]]
    if (g_walk_requested.exchange(false)) walk("signal");
  if (recording()) [[unlikely]]
    record_free(p);
  InPool guard;
  const FreeOutcome out = g_pool.free(p);
  if (out.route == FreeRoute::rejected) [[unlikely]]
    report_rejection(p, out);
  else if (g_reporting)
    g_frees.fetch_add(1, std::memory_order_relaxed);
}

bool routed(std::size_t n) {
  return ((n > kRouteMin && n <= kMaxClassSize) || n >= kLargeMin) && !t_in_pool && !t_exiting && pool_up();
}

std::size_t usable(void* p) { return ours(p) ? g_pool.usable(p) : g_libc_usable(p); }

void* aligned(std::size_t align, std::size_t n) {
  if (align <= alignof(std::max_align_t)) return std::malloc(n);
  const bool power_of_two = (align & (align - 1)) == 0;
  if (power_of_two && routed(n) && (align <= kClassAlign || (n >= kLargeMin && align <= kOsPage)))
    if (void* p = pool_alloc(n)) return p;
  return __libc_memalign(align, n);
}

__attribute__((constructor)) void start_at_load() {
  pool_up();
  g_loaded = true;
}

__attribute__((destructor)) void report_at_exit() {
  if (g_state.load(std::memory_order_acquire) != kUp) return;
  InPool guard;
  if (g_record_fd >= 0)
    record_write(RecordKind::end, std::min(g_record_seq.load(), g_record_max), 0, kNoBlock, 0);
  if (g_pool.config.v2_stats) write_str(2, format_stats_table(g_pool.stats()));
  if (g_report_fd < 0) return;
  walk("exit");
  write_str(g_report_fd, "counts pool_allocs=" + std::to_string(g_allocs.load()) +
                             " pool_frees=" + std::to_string(g_frees.load()) +
                             " foreign_frees=" + std::to_string(g_foreign_frees.load()) +
                             " rejected=" + std::to_string(g_rejected.load()) + "\nexit\n");
}

}  // namespace
}  // namespace hakmem::preload

using namespace hakmem::preload;

HAKMEM_EXPORT void* malloc(std::size_t n) noexcept {
  if (routed(n))
    if (void* p = pool_alloc(n)) return p;
  return __libc_malloc(n);
}

HAKMEM_EXPORT void free(void* p) noexcept {
  if (!p) return;
  if (g_state.load(std::memory_order_acquire) == kUp && ours(p)) return pool_free(p);
  if (g_reporting) g_foreign_frees.fetch_add(1, std::memory_order_relaxed);
  __libc_free(p);
}

HAKMEM_EXPORT void* calloc(std::size_t count, std::size_t size) noexcept {
  std::size_t n;
  if (__builtin_mul_overflow(count, size, &n)) {
    errno = ENOMEM;
    return nullptr;
  }
  if (routed(n))
    if (void* p = pool_alloc(n))
      return n > hakmem::kMaxClassSize ? p : std::memset(p, 0, n);  // large: a fresh mapping
  return __libc_calloc(count, size);
}

HAKMEM_EXPORT void* realloc(void* p, std::size_t n) noexcept {
  if (!p) return malloc(n);
  if (n == 0) {
    free(p);
    return nullptr;
  }
  if (g_state.load(std::memory_order_acquire) != kUp || !ours(p)) {
    if (!routed(n)) return __libc_realloc(p, n);
    const std::size_t old = g_libc_usable(p);
    void* q = pool_alloc(n, RecordKind::realloc);
    if (!q) return __libc_realloc(p, n);
    std::memcpy(q, p, old < n ? old : n);
    __libc_free(p);
    return q;
  }
  std::size_t old;
  {
    InPool guard;
    old = g_pool.usable(p);
  }
  if (old == 0) {  // no live block of the pool: reported as the free it is
    pool_free(p);
    errno = EINVAL;
    return nullptr;
  }
  if (n <= old && n > kRouteMin && n > old / 2) {
    if (recording()) [[unlikely]]
      record_resize(p, n);
    return p;
  }
  void* q = nullptr;
  if (routed(n)) {
    std::uint64_t from = kNoBlock;
    if (recording()) [[unlikely]] {
      RecordLock lock;
      from = record_index(p);
    }
    q = pool_alloc(n, RecordKind::realloc, from);
  }
  if (!q) q = __libc_malloc(n);
  if (!q) return nullptr;
  std::memcpy(q, p, old < n ? old : n);
  pool_free(p);
  return q;
}

HAKMEM_EXPORT int posix_memalign(void** out, std::size_t align, std::size_t n) noexcept {
  if (align < sizeof(void*) || (align & (align - 1))) return EINVAL;
  void* p = aligned(align, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

HAKMEM_EXPORT void* aligned_alloc(std::size_t align, std::size_t n) noexcept { return aligned(align, n); }
HAKMEM_EXPORT void* memalign(std::size_t align, std::size_t n) noexcept { return aligned(align, n); }
HAKMEM_EXPORT void* valloc(std::size_t n) noexcept { return aligned(kOsPage, n); }
HAKMEM_EXPORT void* pvalloc(std::size_t n) noexcept { return __libc_pvalloc(n); }

HAKMEM_EXPORT std::size_t malloc_usable_size(void* p) noexcept {
  if (!p) return 0;
  if (g_state.load(std::memory_order_acquire) != kUp) return pool_up() ? usable(p) : 0;
  return usable(p);
}

HAKMEM_EXPORT void* reallocarray(void* p, std::size_t count, std::size_t size) noexcept {
  std::size_t n;
  if (__builtin_mul_overflow(count, size, &n)) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc(p, n);
}
