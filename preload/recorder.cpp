#include "preload/recorder.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "preload/shim.h"
#include "support/parse.h"

namespace hakmem::preload {

std::atomic<bool> g_record_on{false};

namespace {

int g_record_fd = -1;
std::uint64_t g_record_max = 0;
std::atomic<std::uint64_t> g_record_seq{0};
std::atomic<std::uint32_t> g_record_threads{0};
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
  support::write_all(g_record_fd, &e, sizeof e);
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

std::uint64_t record_max_from_env() {
  const char* m = std::getenv(kRecordMaxEnv);
  if (!m || !*m) return kRecordDefaultMax;
  const std::optional<std::uint64_t> v = support::parse_whole<std::uint64_t>(m);
  if (!v || *v == 0 || *v > kRecordLargestMax)
    fail_start((std::string(kRecordMaxEnv) + ": expected a count of events, 1 to " +
                std::to_string(kRecordLargestMax))
                   .c_str());
  return *v;
}

// DIR/<pid>.rec, or DIR/<pid>.<k>.rec when an exec()ed program reuses the pid.
int create_recording_file(const char* dir) {
  char path[1200];
  int fd = -1;
  for (int k = 0; k < 100 && fd < 0; ++k) {
    if (k == 0)
      std::snprintf(path, sizeof path, "%s/%ld.rec", dir, static_cast<long>(::getpid()));
    else
      std::snprintf(path, sizeof path, "%s/%ld.%d.rec", dir, static_cast<long>(::getpid()), k);
    fd = ::open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST) break;
  }
  return fd;
}

}  // namespace

void start_recording(const char* dir) {
  const std::uint64_t max = record_max_from_env();
  std::size_t slots = 1024;
  while (slots < 2 * max) slots *= 2;
  void* map = ::mmap(nullptr, slots * sizeof(Slot), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (map == MAP_FAILED) fail_start("cannot map the recorder's address table");
  g_record_fd = create_recording_file(dir);
  if (g_record_fd < 0) fail_start("cannot create a recording in HAKFUZZ_PRELOAD_RECORD");
  g_record_map = static_cast<Slot*>(map);
  g_record_mask = slots - 1;
  g_record_max = max;
  std::string header = std::string(kRecordMagic) + "pid=" + std::to_string(::getpid()) +
                       " max_events=" + std::to_string(max) + " config=";
  for (const auto& [name, value] : g_pool.config.env_vars()) header += name + "=" + value + " ";
  header.resize(kRecordHeaderBytes - 1, ' ');
  header += '\n';
  support::write_all(g_record_fd, header.data(), header.size());
  g_record_on.store(true, std::memory_order_release);
}

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

std::uint64_t recorded_index(void* p) {
  RecordLock lock;
  return record_index(p);
}

void record_end() {
  if (g_record_fd >= 0)
    record_write(RecordKind::end, std::min(g_record_seq.load(), g_record_max), 0, kNoBlock, 0);
}

void stop_recording_in_child() {
  if (!recording()) return;
  g_record_on.store(false, std::memory_order_relaxed);
  ::close(g_record_fd);
  g_record_fd = -1;
}

}  // namespace hakmem::preload
