#include "preload/reporter.h"

#include <execinfo.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "preload/report.h"
#include "preload/shim.h"
#include "support/parse.h"

namespace hakmem::preload {

bool g_reporting = false;
bool g_loaded = false;
std::atomic<bool> g_walk_requested{false};
std::atomic<std::uint64_t> g_allocs{0}, g_frees{0}, g_foreign_frees{0};

namespace {

constexpr int kMaxStartupBlocks = 32;
void* g_startup[kMaxStartupBlocks];
std::atomic<int> g_startup_count{0};
int g_report_fd = -1;
char g_report_dir[1024];
std::atomic<std::uint64_t> g_rejected{0};

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

void on_walk_signal(int) { g_walk_requested.store(true, std::memory_order_relaxed); }

}  // namespace

void start_reporting(const char* dir) {
  std::snprintf(g_report_dir, sizeof g_report_dir, "%s", dir);
  g_reporting = true;
  open_report(false);
  void* warm[1];
  ::backtrace(warm, 1);  // loads the unwinder now, not inside a rejected free
}

void start_walk_signal(const char* signal) {
  struct sigaction sa = {};
  sa.sa_handler = on_walk_signal;
  sa.sa_flags = SA_RESTART;
  const std::optional<int> number = support::parse_whole<int>(signal);
  if (!number || ::sigaction(*number, &sa, nullptr) != 0)
    fail_start(
        (std::string(kWalkSignalEnv) + ": expected the number of a signal that can be caught").c_str());
}

void reopen_report_in_child() {
  if (!g_reporting) return;
  if (g_report_fd >= 0) ::close(g_report_fd);
  open_report(true);
}

void note_startup_block(void* p) {
  if (int i = g_startup_count.fetch_add(1); i < kMaxStartupBlocks) g_startup[i] = p;
}

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

void report_rejection(void* p, const FreeOutcome& out) {
  g_rejected.fetch_add(1, std::memory_order_relaxed);
  if (g_report_fd < 0) return;
  void* frames[48];
  const int n = ::backtrace(frames, 48);
  char line[256];
  std::snprintf(line, sizeof line, "reject ptr=%p reason=%s cls=%d frames=%d\n", p, verdict_name(out.reason),
                out.cls, n);
  support::write_all(g_report_fd, line, std::strlen(line));
  ::backtrace_symbols_fd(frames, n, g_report_fd);
}

void report_exit() {
  if (g_report_fd < 0) return;
  walk("exit");
  write_str(g_report_fd, "counts pool_allocs=" + std::to_string(g_allocs.load()) +
                             " pool_frees=" + std::to_string(g_frees.load()) +
                             " foreign_frees=" + std::to_string(g_foreign_frees.load()) +
                             " rejected=" + std::to_string(g_rejected.load()) + "\nexit\n");
}

}  // namespace hakmem::preload
