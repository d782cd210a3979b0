#include "stress/crash_hook.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iterator>
#include <utility>

namespace hakfuzz::stress {

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

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

bool CrashHook::supported() { return !kSanitized; }

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
