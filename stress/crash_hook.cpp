#include "stress/crash_hook.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iterator>
#include <utility>

#include "support/sanitizer.h"

namespace hakfuzz::stress {

namespace {

constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
std::function<void(int)>* g_hook = nullptr;
std::atomic<bool> g_entered{false};
struct sigaction g_previous[std::size(kSignals)];

void on_signal(int sig) {
  // Only the first crashing thread reports; others wait to be killed by its exit.
  if (g_entered.exchange(true)) {
    for (;;) pause();
  }
  if (g_hook) (*g_hook)(sig);
  _exit(1);
}

}  // namespace

bool CrashHook::supported() { return !support::kSanitizedBuild; }

CrashHook::CrashHook(std::function<void(int)> hook) {
  if (!supported()) return;
  g_hook = new std::function<void(int)>(std::move(hook));
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (std::size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &sa, &g_previous[i]);
}

CrashHook::~CrashHook() {
  if (!supported()) return;
  for (std::size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
  delete std::exchange(g_hook, nullptr);
}

}  // namespace hakfuzz::stress
