// A long single-thread Program from a seed: the sweep's deterministic phase.
// The op stream depends only on (seed, ops), never on the config, so cells
// that must behave alike run the same ops and the runner's digests compare.
//
// The mix: allocations about 45% (every class evenly, 1/16 class-boundary
// sizes such as 0, 1, 2048, 2049, ..., 53248, 53249, 1/16 large), frees of
// live blocks about 35% (more while the live cap holds), bad frees 20%
// (interior 8%, double 7%, and stack, unused slab and slab header 5%
// together), never more than kSeededLiveCap blocks live; a refresh to the
// program's own config at the middle and a check every kSeededCheckEvery
// ops. Double frees of large blocks are as deterministic as the rest: the
// model stops aiming at a freed large block at the next large allocation
// (oracle/model.h), wherever mmap put it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hakmem/types.h"
#include "program/program.h"

namespace hakfuzz {

inline constexpr std::size_t kSeededLiveCap = 192;  // bounds a run's footprint in the runner's arena
inline constexpr std::size_t kSeededCheckEvery = 1000;

// Exactly `ops` ops (the refresh and the checks among them).
Program seeded_program(std::uint64_t seed, std::size_t ops, const hakmem::Config& config);

// A short schedule program for `threads` threads (2..kMaxThreads) from a
// seed, shaped like the stress workloads: allocations on every thread, most
// frees by another thread than the one that allocated (remote frees), an
// exit now and then (orphans, adoption), a check at the end. Sizes are the
// classes the config routes to v2 (all classes when none is).
Program seeded_schedule_program(std::uint64_t seed, std::size_t ops, int threads,
                                const hakmem::Config& config);

}  // namespace hakfuzz
