// A recorded allocation stream (preload/recording.h) as a `remote` program:
// each OS thread of the recording runs on a logical thread, each pool alloc
// and realloc becomes an alloc of a size of the same class, each free a free
// of the same block by its place in the runner's live list, each thread exit
// an exit. The program replays deterministically against a fresh pool.
//
// What the op language cannot say is dropped and counted:
// - more threads alive at once than `threads`: a thread with no free logical
//   thread shares one (logical = its number mod `threads`), and its exit is
//   the exit of the last thread on it;
// - a free of a block past the 256th live one (an op names its block in one
//   byte): the block stays live, and the runner frees it at the end;
// - a free of a block not in the program (cut by the cap, or made before
//   the recording: a fork()ed child's);
// - large requests above about 1 MiB are replayed at about 1 MiB;
// - events past `max_ops` ops.
#pragma once

#include <cstdint>

#include "preload/recording.h"
#include "program/program.h"

namespace hakfuzz {

struct RecordedProgram {
  Program program;
  std::uint64_t os_threads = 0, shared_threads = 0;
  std::uint64_t allocs = 0, reallocs = 0, frees = 0, resizes = 0, exits = 0;
  std::uint64_t far_frees = 0, unknown_frees = 0, clamped_sizes = 0;
  std::uint64_t events_used = 0, events_left = 0;  // events past the op cap
};

// `threads`: 2..kMaxThreads; `max_ops`: the cap on the program's ops. Throws
// std::invalid_argument when the recording's config is not the pool's.
RecordedProgram to_remote_program(const hakmem::preload::Recording& recording, int threads,
                                  std::size_t max_ops);

}  // namespace hakfuzz
