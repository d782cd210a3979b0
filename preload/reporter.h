// The shim's writer of `hakfuzz run`'s report (the format and its reader:
// preload/report.h): rejected frees with a backtrace as they happen, the
// invariant walk and the census at exit or on the walk signal, the counts.
#pragma once

#include <atomic>
#include <cstdint>

#include "hakmem/types.h"

namespace hakmem::preload {

extern bool g_reporting;  // HAKFUZZ_PRELOAD_REPORT is set
extern std::atomic<bool> g_walk_requested;
extern std::atomic<std::uint64_t> g_allocs, g_frees, g_foreign_frees;

// With HAKFUZZ_PRELOAD_REPORT=DIR: opens DIR/<pid>.report and writes its
// start line.
void start_reporting(const char* dir);
// With HAKFUZZ_PRELOAD_WALK_SIGNAL=N: signal N asks for a walk at the next
// pool call; fail_start for a signal that cannot be caught.
void start_walk_signal(const char* signal);
// A fork()ed child reports to a file of its own.
void reopen_report_in_child();

// Blocks made before this library's constructor ran (libstdc++'s emergency
// exception pool, above all): kept for the process's life by design, so the
// exit report counts those still live apart from the program's own.
extern bool g_loaded;
void note_startup_block(void* p);

// The walk and the census, at a point where no other thread runs.
void walk(const char* when);
void report_rejection(void* p, const FreeOutcome& out);
// The walk at exit and the counts.
void report_exit();

}  // namespace hakmem::preload
