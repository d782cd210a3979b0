// What every file of the pool shares: the namespace of the flavour being
// compiled, and the attributes that place code on or off the hot paths.
//
// The same sources build three times (telemetry compiled out, in, and the
// tester's: telemetry and schedule points), each into its own namespace,
// hakmem::stats_off, hakmem::stats_on or hakmem::tester, so that all of them
// link into one binary: every type whose layout depends on the flavour (a
// thread context holds a stats table only when compiled in, a mutex is a
// schedule point only in the tester's) lives in that namespace.
#pragma once

#include "hakmem/pool.h"

#if HAKMEM_POOL_SCHED_POINTS
#define HAKMEM_FLAVOUR_NS tester
#elif HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
#define HAKMEM_FLAVOUR_NS stats_on
#else
#define HAKMEM_FLAVOUR_NS stats_off
#endif

// The alloc and free paths are a few dozen instructions; a call per layer
// (facade, dispatch, v2) costs as much again, so their steps are forced
// inline and the slow paths kept out of the way.
#define HAKMEM_HOT [[gnu::always_inline]] inline
#define HAKMEM_COLD [[gnu::noinline, gnu::cold]]
