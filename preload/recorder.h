// The shim's writer of `hakfuzz record`'s stream (the format and its reader:
// preload/recording.h). One O_APPEND descriptor, one write(2) per 32-byte
// event. The address -> block-index map is an open-addressing table (linear
// probing, tombstones) in its own mapping, sized at twice the cap so it
// never fills: at most `cap` blocks are ever inserted. One spinlock orders
// the map and the sequence numbers: a free takes its number before the pool
// frees the block, an alloc after the pool handed it out, so a block handed
// out again always follows the free that released it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "preload/recording.h"

namespace hakmem::preload {

extern std::atomic<bool> g_record_on;
inline bool recording() { return g_record_on.load(std::memory_order_relaxed); }

// With HAKFUZZ_PRELOAD_RECORD=DIR: opens DIR/<pid>.rec (the cap from
// HAKFUZZ_PRELOAD_RECORD_MAX) and writes its header; fail_start when it
// cannot.
void start_recording(const char* dir);

// A pool block handed out: `kind` alloc or realloc (`from` the old block's index).
void record_alloc(void* p, std::size_t n, RecordKind kind, std::uint64_t from);
// A pool block about to be freed (before the pool call): nothing when it was not recorded.
void record_free(void* p);
// realloc kept the block in place at `n` bytes.
void record_resize(void* p, std::size_t n);
// A live block's index, kNoBlock when it was not recorded.
std::uint64_t recorded_index(void* p);

// The `end` event, at exit.
void record_end();
// A fork()ed child records nothing: its blocks are the parent's.
void stop_recording_in_child();

}  // namespace hakmem::preload
