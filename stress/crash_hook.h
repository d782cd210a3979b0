// Best effort on a crash (SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL) during a
// stress run: the hook gets one call from the first crashing thread, so the
// run can still leave its op logs, report and replay input behind. Not
// async-signal-safe (it formats and writes files): the process is already
// lost, and a report is worth the risk. Sanitizer builds keep their own
// handlers (their report is better), so there the hook is never installed.
#pragma once
#include <functional>

namespace hakfuzz::stress {

// Installs `hook` (called with the signal number) until the returned guard
// is destroyed. After the hook returns the process exits with status 1.
class CrashHook {
 public:
  explicit CrashHook(std::function<void(int)> hook);
  ~CrashHook();
  CrashHook(const CrashHook&) = delete;
  CrashHook& operator=(const CrashHook&) = delete;
  static bool supported();  // false under sanitizers
};

}  // namespace hakfuzz::stress
