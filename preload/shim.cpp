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
// call (the fork gate, shim.h) and hold every pool lock across fork()
// (Pool::prepare_fork); the child keeps every block, and the pages of the
// threads that did not survive the fork stay with their contexts, like
// those of threads that never exit.
//
// For `hakfuzz record` (recorder.cpp): with HAKFUZZ_PRELOAD_RECORD=DIR,
// every pool alloc, free and realloc, and each recording thread's start and
// exit, is appended to DIR/<pid>.rec, without allocating.
//
// For `hakfuzz run` (reporter.cpp): with HAKFUZZ_PRELOAD_REPORT=DIR,
// rejected frees are written with a backtrace as they happen, and at exit
// the invariant walk, the census and the counts; with
// HAKFUZZ_PRELOAD_WALK_SIGNAL=N, signal N asks for a walk at the next pool
// call.
#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "hakmem/variants.h"
#include "preload/recorder.h"
#include "preload/report.h"
#include "preload/reporter.h"
#include "preload/shim.h"

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

std::atomic<int> g_state{kDown};
constinit Backend g_pool{};
__attribute__((tls_model("initial-exec"))) constinit thread_local int t_in_pool = 0;
__attribute__((tls_model("initial-exec"))) constinit thread_local bool t_exiting = false;
std::atomic<long> g_gate_busy{0};
std::atomic<bool> g_forking{false};

void fail_start(const char* what) {
  const std::string msg = std::string("hakmem preload: ") + what + "\n";
  write_str(2, msg);
  ::_exit(2);
}

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

std::size_t (*g_libc_usable)(void*) = nullptr;
__attribute__((tls_model("initial-exec"))) constinit thread_local bool t_armed = false;

struct ExitHook {
  bool armed = false;
  ~ExitHook() { t_exiting = true; }
};
thread_local ExitHook t_exit_hook;

// ---------------------------------------------------------------- fork
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
  stop_recording_in_child();
  reopen_report_in_child();
}

// ---------------------------------------------------------------- start-up
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
  if (const char* dir = std::getenv(kReportDirEnv); dir && *dir) start_reporting(dir);
  if (const char* dir = std::getenv(kRecordDirEnv); dir && *dir) start_recording(dir);
  if (const char* sig = std::getenv(kWalkSignalEnv); sig && *sig) start_walk_signal(sig);
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
    note_startup_block(p);
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
  record_end();
  if (g_pool.config.v2_stats) write_str(2, format_stats_table(g_pool.stats()));
  report_exit();
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
    if (recording()) [[unlikely]]
      from = recorded_index(p);
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
